"""The quiet-hours clock: a daily Vietnam-time window when non-emergency messages wait.

Shared by the streams (which defer messages created inside the window) and the dispatcher (which re-checks
it at send time, because a retry, a backlog or a replay can reach Zalo hours after the message was made).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from hoso.errors import ConfigurationError
from schemas.common import VN_TZ


@dataclass(frozen=True)
class QuietHours:
    """A daily window in Vietnam time (may wrap midnight) when non-emergency messages wait."""

    start: time
    end: time

    @classmethod
    def parse(cls, spec: str) -> QuietHours | None:
        """``"21:00-07:00"`` → QuietHours; empty → None (no quiet hours)."""
        spec = spec.strip()
        if not spec:
            return None
        try:
            a, b = (part.strip() for part in spec.split("-"))
            start, end = time.fromisoformat(a), time.fromisoformat(b)
        except ValueError as exc:
            raise ConfigurationError(f"HOSO_QUIET_HOURS={spec!r}: expected HH:MM-HH:MM, e.g. 21:00-07:00") from exc
        if start == end:
            raise ConfigurationError(f"HOSO_QUIET_HOURS={spec!r}: start and end are the same time")
        return cls(start, end)

    def contains(self, now: datetime) -> bool:
        """True when ``now`` falls inside the window."""
        t = now.astimezone(VN_TZ).time()
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def ends_after(self, now: datetime) -> datetime:
        """The first end of the window after ``now`` (the time deferred messages are released)."""
        local = now.astimezone(VN_TZ)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return end if end > local else end + timedelta(days=1)
