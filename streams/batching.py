"""Processing events in pipelined batches so that nothing a citizen must be told can be lost in a crash.

The rule: a table write that marks an event as handled (dedupe state, released holds, followers) must never
be durable before the messages that event produced are acknowledged by Kafka, and an event's offset must
never be committed before its table writes are made. Otherwise a worker killed in between re-reads the
event and finds it already handled (the messages are gone), or never re-reads it (its state is gone).
Faust's RocksDB store writes locally at once and ``topic.send`` only buffers, so the batched agents:

1. compute each event of a batch against the tables as every earlier batch will leave them: the batch's
   own overlay, then the writes of batches still in flight, then the table (pure code);
2. hand everything the batch produced to the producer at once, and go on to the next batch;
3. in the background, in submission order: wait for the batch's acknowledgements, apply its table writes
   (each under its own event: Faust picks the changelog partition from the event being processed), and
   only then give the events their final ack, which lets Faust commit their offsets.

The writes of one event go to several tables, hence several changelog topics, and a worker can die with
some of them acknowledged and others not. The tables that say "this event was handled" (``markers``: the
dossier state with its applied sequence and seen ids, the chat's seen ids) are therefore written last, and
only once every other write of the batch is acknowledged. A worker that dies in between leaves the markers
behind the rest: the re-read event is applied again (the rules recompute the same holds; repeated messages
carry the same tracking ids). The other order would lose it: a restored state that says "handled" beside a
hold that never reached its changelog, and the held message with it.

Waiting for acknowledgements per batch, not per record, and not before taking the next batch, is what
keeps the stage fast: the agents stay busy while Kafka replicates. Agents that share tables share one
pipeline, so writes are applied in the order they were computed.

If Kafka refuses a send, or a table write fails, the worker exits at once: nothing of the batch was
acknowledged, so the restarted worker re-reads it (at-least-once), and deterministic tracking ids let the
dispatcher's sent-log drop repeats.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import faust
from faust.streams import _current_event  # Faust's own notion of "the event being processed"

log = logging.getLogger("hoso.streams.batching")

BATCH_MAX = 500
BATCH_WITHIN_S = 0.02
PIPELINE_DEPTH = 16
"""Batches sent but not yet acknowledged, per worker; the agents wait when this many are in flight."""
DRAIN_TIMEOUT_S = 30.0
"""How long a stopping agent waits for its batches in flight before leaving them to be re-read."""
EXIT_KAFKA_REFUSED = 75  # EX_TEMPFAIL: restart me

_DELETE = object()
Key = tuple[str, bytes]


class Batch:
    """Pending table writes and sends of one batch of events."""

    def __init__(self, pipeline: Pipeline, seq: int, events: Sequence[faust.EventT]) -> None:
        self._pipeline = pipeline
        self.seq = seq
        self.events = events
        self.overlay: dict[Key, object] = {}
        self.writes: list[tuple[faust.EventT, str, bytes, object]] = []
        self.sends: list[tuple[str, bytes | None, bytes]] = []

    def __iter__(self) -> Iterator[faust.EventT]:
        """The batch's events, each made Faust's current event while the caller handles it, so that table
        reads go straight to the event's partition (without one, Faust searches every partition)."""
        for event in self.events:
            with processing(event):
                yield event

    def get(self, table: str, key: bytes) -> bytes | None:
        """A table value as this batch, and every batch before it, will leave it."""
        value = self.overlay.get((table, key), self)
        if value is self:
            return self._pipeline.get(table, key)
        return None if value is _DELETE else value  # type: ignore[return-value]

    def put(self, event: faust.EventT, table: str, key: bytes, value: bytes | None) -> None:
        """Stage a write (None deletes) for after the batch's sends are acknowledged."""
        staged: object = _DELETE if value is None else value
        self.overlay[(table, key)] = staged
        self.writes.append((event, table, key, staged))

    def send(self, topic: faust.TopicT, key: bytes | None, value: bytes) -> None:
        """Stage a record to produce."""
        self.sends.append((topic.get_topic_name(), key, value))


