"""`gaia k8s render` against a real gateway with real published revisions: a Python
function, a container function from an OCI archive built in the test, and a container
function run on the host's system directories.

Every manifest written passes the official schemas. The Python function's container and
its metrics sidecar are then run here as the pod runs them (its command under a real
busybox, its own gaia, the rendered HAProxy configuration): only the ports and paths move.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.config import parse_config
from k8s import capture
from k8s.containers import (
    FUNCTION_ADMIN_PORT,
    FUNCTION_PORT,
    HEALTH_PATH,
    HTTP_PORT,
    METRICS_PORT,
)
from k8s.pod import HOME_DIR, PYTHON_DIR
from tests.integration.harness import Gaia, free_port, wait_for, write_function
from tests.k8s.schemas import validate
from tests.k8s.test_metrics import haproxy
from tests.runtime_adapters.container.conftest import require
from tests.runtime_adapters.container.images import Podman

IMAGE = "localhost/gaia-it/busybox:1"
IMAGE_ARGV = ["/bin/sh", "-c", "exec httpd -f -p $PORT -h ."]
HELLO = """
VERSION = "{version}"

def handler(event, context):
    print("handling", event.path, flush=True)
    return {"message": "hello, " + event.params.get("name", "world"), "version": VERSION}
"""
CONFIG = """
functions:
  hello:
    code: ./hello
    memory: 64Mi
    concurrency: 4
    pool: {min: 1, max: 2}
    aliases:
      prod: {traffic: [{revision: latest, percent: 100}]}
    triggers:
      - http: {path: "/hello/{name}", methods: [GET]}
      - http: {path: /hi, alias: prod}
      - http: {path: /first, revision: 1}
  box:
    runtime: container
    code: ./box
    image: oci-archive:image.tar
    readiness: {path: /index.html, timeout: 20s}
    memory: 128Mi
    concurrency: 2
    triggers:
      - http: {path: /index.html}
      - cron: {schedule: "@daily"}
  api:
    runtime: container
    code: ./api
    command: [busybox, sh, -c, "exec busybox httpd -f -p $PORT -h /code"]
    triggers:
      - http: {path: /api.txt}
  ticker:
    code: ./ticker
    triggers:
      - cron: {schedule: "@hourly"}
