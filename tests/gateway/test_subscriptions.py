"""Subscriptions: queue triggers follow the stored state; TargetDispatch invokes targets."""

from __future__ import annotations

from collections.abc import Callable

from gateway.config import GaiaFile
from gateway.control import ControlPlane
from gateway.invoker import Invoker
from gateway.metrics import Metrics
from gateway.store import TriggerRecord
from gateway.subscriptions import Subscriptions, TargetDispatch, TargetUnresolved
from routing.names import Target
from runtime_adapters.base import FunctionFailed, Invocation, RevisionSpec
from runtime_adapters.memory import MemoryRuntime
from triggers.base import Dispatch, Subscriber
from triggers.state import TriggerState

Parse = Callable[..., GaiaFile]


class FakeSubscriber(Subscriber):
    kind = "kafka"

    def __init__(self, record: TriggerRecord, dispatch: Dispatch, log: list[str]) -> None:
        self.record, self.dispatch, self.log = record, dispatch, log

    async def start(self) -> None:
        self.log.append(f"start {self.record.id} retries={self.record.spec['retries']}")

    async def stop(self, *, timeout_s: float) -> None:
        self.log.append(f"stop {self.record.id}")

    def state(self) -> TriggerState:
        return TriggerState(status="running", processed=len(self.log))


def yaml(*, retries: int = 2, with_trigger: bool = True) -> str:
    trigger = (
        f"""
    triggers:
      - kafka: {{brokers: "a:9092", topic: orders, retries: {retries}, alias: prod}}
"""
        if with_trigger
        else ""
    )
    return f"""
functions:
  fn:
    code: ./fn
    aliases:
      prod: {{traffic: [{{revision: latest, percent: 100}}]}}
{trigger}"""


def subscriptions(control: ControlPlane, log: list[str]) -> Subscriptions:
    subs = Subscriptions(
        invoker=Invoker(control=control, metrics=Metrics()),
        drain_timeout_s=1.0,
        replica="test",
        build=lambda record, context: FakeSubscriber(record, context.dispatch, log),
    )
    control.add_listener(subs.sync)
    return subs


async def test_queue_triggers_start_stop_and_restart_with_the_stored_state(
    control: ControlPlane, gaia_file: Parse
) -> None:
    log: list[str] = []
    subs = subscriptions(control, log)
    code = {"fn": "def handler(e, c): pass"}
    await control.apply(gaia_file(yaml(), code=code))
    assert log == ["start fn/kafka/0 retries=2"]
    assert subs.state_of("fn/kafka/0") == TriggerState(status="running", processed=1)

    await control.apply(gaia_file(yaml(), code=code))
    assert log == ["start fn/kafka/0 retries=2"], "an unchanged trigger keeps running"

    await control.apply(gaia_file(yaml(retries=5), code=code))
    assert log[1:] == ["stop fn/kafka/0", "start fn/kafka/0 retries=5"]

    await control.apply(gaia_file(yaml(with_trigger=False), code=code))
    assert log[3:] == ["stop fn/kafka/0"]
    assert subs.state_of("fn/kafka/0") is None

    await control.apply(gaia_file(yaml(), code=code))
    await subs.aclose()
    assert log[-1] == "stop fn/kafka/0"


async def test_target_dispatch_names_the_revision_that_ran_and_never_raises(
    control: ControlPlane, runtime: MemoryRuntime, gaia_file: Parse
) -> None:
    def answer(invocation: Invocation, spec: RevisionSpec) -> object:
        event = invocation.event
        assert isinstance(event, dict)
        if event["data"] == "fail":
            raise ValueError("no")
        return {"seen": event["id"], "alias": invocation.alias, "trigger": invocation.trigger}

    runtime.handlers["main.handler"] = answer
    await control.apply(gaia_file(yaml(), code={"fn": "def handler(e, c): pass"}))
    dispatch = TargetDispatch(
        invoker=Invoker(control=control, metrics=Metrics()),
        target=Target(function="fn", alias="prod"),
        trigger_id="fn/kafka/0",
    )
    done = await dispatch({"id": "t/0/1", "data": "ok"}, request_id="r1", sticky_key=None)
    assert done.revision == "fn@1"
    assert not isinstance(done.outcome, Exception)
    assert b'"seen":"t/0/1"' in done.outcome.body.replace(b" ", b"")
    failed = await dispatch({"id": "t/0/2", "data": "fail"}, request_id="r2", sticky_key=None)
    assert failed.revision == "fn@1" and isinstance(failed.outcome, FunctionFailed)

    missing = TargetDispatch(
        invoker=Invoker(control=control, metrics=Metrics()),
        target=Target(function="fn", alias="nope"),
        trigger_id="fn/kafka/0",
    )
    unresolved = await missing({"id": "x"}, request_id="r3", sticky_key=None)
    assert unresolved.revision == "" and isinstance(unresolved.outcome, TargetUnresolved)
    assert unresolved.outcome.retriable and "fn:nope" in unresolved.outcome.message


SPLIT = """
functions:
  fn:
    code: ./fn
    aliases:
      prod: {{traffic: [{{revision: 1, percent: 50}}, {{revision: latest, percent: 50}}]{sticky}}}
"""


async def test_an_ordered_run_goes_to_one_revision_and_a_sticky_alias_cuts_it(
    control: ControlPlane, runtime: MemoryRuntime, gaia_file: Parse
) -> None:
    runtime.handlers["main.handler"] = lambda invocation, spec: f"{spec.function}@{spec.revision}"
    await control.apply(gaia_file(SPLIT.format(sticky=""), code={"fn": "v1"}))
    await control.apply(gaia_file(SPLIT.format(sticky=""), code={"fn": "v2"}))
    invoker = Invoker(control=control, metrics=Metrics())
    dispatch = TargetDispatch(
        invoker=invoker, target=Target(function="fn", alias="prod"), trigger_id="fn/kafka/0"
    )
    keys = [f"key-{n}" for n in range(40)]
    events = [{"id": str(n), "data": n} for n in range(40)]
    ids = [f"r{n}" for n in range(40)]

    run = await dispatch.many(events, request_ids=ids, sticky_keys=keys)
    assert len(run.outcomes) == 40, "a weighted alias splits runs, not records"
    bodies = {o.body for o in run.outcomes if not isinstance(o, Exception)}
    assert bodies == {run.revision.encode()}

    await control.apply(
        gaia_file(SPLIT.format(sticky=", sticky: 'header:x-key'"), code={"fn": "v2"})
    )
    sticky_run = await dispatch.many(events, request_ids=ids, sticky_keys=keys)

    # Each key keeps its revision: the run ends before the first key that goes elsewhere.
    def owner(key: str) -> bytes:
        return invoker.resolve(Target(function="fn", alias="prod"), sticky_key=lambda _: key).label

    owners = [owner(key) for key in keys]
    expected = next((n for n, owner in enumerate(owners) if owner != owners[0]), len(keys))
    assert 0 < expected < 40, "with 40 keys both revisions own some"
    assert len(sticky_run.outcomes) == expected
    assert sticky_run.revision.encode() == owners[0]
