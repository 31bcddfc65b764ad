"""Simulated wall clock and Vietnam-local calendar helpers.

Quota days and the 22:00-06:00 night ban follow Asia/Ho_Chi_Minh time.  Tests
must be able to move through those boundaries without waiting, so every time
read in the simulator goes through ``SimClock``: an injectable base clock plus
an adjustable offset (``POST /_sim/clock``).  Vietnam has used UTC+7 without
daylight saving since 1975, so a fixed offset is exact and needs no tz database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

VN_UTC_OFFSET_S = 7 * 3600
VN_TZ = timezone(timedelta(seconds=VN_UTC_OFFSET_S), "Asia/Ho_Chi_Minh")
_DAY_S = 86400
NIGHT_START_S = 22 * 3600
NIGHT_END_S = 6 * 3600


class SimClock:
    """Epoch-seconds clock: ``base() + offset``; the offset can be shifted at run time."""

    __slots__ = ("_base", "offset_s")

    def __init__(self, base: Callable[[], float] = time.time) -> None:
        self._base = base
        self.offset_s = 0.0

    def now(self) -> float:
        """Current simulated time in epoch seconds."""
        return self._base() + self.offset_s

    def now_ms(self) -> int:
        """Current simulated time in epoch milliseconds (Zalo's timestamp unit)."""
        return int((self._base() + self.offset_s) * 1000)

    def shift(self, seconds: float) -> None:
        """Move simulated time forward (or back, with a negative value)."""
        self.offset_s += seconds

    def set(self, epoch_s: float) -> None:
        """Jump simulated time to an absolute instant."""
        self.offset_s = epoch_s - self._base()


def vn_day(epoch_s: float) -> int:
    """Day number (days since 1970-01-01 in Vietnam) used as the quota-day key."""
    return int((epoch_s + VN_UTC_OFFSET_S) // _DAY_S)


def vn_day_iso(day: int) -> str:
    """Render a ``vn_day`` number as YYYY-MM-DD."""
    return datetime.fromtimestamp(day * _DAY_S, UTC).date().isoformat()


def is_vn_night(epoch_s: float) -> bool:
    """True between 22:00 and 06:00 Vietnam time, when templates may not be sent."""
    second_of_day = (epoch_s + VN_UTC_OFFSET_S) % _DAY_S
    return second_of_day >= NIGHT_START_S or second_of_day < NIGHT_END_S


def vn_iso(epoch_s: float) -> str:
    """Vietnam-local ISO timestamp, for humans reading /_sim/ output."""
    return datetime.fromtimestamp(epoch_s, VN_TZ).isoformat(timespec="milliseconds")