"""


@dataclass(frozen=True)
class Source:
    gaia: Gaia
    root: Path

    def render(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.gaia.cli("k8s", "render", *args)

    def revision(self, function: str, number: int) -> dict[str, Any]:
        with self.gaia.admin() as admin:
            views = admin.get(f"/v1/functions/{function}/revisions").json()
        found: dict[str, Any] = next(v for v in views if v["revision"] == number)
        return found


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    require("bwrap", "prlimit", "busybox")
    root = tmp_path_factory.mktemp("k8s")
    write_function(root / "hello", HELLO.replace("{version}", "v1"))
    write_function(root / "hello-v2", HELLO.replace("{version}", "v2"))
    write_function(root / "ticker", HELLO.replace("{version}", "tick"))
    (root / "api").mkdir()
    (root / "api" / "api.txt").write_text("from the host's busybox\n")
    with Podman(root / "podman") as podman:
        podman.build(IMAGE)
        podman.save(IMAGE, "oci-archive", root / "box")
    (root / "box" / "notes.txt").write_text("beside the image\n")
    (root / "gaia.yaml").write_text(CONFIG)
    gaia = Gaia(root / "home")
    try:
        gaia.start("-f", str(root / "gaia.yaml"), wait=False)
        gaia.wait_ready(timeout=90)
        deployed = gaia.cli("deploy", "hello", "--code", str(root / "hello-v2"))
        assert deployed.returncode == 0, deployed.stderr
        # prod stays on @1 while default follows latest, @2: `hello` alone is a split.
        assert gaia.cli("alias", "set", "hello:prod", "1=100").returncode == 0
        yield Source(gaia=gaia, root=root)
    finally:
        gaia.kill()


def _documents(directory: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        path.name: list(yaml.safe_load_all(path.read_text()))
        for path in sorted(directory.glob("*.yaml"))
    }


def _kind(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [d for d in documents if d["kind"] == kind]
    return found


RENDER = (
    "hello@2", "box", "api", "--image", "api=busybox:1.36",
    "--image-registry", "registry.example.com/team",
)  # fmt: skip


@dataclass(frozen=True)
class Rendered:
    out: Path
    report: dict[str, Any]


@pytest.fixture(scope="module")
def rendered(source: Source) -> Rendered:
    """One run of RENDER, which the tests below read (and copy before changing)."""
    out = source.root / "rendered"
    done = source.render(*RENDER, "--output-dir", str(out), "-o", "json")
    assert done.returncode == 0, done.stderr
    return Rendered(out=out, report=json.loads(done.stdout))


def test_revisions_render_to_manifests_the_official_schemas_take(
    source: Source, rendered: Rendered
) -> None:
    out, report = rendered.out, rendered.report
    assert report["output_dir"] == str(out) and report["namespace"] == "default"
    assert report["gateway"] == {"file": "gateway.yaml", "image": "gaia:0.1.0"}
    assert [(r["name"], r["image"], r["url"], r["file"]) for r in report["revisions"]] == [
        ("hello@2", "gaia:0.1.0", "http://hello-r2.default.svc:8080", "hello-r2.yaml"),
        (
            "box@1",
            "registry.example.com/team/gaia-it/busybox:1",
            "http://box-r1.default.svc:8080",
            "box-r1.yaml",
        ),
        ("api@1", "busybox:1.36", "http://api-r1.default.svc:8080", "api-r1.yaml"),
    ]
    assert report["revisions"][0]["left_out"] == ["hello/http/2: pins @1"]

    documents = _documents(out)
    assert sorted(documents) == ["api-r1.yaml", "box-r1.yaml", "gateway.yaml", "hello-r2.yaml"]
    for manifests in documents.values():
        for manifest in manifests:
            validate(manifest)
    for item in report["revisions"]:
        deployment = _kind(documents[item["file"]], "Deployment")
        digest = source.revision(item["function"], item["revision"])["digest"]
        assert item["digest"] == digest
        assert deployment["metadata"]["annotations"]["gaia/digest"] == digest
        template = deployment["spec"]["template"]
        assert template["metadata"]["labels"]["gaia/revision"] == str(item["revision"])
        [function] = template["spec"]["containers"]
        assert function["image"] == item["image"]

    def command(file: str) -> list[str]:
        container = _kind(documents[file], "Deployment")["spec"]["template"]["spec"]
        argv: list[str] = container["containers"][0]["command"]
        assert argv[:3] == [capture.BUSYBOX, "sh", "-c"]  # under the log capture
        return argv[4:]

    # The image's own Entrypoint and Cmd, read from the archive in the revision's code.
    assert command("box-r1.yaml") == IMAGE_ARGV
    assert command("api-r1.yaml") == [
        "busybox", "sh", "-c", "exec busybox httpd -f -p $PORT -h /code"
    ]  # fmt: skip
    api = _kind(documents["api-r1.yaml"], "Deployment")["spec"]
    assert api["replicas"] == 1
    [api_function] = api["template"]["spec"]["containers"]
    assert api_function["workingDir"] == "/code"  # its code, as under gaia
    assert api_function["resources"]["requests"]["cpu"] == "100m"
    assert (out / ".gaia-k8s-render").is_file()
    box_code = _kind(documents["box-r1.yaml"], "ConfigMap")["binaryData"]["code.tar.gz"]
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(box_code))) as tar:
        assert tar.getnames() == ["notes.txt"]  # the image itself is pulled, not mounted


def test_the_gateways_file_runs_each_function_on_its_revisions_service(
    source: Source, rendered: Rendered
) -> None:
    documents = _documents(rendered.out)
    gateway = documents["gateway.yaml"]
    config_map = _kind(gateway, "ConfigMap")
    document = yaml.safe_load(config_map["data"]["gaia.yaml"])
    services = {
        name.removesuffix(".yaml"): _kind(manifests, "Service")
        for name, manifests in documents.items()
        if name != "gateway.yaml"
    }
    for name, service in services.items():
        function = name.rpartition("-r")[0]
        port = service["spec"]["ports"][0]["port"]
        namespace = service["metadata"]["namespace"]
        body = document["functions"][function]
        assert body["runtime"] == "url"
        assert body["urls"] == [f"http://{name}.{namespace}.svc:{port}"]
    assert document["functions"]["hello"]["triggers"] == [
        {"http": {"path": "/hello/{name}", "methods": ["GET"]}},
        {"http": {"path": "/hi", "alias": "prod"}},
    ]
    assert document["functions"]["hello"]["aliases"] == {
        "prod": {"traffic": [{"revision": "latest", "percent": 100}]}
    }
    assert document["functions"]["box"]["triggers"][1] == {"cron": {**_cron(source)}}
    # The gateway's Deployment serves that file, and its Service selects its pods.
    deployment = _kind(gateway, "Deployment")
    pod = deployment["spec"]["template"]
    assert pod["spec"]["volumes"][0]["configMap"]["name"] == config_map["metadata"]["name"]
    selector = _kind(gateway, "Service")["spec"]["selector"]
    assert selector.items() <= pod["metadata"]["labels"].items()


def _cron(source: Source) -> dict[str, Any]:
    with source.gaia.admin() as admin:
        view = admin.get("/v1/triggers/box/cron/1").json()
    return {k: v for k, v in view.items() if k not in ("id", "function", "kind", "state", "alias")}


def test_the_gateways_file_parses_with_gaias_own_loader(rendered: Rendered, tmp_path: Path) -> None:
    config_map = _kind(_documents(rendered.out)["gateway.yaml"], "ConfigMap")
    parsed = parse_config(config_map["data"]["gaia.yaml"], file="gaia.yaml", base_dir=tmp_path)
    assert sorted(parsed.functions) == ["api", "box", "hello"]


def _relocated(text: str, moves: dict[str, str]) -> str:
    for old, new in moves.items():
        text = text.replace(old, new)
    return text


def test_the_python_functions_pod_serves_the_revision(
    source: Source, rendered: Rendered, tmp_path: Path
) -> None:
    """The function container and the metrics sidecar of hello@2, run here as the pod
    runs them, answer as the gateway's own hello@2 does, through the sidecar."""
    manifests = _documents(rendered.out)["hello-r2.yaml"]
    data = _kind(manifests, "ConfigMap")
    [function] = _kind(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    pod = tmp_path / "pod"
    ports = {n: free_port() for n in (HTTP_PORT, FUNCTION_PORT, FUNCTION_ADMIN_PORT, METRICS_PORT)}
    busybox = shutil.which("busybox") or "/bin/busybox"
    moves = {
        capture.BUSYBOX: busybox,
        capture.LOG_DIR: str(pod / "log"),
        PYTHON_DIR: str(pod / "srv"),
        "0.0.0.0": "127.0.0.1",
        **{f"{n}": f"{p}" for n, p in ports.items()},
    }
    (pod / "log").mkdir(parents=True)
    (pod / "srv" / "code").mkdir(parents=True)
    # What the ConfigMap's subPath mount and the `code` init container put in place.
    (pod / "srv" / "gaia.yaml").write_text(data["data"]["gaia.yaml"])
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(data["binaryData"]["code.tar.gz"]))) as t:
        t.extractall(pod / "srv" / "code", filter="data")
    (pod / "haproxy.cfg").write_text(
        _relocated(
            data["data"]["haproxy.cfg"],
            {
                f"bind :{HTTP_PORT}": f"bind 127.0.0.1:{ports[HTTP_PORT]}",
                f"bind :{METRICS_PORT}": f"bind 127.0.0.1:{ports[METRICS_PORT]}",
                f"127.0.0.1:{FUNCTION_PORT}": f"127.0.0.1:{ports[FUNCTION_PORT]}",
            },
        )
    )
    home = {HOME_DIR: str(pod / "home")}
    env = {e["name"]: _relocated(e["value"], home) for e in function["env"]}
    argv = [_relocated(arg, moves) for arg in function["command"]]
    gaia_bin = Path(sys.executable).parent / "gaia"
    argv[argv.index("gaia")] = str(gaia_bin)
    processes = [
        # A session of its own: the capture's size check outlives the function here, where
        # no container's end takes it along; the group is killed with it.
        subprocess.Popen(argv, env={**os.environ, **env}, cwd=pod, start_new_session=True),
        subprocess.Popen([haproxy(), "-db", "-f", str(pod / "haproxy.cfg")], cwd=pod),
    ]
    try:
        front = f"http://127.0.0.1:{ports[HTTP_PORT]}"
        wait_for(
            lambda: (
                httpx.get(f"http://127.0.0.1:{ports[FUNCTION_ADMIN_PORT]}/readyz").status_code
                == 200
            ),
            timeout=60,
            what="the function container's gaia (its readiness probe's /readyz)",
        )
        answer = httpx.get(f"{front}/hello/ada")
        with source.gaia.data() as http:
            expected = http.get("/hello/ada")
        assert expected.headers["x-gaia-revision"] == "hello@2"
        assert answer.status_code == 200
        assert answer.json() == expected.json() == {"message": "hello, ada", "version": "v2"}
        assert httpx.get(f"{front}{HEALTH_PATH}").status_code == 200
        # Its own gaia published the same code and settings: the same digest.
        token = (pod / "home" / "admin-token").read_text().strip()
        own = httpx.get(
            f"http://127.0.0.1:{ports[FUNCTION_ADMIN_PORT]}/v1/functions/hello/revisions",
            headers={"authorization": f"Bearer {token}"},
        ).json()
        assert [r["digest"] for r in own] == [source.revision("hello", 2)["digest"]]
        # The metrics sidecar counted the request; the log file holds what it printed.
        metrics = httpx.get(f"http://127.0.0.1:{ports[METRICS_PORT]}/metrics").text
        assert re.search(
            r'haproxy_backend_http_responses_total\{proxy="function",code="2xx"\} 1\b', metrics
        ), metrics
        wait_for(
            lambda: "handling /hello/ada" in (pod / "log" / "function.log").read_text(),
            what="the function's print in the file the log sidecar tails",
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(processes[0].pid, signal.SIGKILL)


BAD = [
    (("nope",), "function 'nope' does not exist"),
    (("hello@9",), "hello@9 does not exist (revisions of hello: 1 and 2)"),
    (
        ("hello",),
        "hello: its aliases send traffic to @1 (prod) and @2 (default); the gateway on the"
        " cluster serves one revision of each function: name it, e.g. hello@2",
    ),
    (
        ("api",),
        "api@1 runs on the host's system directories (it has no image:), which a cluster has"
        " not: give --image api=REF, an image holding what its command runs",
    ),
    (
        ("ticker",),
        "ticker@1: a Python function on the cluster answers HTTP only (its pod serves it"
        " through gaia's data plane), but it has cron triggers",
    ),
    (("box", "--image", "hello=x:1"), "--image names hello, which this run does not render"),
    (("box", "--namespace", "Bad_NS"), "--namespace 'Bad_NS': expected a DNS label"),
    ((), "name functions (FUNCTION or FUNCTION@REVISION) or give --all"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) or "none" for a, _ in BAD])
