"""A worker commits an offset only when every record below it was finished by an agent or is not in the log.

Faust (0.15.3) decides what to commit from the offsets its streams acknowledged, and three of its shortcuts let a
commit pass a record that no agent finished, which a restart then never reads again (seen once in ``hoso chaos``:
an event published while a worker rejoined was committed and never applied, see docs/reliability.md):

* a stream acknowledges the messages it skips, those fetched for an earlier assignment generation or while a
  rebalance has the flow suspended, so a record nobody processed counts as done;
* a single missing offset just above the committed one is taken for a compaction hole (the head check in
  ``Consumer._new_offset`` is off by one, faust-streaming/faust#606), and so is any hole when the committed
  offset is 0 or not yet known;
* the fetch loop records as holes the offsets it jumps over, counted from a read position that a seek resets to
  the committed offset while records fetched before the seek are still being delivered.

The guard keeps Faust's acknowledgement list but counts only the messages a stream actually took, and lets a
commit cross a missing offset only once the broker has said that the offset holds no record (a transaction
marker, a compacted or aborted record). When the broker does hold a record there and Faust no longer holds the
message anywhere (queue, take buffer, pipeline), the message was lost inside the worker: the partition is read
again from the committed offset, and the agents drop what they had already applied (dedupe state, tracking
ids). A record that keeps getting lost makes the worker exit, so a restart reads it again.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from mode import Service

from hoso import metrics
from streams import batching

log = logging.getLogger("hoso.streams.commit_guard")

HOLE_GRACE_S = 2.0
"""How long a hole below acknowledged offsets may stand before the broker is asked about it. Agents here finish
a partition's events in order, so a hole never waits on slower work; the grace lets a rebalance's re-reads land."""
CHECK_INTERVAL_S = 1.0
REREADS_BEFORE_EXIT = 5
"""Re-reads of one missing record before the worker exits and lets its restart read the partition again."""
PROBE_TIMEOUT_S = 10.0

Probe = Callable[[TP, int, int], Awaitable[list[int] | None]]
"""The offsets in ``[start, end)`` of a partition that hold records, or None when the broker did not answer."""


def next_commit(acked: list[int], head: int, empty: list[tuple[int, int]]) -> tuple[int, tuple[int, int] | None]:
    """How far a partition may be committed, and the hole that stops it from going further.

    ``acked`` is sorted, ``head`` the committed offset (the next record to read), ``empty`` the ranges
    ``[start, end)`` known to hold no record. Returns the offset to commit (``head`` when nothing moves) and the
    first hole not known to be empty, if one stops the run of acknowledged offsets.
    """
    expected = head
    for offset in acked[bisect.bisect_left(acked, head) :]:
        while offset > expected:
            end = _empty_until(empty, expected)
            if end is None:
                return expected, (expected, offset)
            expected = min(end, offset)
        if offset == expected:
            expected += 1
    return expected, None


def _empty_until(empty: list[tuple[int, int]], offset: int) -> int | None:
    """The end of the known-empty range holding ``offset``, if any."""
    i = bisect.bisect_right(empty, (offset, float("inf"))) - 1
    if i >= 0 and empty[i][0] <= offset < empty[i][1]:
        return empty[i][1]
    return None


@dataclass
class Hole:
    """Offsets ``[start, end)`` below acknowledged ones that no agent acknowledged."""

    start: int
    end: int
    since: float
    present: list[int] | None = None
    """The offsets of the hole the broker holds records at, as last asked (up to ``present_end``)."""
    present_end: int = 0


class GuardedConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, committing only past records an agent finished or the log does not hold."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._empty: dict[TP, list[tuple[int, int]]] = {}
        self._holes: dict[TP, Hole] = {}
        self._rereads: dict[tuple[TP, int], int] = {}
        self._head_before_revoke: dict[TP, int | None] = {}
        self._fetched: weakref.WeakValueDictionary[tuple[TP, int], Message] = weakref.WeakValueDictionary()
        self._sought: Mapping[TP, int | None] = {}

    @property
    def _probe(self) -> Probe | None:
        return getattr(self.app, "commit_probe", None)

    # --- what Faust counts as done ------------------------------------------------------------------
    def _to_message(self, tp: TP, record: Any) -> Any:
        message = super()._to_message(tp, record)
        if self.app.topics.acks_enabled_for(tp.topic):  # not table changelogs, read in bulk at recovery
            self._fetched[(tp, message.offset)] = message  # weak: gone once Faust lets go of the message
        return message

    def ack(self, message: Message) -> bool:
        """A message no stream took (skipped for its generation, or during a rebalance) is not done."""
        if not message.tracked:
            return False
        return super().ack(message)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """The fetch loop's own holes are not trusted; holes are settled by asking the broker."""

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        head = self._committed_offset[tp]
        if head is None:
            head = self._head_before_revoke.get(tp)
        if head is None:  # assigned but not yet sought to its committed offset: nothing is known below
            return None
        acked.sort()
        offset, hole = next_commit(acked, head, self._empty.get(tp, []))
        done = bisect.bisect_left(acked, offset)
        self._acked_index[tp].difference_update(acked[:done])
        del acked[:done]
        if hole is None:
            self._holes.pop(tp, None)
        else:
            known = self._holes.get(tp)
            if known is None or known.start != hole[0]:
                self._holes[tp] = Hole(hole[0], hole[1], time.monotonic())
            else:
                known.end = max(known.end, hole[1])
        return offset if offset > head else None

    # --- where the committed offset is known ---------------------------------------------------------
    async def seek_to_committed(self) -> Mapping[TP, int]:
        sought = await super().seek_to_committed()
        self._sought = dict(sought)
        return sought

    async def perform_seek(self) -> None:
        """Faust forgets a committed offset of 0, and has none for a partition never committed."""
        await super().perform_seek()
        never = [
            tp
            for tp, offset in self._sought.items()
            if (offset is None or offset < 0) and self.app.topics.acks_enabled_for(tp.topic)
        ]
        for tp, offset in self._sought.items():
            if offset == 0:
                self._committed_offset[tp] = 0
        if never:
            for tp, earliest in (await self.earliest_offsets(*never)).items():
                self._committed_offset[tp] = earliest or 0

    async def on_partitions_revoked(self, revoked: Set[TP]) -> None:
        """Faust drops a revoked partition's committed offset before the streams finish what they hold; the
        commit made while they finish must still start from it."""
        self._head_before_revoke = {tp: self._committed_offset.get(tp) for tp in revoked}
        for tp in revoked:
            self._holes.pop(tp, None)
            self._empty.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: Set[TP], generation_id: int = 0) -> None:
        """A new generation reads every partition from its committed offset, so no hole noted before it stands:
        the commit made while revoking can note one on a partition this member keeps, and settling it would read
        that partition again for nothing. Holes the new generation meets are noted afresh by its commits."""
        self._head_before_revoke = {}
        self._sought = {}
        self._holes.clear()
        for topic in {tp.topic for tp in assigned if self.app.topics.acks_enabled_for(tp.topic)}:
            metrics.WORKER_REREADS.labels(topic=topic)  # a series at 0: the worker guards this topic
        await super().on_partitions_assigned(assigned, generation_id)

    async def on_stop(self) -> None:
        await super().on_stop()
        close = getattr(self._probe, "close", None)
        if close is not None:
            await close()

    # --- settling holes ---------------------------------------------------------------------------------
    @Service.task
    async def _settle_holes(self) -> None:
        while not self.should_stop:
            await self.sleep(CHECK_INTERVAL_S)
            if self.app.rebalancing or not self._holes or self._probe is None:
                continue
            now = time.monotonic()
            assignment = self.assignment()
            for tp, hole in list(self._holes.items()):
                if now - hole.since >= HOLE_GRACE_S and tp in assignment and self._holes.get(tp) is hole:
                    await self._settle(tp, hole)

    async def _settle(self, tp: TP, hole: Hole) -> None:
        if hole.present is None or hole.present_end != hole.end:
            probe = self._probe
            present = await probe(tp, hole.start, hole.end) if probe is not None else None
            if present is None:
                return  # the broker did not answer: ask again on the next round
            hole.present, hole.present_end = present, hole.end
            self._mark_empty_between(tp, hole.start, hole.end, present)
        if not hole.present:
            log.info("offsets %d-%d of %s hold no record; committing past them", hole.start, hole.end - 1, tp)
            self._holes.pop(tp, None)
            return
        if any(self._still_held(tp, o) for o in hole.present):
            return  # Faust still holds it somewhere on its way to an agent
        gc.collect()  # a dropped message caught in a reference cycle would look held until collected
        if any(self._still_held(tp, o) for o in hole.present):
            return
        await self._read_again(tp, hole, hole.present[0])
        hole.present = None  # ask the broker afresh next time

    def _still_held(self, tp: TP, offset: int) -> bool:
        message = self._fetched.get((tp, offset))
        return message is not None and not message.acked

    def _mark_empty_between(self, tp: TP, start: int, end: int, present: list[int]) -> None:
        """Record the offsets of ``[start, end)`` the broker holds no record at (all but ``present``)."""
        ranges = self._empty.setdefault(tp, [])
        for low, high in zip([start, *(o + 1 for o in present)], [*present, end], strict=True):
            if low < high:
                bisect.insort(ranges, (low, high))
        head = self._committed_offset.get(tp) or 0
        ranges[:] = [r for r in ranges if r[1] > head]

    async def _read_again(self, tp: TP, hole: Hole, missing: int) -> None:
        key = (tp, missing)
        self._rereads[key] = count = self._rereads.get(key, 0) + 1
        if count > REREADS_BEFORE_EXIT:
            batching.exit_worker(f"record {tp}@{missing} was lost inside the worker {count - 1} times")
        log.warning(
            "no agent finished record %s@%d, though later records were; reading the partition again from "
            "offset %d (the agents drop what they already applied)",
            tp,
            missing,
            hole.start,
        )
        metrics.WORKER_REREADS.labels(topic=tp.topic).inc()
        hole.since = time.monotonic()
        try:
            await self._seek_in_thread(tp, hole.start)
        except Exception as exc:  # revoked meanwhile, or the consumer is stopping: the next owner reads it
            log.info("could not read %s again from %d: %r", tp, hole.start, exc)

    async def _seek_in_thread(self, tp: TP, offset: int) -> None:
        """Faust's own seek touches aiokafka from the wrong thread; this one runs in the consumer's thread."""
        thread = self._thread

        async def seek() -> None:
            thread._ensure_consumer().seek(tp, offset)

        await thread.call_thread(seek)
        self._read_offset[tp] = offset


