from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.http.compiled import build
from tests.brokers.nats import NatsServer
from tests.brokers.redis import RedisServer
from tests.brokers.tansu import Tansu


def pytest_report_header() -> str:
    return f"splice machinery: {build()} (gateway/http/compiled.py)"


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    """One Kafka-protocol broker for the session; tests keep apart by topic names."""
    broker = Tansu(Path(tmp_path_factory.mktemp("tansu")) / "tansu.log").start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One nats-server with JetStream for the session; tests keep apart by subjects."""
    server = NatsServer(Path(tmp_path_factory.mktemp("nats"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session; tests keep apart by trigger names."""
    server = RedisServer(Path(tmp_path_factory.mktemp("redis"))).start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, with an append-only file, to stop and start again
    (on the same port, its data kept)."""
    server = RedisServer(tmp_path / "own-redis", persistent=True)
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()
