"""Processing a batch of events so that nothing a citizen must be told can be lost in a crash.

The rule: a table write that marks an event as handled (dedupe state, released holds) must never be
durable before the messages that event produced are acknowledged by Kafka. Otherwise a worker killed in
between re-reads the event (its offset was not committed), finds it already handled, and the messages are
gone. Faust's RocksDB store writes locally at once, and ``topic.send`` only buffers, so the agents:

1. compute every event of a batch against an overlay of the batch's own pending writes (pure code);
2. send everything the batch produced and wait for every acknowledgement;
3. only then apply the table writes, each under its own event (Faust picks the changelog partition from
   the event being processed).

If Kafka refuses a send, the worker exits at once without acknowledging the batch: the restarted worker
re-reads it (at-least-once), and deterministic tracking ids let the dispatcher's sent-log drop repeats.
Waiting once per batch, not per record, keeps the stage fast.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import faust
from faust.streams import _current_event  # Faust's own notion of "the event being processed"

log = logging.getLogger("hoso.streams.batching")

BATCH_MAX = 500
BATCH_WITHIN_S = 0.005
EXIT_KAFKA_REFUSED = 75  # EX_TEMPFAIL: restart me


_DELETE = object()


class Batch:
    """Pending table writes and sends of one batch of events."""

    def __init__(self, tables: dict[str, Any]) -> None:
        self._tables = tables
        self._overlay: dict[tuple[str, bytes], object] = {}
        self._writes: list[tuple[faust.EventT, str, bytes, object]] = []
        self._sends: list[tuple[faust.TopicT, bytes | None, bytes]] = []

    def get(self, table: str, key: bytes) -> bytes | None:
        """A table value as this batch has left it so far."""
        value = self._overlay.get((table, key), None)
        if (table, key) not in self._overlay:
            return self._tables[table].get(key)
        return None if value is _DELETE else value  # type: ignore[return-value]

    def put(self, event: faust.EventT, table: str, key: bytes, value: bytes | None) -> None:
        """Stage a write (None deletes) for after the batch's sends are acknowledged."""
        staged: object = _DELETE if value is None else value
        self._overlay[(table, key)] = staged
        self._writes.append((event, table, key, staged))

    def send(self, topic: faust.TopicT, key: bytes | None, value: bytes) -> None:
        """Stage a record to produce."""
        self._sends.append((topic, key, value))

    async def flush(self) -> None:
        """Send everything, wait for every acknowledgement, then apply the table writes."""
        try:
            futures = [await topic.send(key=key, value=value, force=True) for topic, key, value in self._sends]
            if futures:
                await asyncio.gather(*futures)
        except Exception:
            log.critical("Kafka did not acknowledge this batch's records; exiting so that it is re-read")
            logging.shutdown()
            os._exit(EXIT_KAFKA_REFUSED)
        for event, table, key, value in self._writes:
            with processing(event):
                if value is _DELETE:
                    if key in self._tables[table]:
                        del self._tables[table][key]
                else:
                    self._tables[table][key] = value


async def send_acknowledged(sends: list[tuple[faust.TopicT, bytes | None, bytes]]) -> None:
    """Send records and wait for Kafka's acknowledgements; exit the worker if Kafka refuses them."""
    batch = Batch({})
    for topic, key, value in sends:
        batch.send(topic, key, value)
    await batch.flush()


@contextmanager
def processing(event: faust.EventT) -> Iterator[None]:
    """Make ``event`` Faust's current event while a table is written on its behalf."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
