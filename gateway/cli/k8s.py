"""`gaia k8s render`: Kubernetes manifests for revisions and the gateway in front of them
(k8s renders them; this command gathers the revisions from the admin API)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from gateway.cli.client import AdminClient
from gateway.cli.errors import CliError
from gateway.cli.render import OUTPUT, emit_json, table
from k8s import cluster, images, names, selection, source
from k8s.errors import RenderError
from k8s.model import Images, Options, Revision
from k8s.output import check_target, write_directory
from k8s.render import GATEWAY_FILE, render
from k8s.revision import service_url

# A namespace is a DNS-1123 label.
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# A CPU quantity: whole or fractional cores, or millicores.
_CPU = re.compile(r"[0-9]+(\.[0-9]+)?|[0-9]+m")
# A volume's size: a whole number of binary units.
_STORAGE = re.compile(r"[1-9][0-9]*(Mi|Gi|Ti)")


_OUTPUT_DIR = click.option(
    "--output-dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="written as a whole: new, empty, or written by an earlier render",
)
_NAMESPACE_OPTION = click.option("--namespace", default="default", show_default=True)


def _check_placement(namespace: str, cpu: str) -> None:
    if not _NAMESPACE.fullmatch(namespace):
        raise CliError(f"--namespace {namespace!r}: expected a DNS label like default or shop")
    if not _CPU.fullmatch(cpu):
        raise CliError(f"--cpu {cpu!r}: expected cores like 0.5 or 2, or millicores like 250m")


@click.group()
def k8s() -> None:
    """Kubernetes manifests for revisions and for the gateway in front of them."""


@k8s.command("render")
@click.argument("targets", nargs=-1, metavar="FUNCTION[@REVISION]...")
@click.option("--all", "everything", is_flag=True, help="every function")
@_OUTPUT_DIR
@_NAMESPACE_OPTION
@click.option(
    "--replicas", type=click.IntRange(min=1), default=1, show_default=True, help="pods per revision"
)
@click.option(
    "--gaia-image",
    default=images.DEFAULT_GAIA,
    show_default=True,
    help="gaia itself: the gateway, and Python functions' containers",
)
@click.option(
    "--image",
    "image_pairs",
    multiple=True,
    metavar="FUNCTION=REF",
    help="the image a container function runs, as the cluster pulls it; repeatable",
)
@click.option(
    "--image-registry",
    metavar="PREFIX",
    help="where container functions' images are pushed: PREFIX/their own name",
)
@click.option("--log-image", default=images.DEFAULT_LOGS, show_default=True)
@click.option("--metrics-image", default=images.DEFAULT_METRICS, show_default=True)
@click.option("--tools-image", default=images.DEFAULT_TOOLS, show_default=True)
@click.option(
    "--cpu", default="100m", show_default=True, help="the function container's CPU request"
)
@OUTPUT
def render_command(
    targets: tuple[str, ...],
    everything: bool,
    output_dir: Path,
    namespace: str,
    replicas: int,
    gaia_image: str,
    image_pairs: tuple[str, ...],
    image_registry: str | None,
    log_image: str,
    metrics_image: str,
    tools_image: str,
    cpu: str,
    output: str,
) -> None:
    """Write manifests that run revisions on Kubernetes: per revision a ConfigMap, a
    Deployment of the composite pod (function, log and metrics sidecars) and a Service;
    and the gateway's ConfigMap, Deployment and Service, its functions as runtime: url."""
    if everything == bool(targets):
        raise CliError("name functions (FUNCTION or FUNCTION@REVISION) or give --all")
    _check_placement(namespace, cpu)
    explicit = _image_pairs(image_pairs)
    options = Options(
        namespace=namespace,
        replicas=replicas,
        cpu=cpu,
        images=Images(gaia=gaia_image, logs=log_image, metrics=metrics_image, tools=tools_image),
    )
    try:
        check_target(output_dir)
        chosen = _revisions(targets, everything, explicit, image_registry, gaia_image)
        files = render([revision for revision, _ in chosen], options)
        write_directory(output_dir, {file.name: file.text for file in files})
    except RenderError as exc:
        raise CliError(exc.message) from None
    _report(output_dir, chosen, options, output)


def _image_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    explicit: dict[str, str] = {}
    for pair in pairs:
        function, sep, ref = pair.partition("=")
        if not sep or not function or not ref:
            raise CliError(f"--image {pair!r}: expected FUNCTION=REF")
        if function in explicit:
            raise CliError(f"--image names {function} twice")
        explicit[function] = ref
    return explicit


