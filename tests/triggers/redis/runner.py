"""One RedisSubscriber in a process of its own, for the takeover test to SIGKILL.

    python -m tests.triggers.redis.runner --url URL --stream S --consumer C \\
        --reply-stream R --dead-letter D [--claim-idle 1s] [--max-in-flight 32] [--poison-every 97]

The function is a trivial in-process Dispatch: it answers an entry `{data: N}` with N,
and fails when N is a multiple of --poison-every, so that entry is dead-lettered. It
prints `ready` once consuming; on SIGTERM it stops gracefully and prints its state as
JSON. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal

from runtime_adapters.base import InvocationResult
from tests.triggers.kit import FakeDispatch, eventually, ok
from triggers.base import CloudEvent
from triggers.redis.config import RedisTriggerConfig
from triggers.redis.subscriber import RedisSubscriber

GROUP_OF = "fn"  # the group is gaia-fn


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--stream", required=True)
    parser.add_argument("--consumer", required=True)
    parser.add_argument("--reply-stream", required=True)
    parser.add_argument("--dead-letter", required=True)
    parser.add_argument("--claim-idle", default="1s")
    parser.add_argument("--max-in-flight", type=int, default=32)
    parser.add_argument("--poison-every", type=int, default=97)
    return parser.parse_args()


async def _run(args: argparse.Namespace) -> None:
    config = RedisTriggerConfig.model_validate(
        {
            "url": args.url,
            "stream": args.stream,
            "start": "earliest",
            "ordering": "none",
            "max_in_flight": args.max_in_flight,
            "retries": 1,
            "backoff": {"initial": "1ms", "max": "10ms"},
            "dead_letter": args.dead_letter,
            "reply_stream": args.reply_stream,
            "claim_idle": args.claim_idle,
        }
    )

    async def answer(event: CloudEvent) -> InvocationResult:
        number = int(event["data"])
        if number % args.poison_every == 0:
            raise ValueError(f"{number} is poison")
        return ok(str(number).encode())

    subscriber = RedisSubscriber(
        trigger_id=f"{GROUP_OF}/redis/0",
        function=GROUP_OF,
        config=config,
        dispatch=FakeDispatch(answer=answer),
        replica=args.consumer,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await subscriber.start()
    await eventually(lambda: subscriber.state().status == "running", what="consuming")
    print("ready", flush=True)
    await stop.wait()
    await subscriber.stop(timeout_s=10)
    print(json.dumps(subscriber.state().to_dict()), flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_run(_arguments()))
