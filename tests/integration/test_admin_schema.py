"""schemathesis against a real gateway's own /openapi.json: every operation, valid and invalid
data, no 5xx, and every answer as the schema describes it (status, content type, body).

No operation is excluded: none stops the gateway, and generated publishes and applies carry
no valid tarball, so they are refused before anything is warmed. One value is: `follow=true`
on a function's logs keeps the answer open until the client leaves, which a fuzzer reading
whole answers never does, so those cases ask with `follow=false` (tests/integration/
test_logs.py follows). The run uses schemathesis' engine, as its CLI does: its pytest
plugin does not load under pytest 9.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis import GenerationMode
from schemathesis.engine import Status, events, from_schema
from schemathesis.engine.recorder import ScenarioRecorder
from schemathesis.generation.case import Case
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER, HookContext

from tests.integration.harness import GaiaFactory

# Per operation and mode: enough to reach every validation rule, and the whole run stays
# well under a minute on two cores.
MAX_EXAMPLES = 20
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    # The coverage phase also sends methods a path does not take, and OPTIONS.
    "unsupported_method",
    "allow_header_conformance",
]


def _no_endless_follow(context: HookContext, case: Case[Any], kwargs: dict[str, Any]) -> None:
    if case.query and case.query.get("follow") in (True, "true", "1", 1):
        case.query["follow"] = False


def test_admin_api_answers_as_its_schema_says(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    GLOBAL_HOOK_DISPATCHER.register_hook_with_name(_no_endless_follow, "before_call")
    try:
        _run_schemathesis(gaia_factory)
    finally:
        GLOBAL_HOOK_DISPATCHER.unregister(_no_endless_follow)


def _run_schemathesis(gaia_factory: GaiaFactory) -> None:
    gaia = gaia_factory().start()  # serves the examples: function `hello`, alias `default`
    schema = schemathesis.openapi.from_url(f"{gaia.admin_url}/openapi.json")
    schema.config.update(
        base_url=gaia.admin_url, headers={"authorization": f"Bearer {gaia.token}"}, workers=1
    )
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        # The same cases on every run, and no example database written into the work tree.
        deterministic=True,
        database="none",
    )
    schema.config.checks.update(included_check_names=CHECKS)
    # Stateful testing needs OpenAPI links, which this API does not declare.
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])

    failures: list[str] = []
    errors: list[str] = []
    statuses: Counter[int] = Counter()
    operations: set[str] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            operations.add(event.recorder.label)
            _collect(event.recorder, failures, statuses)
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            errors.append(repr(event.exception))

    assert not errors, "\n".join(errors)
    assert not failures, "\n\n".join(failures[:10])
    assert not [status for status in statuses if status >= 500], statuses
    documented = {
        f"{method.upper()} {path}"
        for path, methods in schema.raw_schema["paths"].items()
        for method in methods
    }
    assert operations == documented
    # Both kinds of data reached the handlers: accepted requests and refused ones.
    assert statuses[200] and statuses[422] and statuses[404] and statuses[405], statuses


def _collect(recorder: ScenarioRecorder, failures: list[str], statuses: Counter[int]) -> None:
    for interaction in recorder.interactions.values():
        if interaction.response is not None:
            statuses[interaction.response.status_code] += 1
    for checks in recorder.checks.values():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                failures.append(
                    f"{recorder.label}: {check.name}: {failure.title}\n{failure.message}\n"
                    f"{check.failure_info.code_sample}"
                )
