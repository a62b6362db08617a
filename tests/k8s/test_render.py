"""Every manifest a render writes passes the official schemas, and the composite pod has
the shape a user relies on: the function container, the log and metrics sidecars with
their own probes and resources, and Services that select the pods they front."""

from __future__ import annotations

import base64
import math
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import yaml

from k8s import names
from k8s.containers import FUNCTION_PORT, HEALTH_PATH, METRICS_PORT
from k8s.errors import RenderError
from k8s.gateway import gateway_objects
from k8s.model import Revision, Trigger
from k8s.pod import GAIA_OVERHEAD_BYTES
from k8s.render import GATEWAY_FILE, render
from k8s.revision import service_url
from tests.k8s.factories import OPTIONS, container, revision
from tests.k8s.schemas import validate

MiB = 1024**2


def _revisions() -> list[Revision]:
    return [
        revision(
            "hello", 3, config={"memory": "128Mi", "concurrency": 4, "pool": {"min": 2, "max": 5}}
        ),
        container("site", 1, readiness={"path": "/healthz", "timeout": "45s"}),
        container("api", 2, files=()),
        # The longest function name there is: its objects' names are cut to fit.
        revision("f" * 63, 12),
    ]


def _manifests(files: Any) -> Iterator[dict[str, Any]]:
    for file in files:
        # What is written is what is checked: the YAML text, read back.
        yield from yaml.safe_load_all(file.text)


