"""A one-agent Faust worker for the commit-guard broker tests: it notes every offset its agent finishes.

Run as ``python -m tests.integration.guard_app BOOTSTRAP TOPIC GROUP DATADIR OUT CONSUMER LOSE``, where CONSUMER is
``guarded`` (hoso's) or ``faust`` (Faust's own) and LOSE names how one record (offset ``HOSO_TEST_LOSE_OFFSET``,
the first time it is fetched) goes missing inside the worker, the two ways Faust loses one:

* ``dropped``: it never reaches the stream (as when a rebalance cancels the fetch loop's hand-over);
* ``skipped``: the stream skips it as fetched for an earlier assignment generation, and acknowledges it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.commit_guard import BrokerProbe, GuardedConsumer


def losing(base: type, how: str, offset: int) -> type:
    """``base`` consumer class, losing the record at ``offset`` once, as ``how`` says."""

    class Losing(base):  # type: ignore[misc, valid-type]
        lost = False

        def _to_message(self, tp: Any, record: Any) -> Any:
            message = super()._to_message(tp, record)
            if how == "skipped" and record.offset == offset and not Losing.lost:
                Losing.lost = True
                message.generation_id = -1
            return message

        async def getmany(self, timeout: float) -> AsyncIterator[Any]:
            async for tp, message in super().getmany(timeout):
                if how == "dropped" and message.offset == offset and not Losing.lost:
                    Losing.lost = True
                    continue
                yield tp, message

    return Losing


def main(bootstrap: str, topic: str, group: str, datadir: str, out: str, consumer: str, lose: str) -> None:
    base = GuardedConsumer if consumer == "guarded" else faust_aiokafka.Consumer
    consumer_cls = losing(base, lose, int(os.environ.get("HOSO_TEST_LOSE_OFFSET", "5")))

    class Transport(faust_aiokafka.Transport):
        Consumer = consumer_cls

    class App(faust.App):
        def _new_transport(self) -> Any:
            return Transport(self.conf.broker_consumer, self)

    app = App(
        group,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=datadir,
        broker_commit_interval=0.5,
        consumer_auto_offset_reset="earliest",
        topic_disable_leader=True,
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    app.commit_probe = BrokerProbe({"bootstrap_servers": bootstrap})  # type: ignore[attr-defined]
    source = app.topic(topic, key_type=bytes, value_type=bytes, partitions=1)

    @app.agent(source)
    async def note(stream: faust.StreamT) -> None:
        with open(out, "a") as done:  # noqa: ASYNC230 - one line a record, the test reads the file
            async for event in stream.events():
                done.write(f"{event.message.offset}\n")
                done.flush()

    faust.Worker(app, loglevel="info", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main(*sys.argv[1:8])