def test_bad_input_is_a_clear_error_and_writes_nothing(
    source: Source, rendered: Rendered, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "k8s"
    shutil.copytree(rendered.out, out)  # a previous run's files, which must stay
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    done = source.render(*args, "--output-dir", str(out))
    assert done.returncode == 1, done.stdout
    assert message in done.stderr, done.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(os.listdir(tmp_path)) == ["k8s"]


def test_all_names_every_problem_at_once(source: Source, tmp_path: Path) -> None:
    done = source.render("--all", "--output-dir", str(tmp_path / "k8s"))
    assert done.returncode == 1
    assert "hello: its aliases send traffic to @1 (prod) and @2 (default)" in done.stderr
    assert "api@1 runs on the host's system directories" in done.stderr
    assert "ticker@1: a Python function on the cluster answers HTTP only" in done.stderr
    assert not (tmp_path / "k8s").exists()


def test_an_output_dir_that_cannot_be_written_is_refused(source: Source, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "deployment.yaml").write_text("mine\n")
    done = source.render("box", "--output-dir", str(mine))
    assert done.returncode == 1
    assert f"cannot write {mine}: it holds files gaia k8s render did not write" in done.stderr
    assert [p.name for p in mine.iterdir()] == ["deployment.yaml"]
    (tmp_path / "a-file").write_text("x")
    done = source.render("box", "--output-dir", str(tmp_path / "a-file" / "k8s"))
    assert done.returncode == 1
    assert f"cannot write {tmp_path / 'a-file' / 'k8s'}" in done.stderr


def test_a_new_run_replaces_the_last_one_and_the_same_run_writes_the_same_bytes(
    source: Source, rendered: Rendered, tmp_path: Path
) -> None:
    out = tmp_path / "k8s"
    assert source.render(*RENDER, "--output-dir", str(out)).returncode == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {
        p.name: p.read_bytes() for p in rendered.out.iterdir()
    }
    done = source.render("box", "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.glob("*.yaml")) == ["box-r1.yaml", "gateway.yaml"]
    assert "kubectl apply -f" in done.stdout
