"""The README's "First function in two minutes", run as written: its one fenced block,
line by line in one bash, from a directory inside a clone whose `.venv` is this one and
whose gateway runs as the quick start leaves it. A comment that is JSON is the line's
whole output; a URL in a comment must be in the line's output. So the section cannot rot."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.integration.harness import GaiaFactory

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## First function in two minutes"
MARK = "@@@ readme line "
# Where the README's gateway listens, and where the test's does.
README_ADDRESS = "127.0.0.1:8080"


def section_block(text: str) -> list[tuple[str, str]]:
    """(command, comment) for each line of the section's one ```sh block."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    body = text[start : end if end != -1 else len(text)]
    blocks = re.findall(r"```sh\n(.*?)```", body, flags=re.DOTALL)
    assert len(blocks) == 1, f"{SECTION}: expected one ```sh block, found {len(blocks)}"
    lines = []
    for line in blocks[0].splitlines():
        command, _, comment = line.partition("  # ")
        lines.append((command.strip(), comment.strip()))
    return lines


def test_readme_first_function_runs_as_written(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    lines = section_block(README.read_text())
    assert Path(sys.prefix, "bin", "activate").is_file(), "run the tests from a venv"
    gaia = gaia_factory("clone/.gaia").start()  # on an empty home: the examples, as quick start
    clone = gaia.home.parent
    (clone / ".venv").symlink_to(sys.prefix)

    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GAIA_ADMIN_URL": gaia.admin_url,
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    # Without the block's own first line, there is no gaia to run.
    assert subprocess.run(["bash", "-c", "command -v gaia"], env=env).returncode != 0

    here = f"127.0.0.1:{gaia.port}"
    script = ["set -eo pipefail"]
    for number, (command, _) in enumerate(lines):
        script += [f"echo '{MARK}{number}'", command.replace(README_ADDRESS, here)]
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        env=env,
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    outputs: dict[int, str] = {}
    for chunk in result.stdout.split(MARK)[1:]:
        index, _, output = chunk.partition("\n")
        outputs[int(index)] = output
    assert sorted(outputs) == list(range(len(lines)))
    json_checked = urls_checked = 0
    for number, (command, comment) in enumerate(lines):
        comment = comment.replace(README_ADDRESS, here)
        if comment.startswith("{"):
            assert json.loads(outputs[number]) == json.loads(comment), command
            json_checked += 1
        for url in re.findall(r"http://\S+", comment):
            assert url in outputs[number], f"{command}: {url} not in {outputs[number]!r}"
            urls_checked += 1
    assert json_checked >= 3 and urls_checked >= 1, "the section shows what its commands print"

    # What the block made and unmade: the files init wrote, and no function `hi` left.
    assert (clone / "play" / "gaia.yaml").is_file()
    with gaia.admin() as admin:
        assert [f["name"] for f in admin.get("/v1/functions").json()] == ["hello"]
