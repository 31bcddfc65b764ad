"""A bounded memory of recently accepted webhook ids: answers Zalo's quick retries without a Kafka write.

Filled from Kafka at start and while running (replay.py), so it also refuses replays inside the freshness
window after a restart; the streams' dedupe table remains the guarantee that a retried call has one effect.
"""

from __future__ import annotations

from collections import OrderedDict


class RecentIds:
    """Least-recently-seen eviction over at most ``capacity`` ids."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: str) -> None:
        """Remember ``event_id``, forgetting the oldest beyond capacity."""
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
