"""Where a notification goes when it cannot be sent now: a delayed retry tier, the deferred topic, or the
dead-letter topic. Delays live in Kafka (record headers), never only in memory, so a restart loses nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.common import VN_TZ
from schemas.topics import Topics

TIER_DELAYS_S = (5.0, 60.0, 600.0)
ATTEMPT = "hoso-attempt"
NOT_BEFORE = "hoso-not-before"
REASON = "hoso-reason"


@dataclass(frozen=True)
class RetrySchedule:
    """Rounds after the first: which tier topic and how long it waits. Past the last, dead-letter."""

    tiers: tuple[tuple[str, float], ...]

    @classmethod
    def for_topics(cls, topics: Topics, max_rounds: int = 6) -> RetrySchedule:
        """``max_rounds`` delivery rounds in all: the first, then tier 1 (5 s), tier 2 (1 min), tier 3 (10 min)
        for every further round; after the last round, the dead-letter topic."""
        tiers = [
            (topics.notifications_retry_1.name, TIER_DELAYS_S[0]),
            (topics.notifications_retry_2.name, TIER_DELAYS_S[1]),
        ]
        rounds_after_first = max(0, max_rounds - 1)
        while len(tiers) < rounds_after_first:
            tiers.append((topics.notifications_retry_3.name, TIER_DELAYS_S[2]))
        return cls(tuple(tiers[:rounds_after_first]))

    @property
    def longest(self) -> tuple[str, float] | None:
        """The slowest tier (where OA-wide holds wait, so each tier's records stay in due-time order)."""
        return self.tiers[-1] if self.tiers else None

    def next(self, rounds_done: int) -> tuple[str, float] | None:
        """Topic and delay for the next round, or None when the message should be dead-lettered."""
        return self.tiers[rounds_done - 1] if rounds_done - 1 < len(self.tiers) else None


def headers(attempt: int, not_before: float, reason: str) -> list[tuple[str, bytes]]:
    """Kafka headers of a parked record."""
    return [
        (ATTEMPT, str(attempt).encode()),
        (NOT_BEFORE, str(int(not_before * 1000)).encode()),
        (REASON, reason[:200].encode()),
    ]


def read_headers(raw: Sequence[tuple[str, bytes]] | None) -> tuple[int, float]:
    """(rounds done, not-before epoch seconds) from a record's headers; (0, 0) for a fresh record."""
    attempt, not_before = 0, 0.0
    for name, value in raw or ():
        try:
            if name == ATTEMPT:
                attempt = int(value)
            elif name == NOT_BEFORE:
                not_before = int(value) / 1000
        except ValueError:
            continue
    return attempt, not_before


def next_vn_time(hour: int, now: float | None = None) -> float:
    """Epoch seconds of the next HH:00 in Vietnam (06:00 after a night ban, 00:00 for a quota reset)."""
    current = datetime.fromtimestamp(time.time() if now is None else now, VN_TZ)
    target = current.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= current:
        target += timedelta(days=1)
    return target.timestamp()
