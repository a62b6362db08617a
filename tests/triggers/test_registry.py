"""The registry names kinds by module path: validating a file with every kind loads no
broker client; starting a trigger of a kind loads its own client only."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.triggers.config_kit import make_base

_CLIENTS = {"kafka": "aiokafka", "nats": "nats.aio.client", "redis": "redis.asyncio"}

_PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from gateway.config import parse_config
    import gateway.server
    from triggers import registry

    text = '''
    functions:
      hello:
        code: functions/hello
        triggers:
          - http: {path: /hello}
          - kafka: {brokers: "a:9092", topic: orders}
          - nats: {servers: "a:4222", subject: orders}
          - redis: {url: "redis://a:6379/0", stream: orders}
          - cron: {schedule: "@hourly"}
    '''
    file = parse_config(text, base_dir=Path(sys.argv[1]))
    assert len(file.functions["hello"].triggers) == 5
    loaded = {"validated": sorted(m for m in sys.modules if m in sys.argv[2:])}
    kind = registry.kind("kafka")
    assert kind.subscriber is not None
    module = kind.subscriber.partition(":")[0]
    __import__(module)
    loaded["kafka started"] = sorted(m for m in sys.modules if m in sys.argv[2:])
    print(json.dumps(loaded))
    """
)


def test_broker_clients_load_only_with_their_kinds_subscriber(tmp_path: Path) -> None:
    base = make_base(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(base), *_CLIENTS.values()],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    loaded = json.loads(result.stdout)
    assert loaded["validated"] == []
    assert loaded["kafka started"] == ["aiokafka"]