class GuardedTransport(faust_aiokafka.Transport):
    Consumer = GuardedConsumer


class GuardedApp(faust.App):
    """A Faust app whose worker consumer is the guarded one (the producer transport is Faust's own).

    ``commit_probe`` is how the consumer asks the broker about a hole; without one, a hole simply holds the
    partition's commits back (never past an unfinished record) until the next rebalance reads it again.
    """

    commit_probe: Probe | None = None

    def _new_transport(self) -> Any:
        return GuardedTransport(self.conf.broker_consumer, self)


class BrokerProbe:
    """Asks the broker which offsets hold records, with a consumer of its own outside the group."""

    def __init__(self, client: Mapping[str, Any], timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self._client = dict(client)
        self._timeout_s = timeout_s
        self._consumer: aiokafka.AIOKafkaConsumer | None = None

    async def __call__(self, tp: TP, start: int, end: int) -> list[int] | None:
        try:
            return await asyncio.wait_for(self._offsets(tp, start, end), self._timeout_s)
        except Exception as exc:
            log.info("could not ask the broker about %s %d-%d: %r", tp, start, end - 1, exc)
            await self.close()
            return None

    async def _offsets(self, tp: TP, start: int, end: int) -> list[int]:
        if self._consumer is None:
            consumer = aiokafka.AIOKafkaConsumer(
                **self._client, group_id=None, enable_auto_commit=False, isolation_level="read_uncommitted"
            )
            await consumer.start()
            self._consumer = consumer
        consumer = self._consumer
        partition = aiokafka.TopicPartition(tp.topic, tp.partition)
        consumer.assign([partition])
        consumer.seek(partition, start)
        found: list[int] = []
        while True:
            batch = await consumer.getmany(partition, timeout_ms=500, max_records=max(1, min(500, end - start)))
            for record in batch.get(partition, []):
                if record.offset >= end:
                    return found
                found.append(record.offset)
            if await consumer.position(partition) >= end:
                return found

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()