class Pipeline:
    """The batches of a worker's table-writing agents: sent, then completed in order in the background."""

    def __init__(
        self,
        app: faust.App,
        tables: dict[str, Any],
        depth: int = PIPELINE_DEPTH,
        markers: frozenset[str] = frozenset(),
    ) -> None:
        self._app = app
        self._tables = tables
        self._markers = markers
        self._pending: dict[Key, tuple[int, object]] = {}
        self._in_flight: deque[tuple[Batch, asyncio.Future[list[asyncio.Future]]]] = deque()
        self._room = asyncio.Semaphore(depth)
        self._wake = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._seq = 0
        self._users = 0
        self._completer: asyncio.Task | None = None

    def get(self, table: str, key: bytes) -> bytes | None:
        """A table value as the batches in flight will leave it."""
        hit = self._pending.get((table, key))
        if hit is None:
            return self._tables[table].data.get(key)  # the store itself: one lookup in the event's partition
        return None if hit[1] is _DELETE else hit[1]  # type: ignore[return-value]

    async def batches(
        self, stream: faust.StreamT, max_: int = BATCH_MAX, within: float = BATCH_WITHIN_S
    ) -> AsyncIterator[Batch]:
        """Yield each batch of ``stream`` (iterate it for its events); submit it when the caller is done.

        Every event keeps one extra reference (Faust acks a message when its last reference goes) until
        its batch is completed, so its offset is not committed before its table writes are made.
        """
        self._users += 1
        try:
            async for events in stream.take_events(max_, within=within):
                await self._room.acquire()
                self._seq += 1
                batch = Batch(self, self._seq, events)
                for event in events:
                    event.message.incref()
                try:
                    yield batch
                except GeneratorExit:
                    # The agent's body raised mid-batch: these events would stay unfinished forever (their
                    # partitions' commits frozen, the next rebalance waiting on them), so start again.
                    exit_worker("an agent stopped in the middle of a batch")
                # No await between the caller's body and this: another agent computing its batch must
                # already see this one's writes, or it would overwrite them with what it read before.
                sent = self._register(batch)
                await self._send(batch, sent)
        finally:
            self._users -= 1
            try:
                await asyncio.wait_for(self.drain(), DRAIN_TIMEOUT_S)
            except TimeoutError:  # Kafka unreachable at shutdown: the unfinished batches are simply re-read
                log.warning("stopping with %d batches unacknowledged; they will be re-read", len(self._in_flight))
            if not self._users and self._completer is not None:
                self._completer.cancel()
                self._completer = None

    async def drain(self) -> None:
        """Wait until every submitted batch is completed."""
        if self._in_flight:
            self._ensure_completer()
            await self._empty.wait()

    def _register(self, batch: Batch) -> asyncio.Future[list[asyncio.Future]]:
        """Make the batch's writes visible to later batches and give it its place in the completion order."""
        for k, value in batch.overlay.items():
            self._pending[k] = (batch.seq, value)
        sent: asyncio.Future[list[asyncio.Future]] = asyncio.get_running_loop().create_future()
        self._in_flight.append((batch, sent))
        self._empty.clear()
        self._ensure_completer()
        self._wake.set()
        return sent

    async def _send(self, batch: Batch, sent: asyncio.Future[list[asyncio.Future]]) -> None:
        producer = await self._app.maybe_start_producer()
        try:
            futures = [
                await producer.send(topic, key, value, partition=None, timestamp=None, headers=None)
                for topic, key, value in batch.sends
            ]
        except Exception:
            exit_worker("Kafka refused a record of this batch")
        sent.set_result(futures)

    def _ensure_completer(self) -> None:
        if self._completer is None or self._completer.done():
            self._completer = asyncio.ensure_future(self._complete())

    async def _complete(self) -> None:
        while True:
            if not self._in_flight:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch, sent = self._in_flight[0]
            try:
                futures = await sent
                if futures:
                    await asyncio.gather(*futures)
            except Exception:
                exit_worker("Kafka did not acknowledge this batch's records")
            try:
                await self._apply(batch)
            except Exception:
                log.exception("writing a batch's table updates failed")
                exit_worker("a table write failed")
            self._in_flight.popleft()
            for event in batch.events:
                event.ack()
            self._room.release()
            if not self._in_flight:
                self._empty.set()

    async def _apply(self, batch: Batch) -> None:
        """Write the batch's table updates, each under its own event (Faust's changelog partition): first
        every table but the markers, then, once those changelog records are acknowledged, the markers."""
        first = [w for w in batch.writes if w[1] not in self._markers]
        last = [w for w in batch.writes if w[1] in self._markers]
        acks = [ack for w in first if (ack := self._write(*w)) is not None]
        if last and acks:
            await asyncio.gather(*acks)  # raises if Kafka refused one: the caller exits, markers unwritten
        for w in last:
            self._write(*w)
        for k in batch.overlay:
            hit = self._pending.get(k)
            if hit is not None and hit[0] == batch.seq:
                del self._pending[k]

    def _write(self, event: faust.EventT, table: str, key: bytes, value: object) -> asyncio.Future | None:
        """One table write as Faust's ``table[key] = value`` makes it (changelog record, then the store), but
        keeping the changelog record's future, which Faust drops."""
        t = self._tables[table]
        with processing(event):
            partition = t.partition_for_key(key)
            if value is _DELETE:
                if key not in t:
                    return None
                ack = t.send_changelog(partition, key, None, value_serializer="raw")
                del t.data[key]
            else:
                ack = t.send_changelog(partition, key, value)
                t.data[key] = value
        return ack


def exit_worker(reason: str) -> NoReturn:
    """Exit at once (75, EX_TEMPFAIL: restart me): the restarted worker reads again whatever was unfinished.

    The streams stage's answer to Kafka trouble it cannot ride out in place; shared with ``streams.commit_guard``
    and ``streams.recovery_guard``."""
    log.critical("%s; exiting so that a restarted worker reads again what was unfinished", reason)
    logging.shutdown()
    os._exit(EXIT_KAFKA_REFUSED)


@contextmanager
def processing(event: faust.EventT) -> Iterator[None]:
    """Make ``event`` Faust's current event while a table is written on its behalf."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
