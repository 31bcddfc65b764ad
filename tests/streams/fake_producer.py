"""Wiring a stand-in producer into a Faust app under test, for agent records and table changelogs alike."""

from __future__ import annotations

import asyncio
from typing import Any


def use_producer(app: Any, producer: Any) -> None:
    """Make ``producer`` the one every send of ``app`` (a ``StreamsApp``) goes through.

    Agents send through ``maybe_start_producer``; table writes hand their changelog records to Faust's
    producer buffer, a service these tests never start. Publishing them straight away, in order, lets the
    changelog acknowledgements the pipeline waits for (``streams.batching``) come from ``producer`` too.
    """

    async def started() -> Any:
        return producer

    publishing: set[asyncio.Task] = set()

    def send_soon(fut: Any) -> None:
        task = asyncio.ensure_future(fut.message.channel.publish_message(fut, wait=False))
        publishing.add(task)
        task.add_done_callback(publishing.discard)

    app.app.maybe_start_producer = started
    app.app.producer.send_soon = send_soon