def _revisions(
    targets: tuple[str, ...],
    everything: bool,
    explicit: dict[str, str],
    registry: str | None,
    gaia_image: str,
) -> list[tuple[Revision, selection.Choice]]:
    """Each revision to render, with the choice that named it (its left-out triggers)."""
    client = AdminClient()
    if everything:
        listed: list[dict[str, Any]] = client.call("GET", "/v1/functions")
        targets = tuple(f["name"] for f in listed)
        if not targets:
            raise RenderError("no functions to render: the gateway has none")
    wanted = selection.parse_wanted(targets)
    unknown = sorted(set(explicit) - {w.function for w in wanted})
    if unknown:
        raise RenderError(f"--image names {', '.join(unknown)}, which this run does not render")
    problems: list[str] = []
    revisions: list[tuple[Revision, selection.Choice]] = []
    for want in wanted:
        view: dict[str, Any] = client.call("GET", f"/v1/functions/{want.function}")
        views: list[dict[str, Any]] = client.call("GET", f"/v1/functions/{want.function}/revisions")
        try:
            choice = selection.choose(view, views, want)
            path = f"/v1/functions/{choice.function}/revisions/{choice.revision}/code"
            response = client.request("GET", path)
            if response.status_code >= 400:
                client.call("GET", path)  # raises the admin API's error as CliError
            chosen = next(v for v in views if v["revision"] == choice.revision)
            built = source.revision(
                choice,
                chosen,
                response.content,
                explicit_image=explicit.get(choice.function),
                registry=registry,
                gaia_image=gaia_image,
            )
            revisions.append((built, choice))
        except RenderError as exc:
            problems.append(exc.message)
    if problems:
        raise RenderError("\n".join(problems))
    return revisions


def _report(
    directory: Path,
    chosen: list[tuple[Revision, selection.Choice]],
    options: Options,
    output: str,
) -> None:
    rendered: list[dict[str, Any]] = [
        {
            "function": r.function,
            "revision": r.number,
            "name": r.label,
            "digest": r.digest,
            "image": r.image,
            "url": service_url(r, options.namespace),
            "file": names.revision_name(r.function, r.number) + ".yaml",
            "left_out": list(choice.left_out),
        }
        for r, choice in chosen
    ]
    if output == "json":
        emit_json(
            {
                "output_dir": str(directory),
                "namespace": options.namespace,
                "revisions": rendered,
                "gateway": {"file": GATEWAY_FILE, "image": options.images.gaia},
            }
        )
        return
    table(
        ["revision", "image", "service", "file"],
        [[r["name"], r["image"], r["url"], r["file"]] for r in rendered]
        + [["gateway", options.images.gaia, "", GATEWAY_FILE]],
    )
    for item in rendered:
        for why in item["left_out"]:
            click.echo(f"left out of the gateway: trigger {why}, not {item['name']}")
    click.echo(f"\nwritten to {directory}: kubectl apply -f {directory}")


@k8s.command("cluster")
@click.option(
    "-f",
    "--file",
    "config_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="the gaia.yaml every replica applies; its functions' code goes with it",
)
@_OUTPUT_DIR
@_NAMESPACE_OPTION
@click.option(
    "--replicas", type=click.IntRange(min=1), default=3, show_default=True, help="gateways"
)
@click.option("--gaia-image", default=images.DEFAULT_GAIA, show_default=True)
@click.option("--redis-image", default=cluster.DEFAULT_REDIS, show_default=True)
@click.option("--storage", default="1Gi", show_default=True, help="Redis's volume")
@click.option("--cpu", default="500m", show_default=True, help="each gateway's CPU request")
@OUTPUT
def cluster_command(
    config_file: Path,
    output_dir: Path,
    namespace: str,
    replicas: int,
    gaia_image: str,
    redis_image: str,
    storage: str,
    cpu: str,
    output: str,
) -> None:
    """Write manifests for REPLICAS gateways serving one config from a shared Redis:
    gateway.yaml (ConfigMap, Deployment, Service, PodDisruptionBudget) and redis.yaml
    (Service, StatefulSet). The admin token is the Secret gaia-admin-token, yours to create."""
    _check_placement(namespace, cpu)
    if not _STORAGE.fullmatch(storage):
        raise CliError(f"--storage {storage!r}: expected a size like 512Mi or 2Gi")
    options = cluster.ClusterOptions(
        namespace=namespace,
        replicas=replicas,
        gaia_image=gaia_image,
        redis_image=redis_image,
        storage=storage,
        cpu=cpu,
    )
    try:
        check_target(output_dir)
        files = cluster.render_cluster(config_file, options)
        write_directory(output_dir, {file.name: file.text for file in files})
    except RenderError as exc:
        raise CliError(exc.message) from None
    next_steps = [
        f"kubectl -n {namespace} create secret generic {cluster.TOKEN_SECRET}"
        " --from-literal=admin-token=$(openssl rand -hex 32)",
        f"kubectl apply -f {output_dir}",
    ]
    if output == "json":
        emit_json(
            {
                "output_dir": str(output_dir),
                "namespace": namespace,
                "replicas": replicas,
                "files": [file.name for file in files],
                "token_secret": cluster.TOKEN_SECRET,
                "next": next_steps,
            }
        )
        return
    click.echo(f"written to {output_dir}: {', '.join(f.name for f in files)}")
    click.echo("\n".join(next_steps))
