"""deploy/k8s: the manifests of N gateways on one Redis, rendered by `gaia k8s cluster`
from examples/gaia.yaml. What is committed is what a render writes today, byte for
byte, and every manifest passes the official schemas (strict)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from configkit.units import parse_duration
from k8s import cluster, redis
from k8s.cluster import ClusterOptions, render_cluster
from k8s.errors import RenderError
from k8s.output import MARKER
from tests.k8s.schemas import validate

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "k8s"
EXAMPLE = ROOT / "examples" / "gaia.yaml"
_CLUSTER = [sys.executable, "-m", "gateway", "k8s", "cluster", "-f", str(EXAMPLE)]


def _manifests(files: Any) -> Iterator[dict[str, Any]]:
    for file in files:
        yield from yaml.safe_load_all(file.text)


def _one(files: Any, kind: str, name: str) -> dict[str, Any]:
    [found] = [m for m in _manifests(files) if (m["kind"], m["metadata"]["name"]) == (kind, name)]
    return found


def _option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_the_committed_files_are_what_a_render_writes_today() -> None:
    """deploy/k8s cannot drift from the builders: re-render it after changing them
    (`gaia k8s cluster -f examples/gaia.yaml --output-dir deploy/k8s`)."""
    files = render_cluster(EXAMPLE, ClusterOptions())
    committed = sorted(p.name for p in DEPLOY.iterdir())
    assert committed == sorted([MARKER, *(f.name for f in files)])
    for file in files:
        assert (DEPLOY / file.name).read_text() == file.text, f"deploy/k8s/{file.name} drifted"


def test_the_command_writes_the_committed_files(tmp_path: Path) -> None:
    done = subprocess.run(
        [*_CLUSTER, "--output-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "create secret generic gaia-admin-token" in done.stdout
    for path in DEPLOY.iterdir():
        assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize(
    "options",
    [ClusterOptions(), ClusterOptions(namespace="shop", replicas=7, storage="20Gi", cpu="2")],
    ids=["defaults", "shop"],
)
def test_every_manifest_passes_the_official_schemas(options: ClusterOptions) -> None:
    files = render_cluster(EXAMPLE, options)
    kinds = []
    for manifest in _manifests(files):
        validate(manifest)
        assert manifest["metadata"]["namespace"] == options.namespace
        kinds.append(manifest["kind"])
    assert sorted(kinds) == sorted(
        ["ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "Service", "StatefulSet"]
    )
    deployment = _one(files, "Deployment", "gaia")
    assert deployment["spec"]["replicas"] == options.replicas


def test_the_gateways_probes_shutdown_store_and_token() -> None:
    files = render_cluster(EXAMPLE, ClusterOptions())
    deployment = _one(files, "Deployment", "gaia")
    pod = deployment["spec"]["template"]["spec"]
    [gateway] = pod["containers"]
    command = gateway["command"]
    admin_port = int(_option(command, "--admin-port"))
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": admin_port}
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": admin_port}
    assert gateway["startupProbe"]["httpGet"] == {"path": "/readyz", "port": admin_port}
    # Kubernetes kills the pod only after the preStop pause and the whole drain.
    shutdown_s = parse_duration(_option(command, "--shutdown-timeout"))
    pre_stop_s = gateway["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop_s == cluster.PRE_STOP_S > 0
    assert pod["terminationGracePeriodSeconds"] > pre_stop_s + shutdown_s
    assert gateway["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert gateway["resources"]["limits"] == {"memory": "512Mi"}
    # Every replica on the one Redis, through its Service.
    env = {e["name"]: e["value"] for e in gateway["env"]}
    store = _one(files, "Service", redis.NAME)
    assert env["GAIA_STORE"] == f"redis://{redis.NAME}.default.svc:{redis.PORT}/0"
    assert store["spec"]["ports"][0]["port"] == redis.PORT
    # The Secret's admin-token is the file the gateway and the CLI read in GAIA_HOME.
    [token] = [m for m in gateway["volumeMounts"] if m["name"] == "admin-token"]
    assert token["mountPath"] == env["GAIA_HOME"] + "/admin-token"
    assert token["subPath"] == "admin-token"
    [volume] = [v for v in pod["volumes"] if v["name"] == "admin-token"]
    assert volume["secret"]["secretName"] == cluster.TOKEN_SECRET
    [home] = [v for v in pod["volumes"] if v["name"] == "home"]
    assert home == {"name": "home", "emptyDir": {}}
    # The budget covers the gateway's pods and lets one go at a time.
    budget = _one(files, "PodDisruptionBudget", "gaia")
    assert budget["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": deployment["spec"]["selector"]["matchLabels"]},
    }
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_config_and_its_code_travel_in_the_configmap() -> None:
    files = render_cluster(EXAMPLE, ClusterOptions())
    config_map = _one(files, "ConfigMap", "gaia")
    assert config_map["data"]["gaia.yaml"] == EXAMPLE.read_text()
    assert config_map["data"]["hello--main.py"] == (EXAMPLE.parent / "hello/main.py").read_text()
    pod = _one(files, "Deployment", "gaia")["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "config"]
    assert volume["configMap"]["items"] == [
        {"key": "gaia.yaml", "path": "gaia.yaml"},
        {"key": "hello--main.py", "path": "hello/main.py"},
    ]


def test_redis_is_one_appendonly_pod_with_its_own_volume() -> None:
    files = render_cluster(EXAMPLE, ClusterOptions(storage="5Gi"))
    stateful_set = _one(files, "StatefulSet", redis.NAME)
    assert stateful_set["spec"]["replicas"] == 1
    [container] = stateful_set["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert _option(command, "--appendonly") == "yes"
    [mount] = container["volumeMounts"]
    assert _option(command, "--dir") == mount["mountPath"]
    [claim] = stateful_set["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == mount["name"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    service = _one(files, "Service", redis.NAME)
    assert service["spec"]["selector"].items() <= (
        stateful_set["spec"]["template"]["metadata"]["labels"].items()
    )


def _project(tmp_path: Path, code: str = "./hello") -> Path:
    (tmp_path / "hello").mkdir(parents=True)
    (tmp_path / "hello" / "main.py").write_text("def handler(event, context):\n    return 1\n")
    config = tmp_path / "gaia.yaml"
    config.write_text(f"functions:\n  hello:\n    code: {code}\n")
    return config


def test_code_outside_the_files_directory_is_refused(tmp_path: Path) -> None:
    _project(tmp_path)
    config = tmp_path / "p" / "gaia.yaml"
    config.parent.mkdir()
    config.write_text("functions:\n  hello:\n    code: ../hello\n")
    with pytest.raises(RenderError, match=r"functions.hello.code: .* is outside .*: the ConfigMap"):
        render_cluster(config, ClusterOptions())


def test_binary_code_is_refused(tmp_path: Path) -> None:
    config = _project(tmp_path)
    (tmp_path / "hello" / "blob.bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(RenderError, match=r"functions.hello: hello/blob.bin is not text"):
        render_cluster(config, ClusterOptions())


def test_code_too_large_for_a_configmap_is_refused(tmp_path: Path) -> None:
    config = _project(tmp_path)
    (tmp_path / "hello" / "data.txt").write_text("x" * (1024 * 1024))
    with pytest.raises(RenderError, match=r"a ConfigMap holds at most 1048576"):
        render_cluster(config, ClusterOptions())


def test_a_path_no_configmap_key_can_hold_is_refused(tmp_path: Path) -> None:
    config = _project(tmp_path)
    (tmp_path / "hello" / "a b.txt").write_text("x")
    with pytest.raises(RenderError, match=r"cannot put hello/a b.txt in the gateway's ConfigMap"):
        render_cluster(config, ClusterOptions())


def test_bad_options_are_refused_and_write_nothing(tmp_path: Path) -> None:
    for flag, value, message in [
        ("--storage", "1G", "--storage '1G': expected a size like 512Mi or 2Gi"),
        ("--namespace", "Shop", "--namespace 'Shop': expected a DNS label"),
        ("--cpu", "fast", "--cpu 'fast': expected cores"),
    ]:
        done = subprocess.run(
            [*_CLUSTER, "--output-dir", str(tmp_path / "out"), flag, value],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1
        assert message in done.stderr
        assert not (tmp_path / "out").exists()


def test_the_figures_deploy_readme_gives() -> None:
    """deploy/README.md: the committed files' names, ports, sizes and times."""
    gateway_file = list(yaml.safe_load_all((DEPLOY / "gateway.yaml").read_text()))
    redis_file = list(yaml.safe_load_all((DEPLOY / "redis.yaml").read_text()))
    assert [(m["kind"], m["metadata"]["name"]) for m in gateway_file] == [
        ("ConfigMap", "gaia"),
        ("Deployment", "gaia"),
        ("Service", "gaia"),
        ("PodDisruptionBudget", "gaia"),
    ]
    assert [(m["kind"], m["metadata"]["name"]) for m in redis_file] == [
        ("Service", "gaia-redis"),
        ("StatefulSet", "gaia-redis"),
    ]
    deployment, service = gateway_file[1], gateway_file[2]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    pod = deployment["spec"]["template"]["spec"]
    [gateway] = pod["containers"]
    command = gateway["command"]
    assert command[:4] == ["gaia", "up", "-f", "/etc/gaia/gaia.yaml"]
    assert _option(command, "--admin-port") == "8081"
    assert _option(command, "--shutdown-timeout") == "30s"
    assert service["spec"]["ports"][0]["port"] == 8080
    startup = gateway["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == 120
    assert gateway["lifecycle"]["preStop"]["sleep"]["seconds"] == 5
    assert pod["terminationGracePeriodSeconds"] == 40
    assert gateway["image"] == "gaia:0.1.0"
    assert {"name": "GAIA_HOME", "value": "/var/lib/gaia"} in gateway["env"]
    assert {"name": "GAIA_STORE", "value": "redis://gaia-redis.default.svc:6379/0"} in gateway[
        "env"
    ]
    assert gateway["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"memory": "512Mi"},
    }
    stateful_set = redis_file[1]
    [redis_container] = stateful_set["spec"]["template"]["spec"]["containers"]
    assert redis_container["image"] == "redis:7.2-alpine"
    assert redis_container["command"][:5] == [
        "redis-server", "--appendonly", "yes", "--appendfsync", "everysec"
    ]  # fmt: skip
    assert redis_file[0]["spec"]["ports"][0]["port"] == 6379
    [claim] = stateful_set["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
