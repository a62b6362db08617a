"""How the log sidecar gets the function's output: the function container writes its
stdout and stderr to a file in a volume the pod shares, and the log sidecar tails it.

A Kubernetes sidecar cannot read another container's stdout, so the function's command
runs under a small shell: it starts a loop that empties the file once it is past a size
(as logrotate's copytruncate does: the function's appends go on, and the tailer sees the
truncation), then `exec`s the function, which keeps PID 1 and its signals. The shell
and its tools are a static busybox copied into the pod by an init container, so this
works in any image, even one without a shell (distroless, scratch).
"""

from __future__ import annotations

from k8s.containers import locked_down, resources
from k8s.quantities import quantity

TOOLS_VOLUME = "tools"
TOOLS_DIR = "/gaia/tools"
BUSYBOX = TOOLS_DIR + "/busybox"
LOGS_VOLUME = "logs"
LOG_DIR = "/var/log/gaia"
LOG_FILE = LOG_DIR + "/function.log"
TRUNCATE_AT = 16 * 1024**2
CHECK_EVERY_S = 5
# The file, the log sidecar's position database, and room for a burst between checks.
VOLUME_LIMIT = quantity(4 * TRUNCATE_AT)


def script(*, busybox: str, log_file: str, truncate_at: int, every_s: int) -> str:
    """`sh -c` text: `$0 "$@"` is the function's command."""
    return (
        f"(while {busybox} sleep {every_s}; do"
        f' if [ "$({busybox} stat -c %s {log_file} 2>/dev/null || echo 0)" -gt {truncate_at} ];'
        f" then {busybox} truncate -s 0 {log_file}; fi; done) >/dev/null 2>&1 &\n"
        f'exec "$0" "$@" >>{log_file} 2>&1\n'
    )


def wrap(argv: tuple[str, ...] | list[str]) -> list[str]:
    """The function's argv, run with its output captured."""
    text = script(
        busybox=BUSYBOX, log_file=LOG_FILE, truncate_at=TRUNCATE_AT, every_s=CHECK_EVERY_S
    )
    return [BUSYBOX, "sh", "-c", text, *argv]


def tools_container(image: str) -> dict[str, object]:
    """The init container putting the static busybox where the function's shell is."""
    return {
        "name": "tools",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/busybox", "cp", "/bin/busybox", BUSYBOX],
        "volumeMounts": [{"name": TOOLS_VOLUME, "mountPath": TOOLS_DIR}],
        "resources": resources(cpu="10m", memory_request="16Mi"),
        "securityContext": locked_down(read_only_root=True),
    }


def volumes() -> list[dict[str, object]]:
    return [
        {"name": TOOLS_VOLUME, "emptyDir": {"sizeLimit": "8Mi"}},
        {"name": LOGS_VOLUME, "emptyDir": {"sizeLimit": VOLUME_LIMIT}},
    ]


def function_mounts() -> list[dict[str, object]]:
    return [
        {"name": TOOLS_VOLUME, "mountPath": TOOLS_DIR, "readOnly": True},
        {"name": LOGS_VOLUME, "mountPath": LOG_DIR},
    ]
