"""Admission by the limits above an in-memory runtime: HTTP is refused, a queue trigger's
events wait (for a token, and for a circuit's cooldown) instead of failing."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from gateway.config import GaiaFile
from gateway.control import ControlPlane
from gateway.invoker import Invoker
from gateway.metrics import Metrics
from gateway.subscriptions import TargetDispatch
from limits.errors import ConcurrencyLimited, RateLimited
from routing.names import Target
from runtime_adapters.base import Invocation, InvocationResult, RevisionSpec
from runtime_adapters.memory import MemoryRuntime

Parse = Callable[..., GaiaFile]


def config(*, alias: str = "", function: str = "", trigger: str = "") -> str:
    return f"""
functions:
  fn:
    code: ./fn
{function}
    aliases:
      prod:
        traffic: [{{revision: latest, percent: 100}}]
{alias}
    triggers:
      - kafka: {{brokers: "a:9092", topic: orders, alias: prod{trigger}}}
"""


async def dispatch_of(control: ControlPlane, gaia_file: Parse, text: str) -> TargetDispatch:
    await control.apply(gaia_file(text, code={"fn": "def handler(e, c): pass"}))
    return TargetDispatch(
        invoker=Invoker(control=control, metrics=Metrics()),
        target=Target(function="fn", alias="prod"),
        trigger_id="fn/kafka/0",
    )


async def test_a_rate_limit_paces_a_queue_trigger_and_refuses_http(
    control: ControlPlane, gaia_file: Parse
) -> None:
    dispatch = await dispatch_of(
        control, gaia_file, config(alias="        rate_limit: {rps: 20, burst: 1}")
    )
    started = time.monotonic()
    for n in range(5):
        done = await dispatch({"id": f"e{n}"}, request_id=f"r{n}", sticky_key=None)
        assert isinstance(done.outcome, InvocationResult)
    # One token at once, then one every 50 ms: the four others waited for theirs.
    assert time.monotonic() - started >= 4 / 20 - 0.01

    invoker = Invoker(control=control, metrics=Metrics())
    resolved = invoker.resolve(Target(function="fn", alias="prod"))
    await invoker.admit(resolved, trigger_id=None, wait=False)
    with pytest.raises(RateLimited) as refused:
        await invoker.admit(resolved, trigger_id=None, wait=False)
    assert refused.value.status == 429
    assert refused.value.message.startswith(
        "fn:prod allows 20 requests/s (burst 1): over the limit, a request may go again in 0.0"
    )


async def test_a_triggers_own_limit_counts_only_its_events(
    control: ControlPlane, gaia_file: Parse
) -> None:
    await dispatch_of(control, gaia_file, config(trigger=", rate_limit: {rps: 0.1}"))
    invoker = Invoker(control=control, metrics=Metrics())
    resolved = invoker.resolve(Target(function="fn", alias="prod"))
    await invoker.admit(resolved, trigger_id="fn/kafka/0", wait=False)
    with pytest.raises(RateLimited, match=r"^trigger fn/kafka/0 allows 0\.1 requests/s"):
        await invoker.admit(resolved, trigger_id="fn/kafka/0", wait=False)
    # The alias has no limit of its own: other entry points still pass.
    await invoker.admit(resolved, trigger_id="fn/http/9", wait=False)


async def test_a_concurrency_cap_refuses_beyond_max_until_a_ticket_closes(
    control: ControlPlane, gaia_file: Parse
) -> None:
    await dispatch_of(control, gaia_file, config(function="    concurrency_limit: {max: 2}"))
    invoker = Invoker(control=control, metrics=Metrics())
    resolved = invoker.resolve(Target(function="fn", alias="prod"))
    _, first = await invoker.admit(resolved, trigger_id=None, wait=False)
    await invoker.admit(resolved, trigger_id=None, wait=False)
    with pytest.raises(ConcurrencyLimited, match="2 invocations are in flight in this gateway"):
        await invoker.admit(resolved, trigger_id=None, wait=False)
    first.close()
    await invoker.admit(resolved, trigger_id=None, wait=False)


async def test_an_open_circuit_holds_a_queue_triggers_events_until_a_probe_passes(
    control: ControlPlane, runtime: MemoryRuntime, gaia_file: Parse
) -> None:
    def answer(invocation: Invocation, spec: RevisionSpec) -> object:
        event = invocation.event
        assert isinstance(event, dict)
        if str(event["id"]).startswith("fail"):
            raise ValueError("no")
        return "ok"

    runtime.handlers["main.handler"] = answer
    dispatch = await dispatch_of(
        control, gaia_file, config(function="    circuit: {failures: 2, cooldown: 300ms}")
    )
    for n in range(2):
        await dispatch({"id": f"fail{n}"}, request_id=f"f{n}", sticky_key=None)
    opened = time.monotonic()
    done = await dispatch({"id": "ok"}, request_id="ok", sticky_key=None)
    # It waited out the cooldown, then went as the probe, which closed the circuit.
    assert isinstance(done.outcome, InvocationResult)
    assert time.monotonic() - opened >= 0.3 - 0.01
    started = time.monotonic()
    await dispatch({"id": "ok2"}, request_id="ok2", sticky_key=None)
    assert time.monotonic() - started < 0.3


async def test_admit_now_takes_nothing_unless_it_admits_so_admit_decides_the_rest(
    control: ControlPlane, gaia_file: Parse
) -> None:
    # A trigger's limit with room and an alias's without: deciding at once must not
    # spend the trigger's token, or `admit`, which then decides, would refuse for it.
    await dispatch_of(
        control,
        gaia_file,
        config(
            alias="        rate_limit: {rps: 0.1, burst: 1}",
            trigger=", rate_limit: {rps: 0.1, burst: 1}",
        ),
    )
    invoker = Invoker(control=control, metrics=Metrics())
    resolved = invoker.resolve(Target(function="fn", alias="prod"))
    await invoker.admit(resolved, trigger_id="fn/http/9", wait=False)  # the alias's token
    assert invoker.admit_now(resolved, trigger_id="fn/kafka/0") is None
    with pytest.raises(RateLimited, match=r"^fn:prod allows"):  # not the trigger's limit
        await invoker.admit(resolved, trigger_id="fn/kafka/0", wait=False)

    # With room everywhere it admits, taking a token and the cap's lease.
    await dispatch_of(
        control,
        gaia_file,
        config(
            function="    concurrency_limit: {max: 1}", trigger=", rate_limit: {rps: 0.1, burst: 2}"
        ),
    )
    resolved = invoker.resolve(Target(function="fn", alias="prod"))
    admitted = invoker.admit_now(resolved, trigger_id="fn/kafka/0")
    assert admitted is not None
    assert invoker.admit_now(resolved, trigger_id="fn/http/9") is None  # the cap is full
    with pytest.raises(ConcurrencyLimited):
        await invoker.admit(resolved, trigger_id="fn/http/9", wait=False)
    admitted.close()
    await invoker.admit(resolved, trigger_id="fn/kafka/0", wait=False)  # the second token
    with pytest.raises(RateLimited, match=r"^trigger fn/kafka/0 allows 0\.1 requests/s"):
        await invoker.admit(resolved, trigger_id="fn/kafka/0", wait=False)
