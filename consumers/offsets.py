"""Which offset of each partition may be committed: the end of the contiguous run of finished records.

Records finish out of order (different recipients are sent in parallel, some slowly). Committing the
highest finished offset would skip a slow record still in flight if the process died; committing only
up to the first unfinished one never does.
"""

from __future__ import annotations

from collections.abc import Hashable


class PartitionOffsets:
    """Finished/unfinished offsets of one partition since its last committed position."""

    def __init__(self, start: int) -> None:
        self.committable = start
        self._pending: set[int] = set()
        self._done: set[int] = set()

    def started(self, offset: int) -> None:
        """A record was taken for processing."""
        self._pending.add(offset)

    def finished(self, offset: int) -> None:
        """A record reached an end (sent, recorded as failed, or handed to a retry topic)."""
        self._pending.discard(offset)
        self._done.add(offset)
        self._advance()

    def _advance(self) -> None:
        # A pending offset is never in _done, so the run of finished offsets stops before the first one.
        while self.committable in self._done:
            self._done.discard(self.committable)
            self.committable += 1
        if not self._pending and self._done:
            # Gaps in offsets (compaction, transaction markers) are not records: once nothing is pending,
            # everything finished is committable.
            self.committable = max(self.committable, max(self._done) + 1)
            self._done.clear()

    @property
    def in_flight(self) -> int:
        """Records taken but not finished."""
        return len(self._pending)


class OffsetTracker:
    """Committable offsets for every assigned partition."""

    def __init__(self) -> None:
        self._parts: dict[Hashable, PartitionOffsets] = {}

    def started(self, tp: Hashable, offset: int) -> PartitionOffsets:
        """Record that ``offset`` of ``tp`` is being processed; returns the partition's current generation.

        Callers finish records on that object: after a revocation the partition gets a fresh one, so a late
        finish from before the revocation cannot move the new owner's commit position.
        """
        part = self._parts.get(tp)
        if part is None:
            part = self._parts[tp] = PartitionOffsets(offset)
        part.started(offset)
        return part

    def in_flight_of(self, tps: list[Hashable]) -> int:
        """Unfinished records of some partitions."""
        return sum(self._parts[tp].in_flight for tp in tps if tp in self._parts)

    def finished(self, tp: Hashable, offset: int) -> None:
        """Record that ``offset`` of ``tp`` reached an end."""
        self._parts[tp].finished(offset)

    def committable(self) -> dict[Hashable, int]:
        """Next offset to commit per partition (Kafka's convention: the first record not yet done)."""
        return {tp: p.committable for tp, p in self._parts.items()}

    def forget(self, tps: list[Hashable]) -> None:
        """Drop revoked partitions; their unfinished records will be processed again by the new owner."""
        for tp in tps:
            self._parts.pop(tp, None)

    @property
    def in_flight(self) -> int:
        """Records taken but not finished, over all partitions."""
        return sum(p.in_flight for p in self._parts.values())