def _pod(deployment: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return pod


def _by_kind(files: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for manifest in _manifests(files):
        found.setdefault(manifest["kind"], []).append(manifest)
    return found


@pytest.mark.parametrize(
    "options",
    [OPTIONS, replace(OPTIONS, namespace="shop", replicas=3, cpu="1.5")],
    ids=["defaults", "namespace-replicas"],
)
def test_every_manifest_passes_the_official_schemas(options: Any) -> None:
    files = render(_revisions(), options)
    assert [f.name for f in files] == [
        "hello-r3.yaml",
        "site-r1.yaml",
        "api-r2.yaml",
        names.revision_name("f" * 63, 12) + ".yaml",
        GATEWAY_FILE,
    ]
    kinds = [m["kind"] for m in _manifests(files)]
    assert kinds == ["ConfigMap", "Deployment", "Service"] * 5
    for manifest in _manifests(files):
        validate(manifest)
        assert manifest["metadata"]["namespace"] == options.namespace
    for deployment in _by_kind(files)["Deployment"]:
        if deployment["metadata"]["name"] != names.GATEWAY:
            assert deployment["spec"]["replicas"] == options.replicas


def test_the_schemas_refuse_what_kubernetes_refuses() -> None:
    """The oracle itself: a misspelt key and a wrong type fail, so a pass means something."""
    config_map, deployment, _ = _manifests(render([revision()], OPTIONS)[:1])
    function = _pod(deployment)["containers"][0]
    function["readinesProbe"] = function.pop("readinessProbe")
    with pytest.raises(Exception, match="readinesProbe"):
        validate(deployment)
    config_map["immutable"] = "yes"
    with pytest.raises(Exception, match="yes"):
        validate(config_map)


def test_the_pod_is_the_function_beside_its_log_and_metrics_sidecars() -> None:
    files = render(_revisions(), OPTIONS)
    deployments = [d for d in _by_kind(files)["Deployment"] if d["metadata"]["name"] != "gaia"]
    for deployment in deployments:
        pod = _pod(deployment)
        [function] = pod["containers"]
        assert function["name"] == "function"
        init = {c["name"]: c for c in pod["initContainers"]}
        # Native sidecars (restartable init containers) start before the function and
        # stop after it; the others run to completion first.
        sidecars = [c["name"] for c in pod["initContainers"] if c.get("restartPolicy") == "Always"]
        assert sidecars == ["logs", "metrics"]
        assert init["logs"]["image"] == OPTIONS.images.logs
        assert init["metrics"]["image"] == OPTIONS.images.metrics
        for container_spec in (function, init["logs"], init["metrics"]):
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container_spec, (container_spec["name"], probe)
                _probe_port_is_its_own(container_spec, container_spec[probe])
            limits = container_spec["resources"]
            assert limits["requests"]["memory"] and limits["limits"]["memory"]
            assert limits["requests"]["cpu"]
        # One job each: the log sidecar reads the file the function writes to.
        logs_mounts = {m["name"]: m["mountPath"] for m in init["logs"]["volumeMounts"]}
        function_mounts = {m["name"]: m["mountPath"] for m in function["volumeMounts"]}
        assert logs_mounts["logs"] == function_mounts["logs"]
        assert ">>/var/log/gaia/function.log" in function["command"][3]
        ports = [p["containerPort"] for c in [function, *init.values()] for p in c.get("ports", [])]
        assert len(ports) == len(set(ports)), ports  # one network namespace: no clash
        assert pod["enableServiceLinks"] is False


def _probe_port_is_its_own(container_spec: dict[str, Any], probe: dict[str, Any]) -> None:
    check = probe.get("httpGet") or probe["tcpSocket"]
    own = [p["containerPort"] for p in container_spec["ports"]]
    assert check["port"] in own, (container_spec["name"], check, own)


def test_services_select_their_revisions_pods_and_no_others() -> None:
    files = render(_revisions(), OPTIONS)
    kinds = _by_kind(files)
    pods = {d["metadata"]["name"]: d for d in kinds["Deployment"]}
    for service in kinds["Service"]:
        name = service["metadata"]["name"]
        selector = service["spec"]["selector"]
        for other, deployment in pods.items():
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            selected = selector.items() <= labels.items()
            assert selected == (other == name), (name, other)
            # A Deployment selects its own pods: the API server refuses it otherwise.
            assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        [port] = service["spec"]["ports"]
        pod = _pod(pods[name])
        named = {
            p["name"]: p["containerPort"]
            for c in [*pod.get("initContainers", []), *pod["containers"]]
            for p in c.get("ports", [])
        }
        assert port["targetPort"] in named


def test_labels_and_annotations_carry_the_revision_and_digest() -> None:
    hello = revision("hello", 3)
    [_, deployment, _] = [m for m in _manifests(render([hello], OPTIONS)[:1])]
    meta = deployment["spec"]["template"]["metadata"]
    assert meta["labels"]["gaia/revision"] == "3"
    assert meta["labels"]["app.kubernetes.io/name"] == "hello"
    assert meta["labels"]["app.kubernetes.io/instance"] == "hello-r3"
    assert meta["labels"]["app.kubernetes.io/version"] == "3"
    assert meta["labels"]["gaia/digest"] == hello.digest[:12]
    assert meta["annotations"]["gaia/digest"] == hello.digest
    assert meta["annotations"]["prometheus.io/port"] == str(METRICS_PORT)


def test_resources_and_probes_follow_the_functions_settings() -> None:
    hello = revision(config={"memory": "128Mi", "concurrency": 4, "pool": {"min": 2, "max": 5}})
    site = container(readiness={"path": "/ready", "timeout": "45s"})
    bare = container("bare")
    [hello_pod, site_pod, bare_pod] = [
        _pod(next(m for m in _manifests([f]) if m["kind"] == "Deployment"))
        for f in render([hello, site, bare], OPTIONS)[:3]
    ]
    function = hello_pod["containers"][0]
    # A Python function's own gaia runs `pool.min` warm workers of `memory` each, up to
    # `pool.max`.
    assert function["resources"] == {
        "requests": {"cpu": "100m", "memory": f"{(GAIA_OVERHEAD_BYTES + 2 * 128 * MiB) // MiB}Mi"},
        "limits": {"memory": f"{(GAIA_OVERHEAD_BYTES + 5 * 128 * MiB) // MiB}Mi"},
    }
    function = site_pod["containers"][0]
    # A container function's pod is one instance: `memory` is its request and limit.
    assert function["resources"] == {
        "requests": {"cpu": "100m", "memory": "96Mi"},
        "limits": {"memory": "96Mi"},
    }
    assert function["readinessProbe"]["httpGet"] == {"path": "/ready", "port": FUNCTION_PORT}
    # `readiness.timeout` is how long it may take to start.
    assert (
        function["startupProbe"]["failureThreshold"] * function["startupProbe"]["periodSeconds"]
        == 45
    )
    assert {"name": "PORT", "value": str(FUNCTION_PORT)} in function["env"]
    bare_function = bare_pod["containers"][0]
    assert bare_function["readinessProbe"]["tcpSocket"] == {"port": FUNCTION_PORT}
    assert bare_function["startupProbe"]["failureThreshold"] == 30  # the default 30s
    assert bare_pod["terminationGracePeriodSeconds"] == math.ceil(10) + 15


def test_the_metrics_sidecar_holds_the_function_to_its_concurrency() -> None:
    hello = revision(config={"concurrency": 4, "pool": {"min": 1, "max": 3}, "timeout": "2s"})
    site = container(concurrency=7, timeout="5s", pool={"queue_timeout": "1500ms"})
    [hello_map, site_map] = [
        next(iter(_manifests([f]))) for f in render([hello, site], OPTIONS)[:2]
    ]
    assert "maxconn 12\n" in hello_map["data"]["haproxy.cfg"]  # 4 at a time x 3 workers
    assert "timeout queue 2000\n" in hello_map["data"]["haproxy.cfg"]  # the timeout
    assert "maxconn 7\n" in site_map["data"]["haproxy.cfg"]
    assert "timeout server 6000\n" in site_map["data"]["haproxy.cfg"]
    assert "timeout queue 1500\n" in site_map["data"]["haproxy.cfg"]
    assert f"monitor-uri {HEALTH_PATH}\n" in site_map["data"]["haproxy.cfg"]


def test_code_travels_in_the_revisions_configmap_up_to_its_limit() -> None:
    small = container(files=(("notes.txt", b"x"),))
    [config_map] = [m for m in _manifests(render([small], OPTIONS)[:1]) if m["kind"] == "ConfigMap"]
    assert set(config_map["binaryData"]) == {"code.tar.gz"}
    assert config_map["immutable"] is True
    # Random bytes do not compress: over a MiB of them cannot go in a ConfigMap.
    big = container(files=(("blob.bin", os.urandom(1100 * 1024)),))
    with pytest.raises(RenderError, match=r"site@1: its code is 1\.\d MiB packed"):
        render([big], OPTIONS)


def test_the_same_revisions_render_the_same_bytes() -> None:
    first = [f.text for f in render(_revisions(), OPTIONS)]
    assert first == [f.text for f in render(_revisions(), OPTIONS)]


def test_the_gateways_functions_are_urls_of_the_revisions_services() -> None:
    revisions = _revisions()
    files = render(revisions, OPTIONS)
    kinds = _by_kind(files)
    [gateway_map] = [m for m in kinds["ConfigMap"] if m["metadata"]["name"] == names.GATEWAY]
    document = yaml.safe_load(gateway_map["data"]["gaia.yaml"])
    services = {s["metadata"]["name"]: s["spec"]["ports"][0]["port"] for s in kinds["Service"]}
    for rev in revisions:
        body = document["functions"][rev.function]
        assert body["runtime"] == "url"
        name = names.revision_name(rev.function, rev.number)
        assert body["urls"] == [f"http://{name}.{OPTIONS.namespace}.svc:{services[name]}"]
        assert body["urls"] == [service_url(rev, OPTIONS.namespace)]
        assert body["health"] == {"path": HEALTH_PATH}


def test_the_gateway_builders_take_replicas_and_environment() -> None:
    """What issue 15's deploy/ reuses: N replicas on a shared store."""
    objects: list[Any] = gateway_objects(
        "functions: {}\n",
        namespace="shop",
        image="registry.example.com/gaia:1",
        replicas=3,
        env={"GAIA_STORE": "redis://redis:6379/0"},
    )
    for manifest in objects:
        validate(manifest)
    [config_map, deployment, service] = objects
    assert deployment["spec"]["replicas"] == 3
    [gateway] = _pod(deployment)["containers"]
    assert {"name": "GAIA_STORE", "value": "redis://redis:6379/0"} in gateway["env"]
    assert gateway["image"] == "registry.example.com/gaia:1"
    assert config_map["data"] == {"gaia.yaml": "functions: {}\n"}
    assert (
        service["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    # A changed file changes the pod template, so the gateway's pods roll.
    other: Any = gateway_objects("functions: {a: {}}\n", namespace="shop", image="x")[1]
    assert (
        other["spec"]["template"]["metadata"]["annotations"]
        != deployment["spec"]["template"]["metadata"]["annotations"]
    )


def test_a_python_functions_own_gaia_yaml_has_its_http_triggers_on_default() -> None:
    hello = replace(
        revision(),
        triggers=(
            revision().triggers[0],
            Trigger(kind="http", spec={"path": "/hi", "alias": "prod", "host": "api.example.com"}),
        ),
    )
    [config_map] = [m for m in _manifests(render([hello], OPTIONS)[:1]) if m["kind"] == "ConfigMap"]
    own = yaml.safe_load(config_map["data"]["gaia.yaml"])
    assert own["functions"]["hello"]["triggers"] == [
        {"http": {"path": "/hello/{name}"}},
        {"http": {"path": "/hi"}},
    ]
    assert own["functions"]["hello"]["code"] == "./code"
    assert base64.b64decode(config_map["binaryData"]["code.tar.gz"]) == hello.code


def test_the_figures_the_readme_gives() -> None:
    """README "Kubernetes": the images, ports, sizes and times it names."""
    hello, site = revision(), container()
    [hello_file, site_file, gateway_file] = render([hello, site], OPTIONS)
    hello_map, hello_deployment, _ = _manifests([hello_file])
    _, site_deployment, _ = _manifests([site_file])
    _, gateway_deployment, gateway_service = _manifests([gateway_file])
    pod = _pod(site_deployment)
    init = {c["name"]: c for c in pod["initContainers"]}
    assert init["logs"]["image"] == "fluent/fluent-bit:3.2"
    assert init["metrics"]["image"] == "haproxy:3.0-alpine"
    assert init["tools"]["image"] == init["code"]["image"] == "busybox:1.36-musl"
    assert _pod(hello_deployment)["containers"][0]["image"] == "gaia:0.1.0"
    for sidecar in (init["logs"], init["metrics"]):
        assert sidecar["resources"] == {
            "requests": {"cpu": "20m", "memory": "32Mi"},
            "limits": {"memory": "64Mi"},
        }
    ports = {
        c["name"]: sorted(p["containerPort"] for p in c.get("ports", []))
        for c in [*pod["initContainers"], *pod["containers"]]
    }
    assert ports == {
        "tools": [],
        "code": [],
        "logs": [2020],
        "metrics": [8080, 9101],
        "function": [8081],
    }
    assert init["logs"]["readinessProbe"]["httpGet"] == {"path": "/api/v1/health", "port": 2020}
    assert init["logs"]["livenessProbe"]["httpGet"] == {"path": "/api/v1/health", "port": 2020}
    assert init["metrics"]["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 9101}
    assert {"name": "logs", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    script = pod["containers"][0]["command"][3]
    assert "-gt 16777216 ]" in script and "sleep 5;" in script  # 16 MiB, every 5 s
    fluent_bit = hello_map["data"]["fluent-bit.conf"]
    for field in ("Record  function hello", "Record  revision 3", "Record  pod ${POD_NAME}"):
        assert field in fluent_bit
    assert "Format  json_lines" in fluent_bit
    python = _pod(hello_deployment)["containers"][0]
    startup = python["startupProbe"]
    assert startup["httpGet"] == {"path": "/readyz", "port": 8082}
    assert python["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8082}
    assert startup["periodSeconds"] * startup["failureThreshold"] == 300
    assert python["resources"]["requests"]["memory"] == "512Mi"  # 256Mi + 1 x 256Mi
    assert python["resources"]["limits"]["memory"] == f"{256 + 8 * 256}Mi"  # pool.max 8
    gateway = _pod(gateway_deployment)["containers"][0]
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 8081}
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8081}
    assert gateway_service["metadata"]["name"] == "gaia"
    assert gateway_service["spec"]["ports"][0]["port"] == 8080
    command = gateway["command"]
    assert command[command.index("--shutdown-timeout") + 1] == "30s"
    assert _pod(gateway_deployment)["terminationGracePeriodSeconds"] == 35
