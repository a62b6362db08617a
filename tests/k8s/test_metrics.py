"""The metrics sidecar's configuration is one HAProxy takes: checked by Debian's HAProxy
(`haproxy -c`), which is built, as the official image is, with its Prometheus exporter.
The integration test runs it in front of a function."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from k8s import metrics


def haproxy() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if found is None:
        pytest.fail("not installed: haproxy (scripts/test installs it)")
    return found


@pytest.mark.parametrize(
    ("concurrency", "timeout_s", "queue_s"), [(1, 0.5, 0.25), (8, 10.0, 10.0), (1000, 900.0, 2.0)]
)
def test_haproxy_takes_the_configuration(
    tmp_path: Path, concurrency: int, timeout_s: float, queue_s: float
) -> None:
    path = tmp_path / "haproxy.cfg"
    path.write_text(
        metrics.config(concurrency=concurrency, timeout_s=timeout_s, queue_timeout_s=queue_s)
    )
    done = subprocess.run(
        [haproxy(), "-c", "-f", str(path)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning" not in (done.stdout + done.stderr).lower(), done.stdout + done.stderr


def test_haproxy_refuses_a_broken_configuration(tmp_path: Path) -> None:
    """The oracle: a check that passes everything would prove nothing."""
    path = tmp_path / "haproxy.cfg"
    text = metrics.config(concurrency=1, timeout_s=1, queue_timeout_s=1)
    path.write_text(text.replace("timeout server", "timeout sever"))
    done = subprocess.run([haproxy(), "-c", "-f", str(path)], capture_output=True, timeout=30)
    assert done.returncode != 0
