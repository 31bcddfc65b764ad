"""The knobs of the lifecycle rules, and the quiet-hours clock, as plain values (no settings, no I/O).

Settings are read once by ``Rules.from_settings``; everything below takes ``now`` as an argument, so tests
move time by passing a different datetime instead of sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from hoso.accounts import load_registry
from hoso.errors import ConfigurationError
from hoso.settings import Settings
from schemas.common import VN_TZ
from schemas.dossier_event import Status

LOW_VALUE: frozenset[Status] = frozenset({Status.IN_PROCESS, Status.TRANSFERRED})
"""Hand-overs inside the administration: worth telling, not worth telling often."""

FINISHED: frozenset[Status] = frozenset(
    {
        Status.REJECTED_AT_INTAKE,
        Status.STOPPED,
        Status.RESULT_READY,
        Status.RESULT_RETURNED,
        Status.SURVEY_INVITED,
        Status.SURVEY_SUBMITTED,
    }
)
"""Processing is over (766 index: the first of "đã xử lý xong", "đã trả", "dừng/từ chối"); nothing can be late."""


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


@dataclass(frozen=True)
class Rules:
    """Everything the lifecycle engine needs to decide what a citizen is told, and when."""

    pseudonym_key: str
    oa_id: str
    oa_by_province: tuple[tuple[str, str], ...] = ()
    reorder_hold: timedelta = timedelta(seconds=5)
    low_value_throttle: timedelta = timedelta(days=1)
    collapse_window: timedelta = timedelta(minutes=10)
    settle: timedelta = timedelta(seconds=5)
    quiet: QuietHours | None = None
    survey_delay: timedelta | None = timedelta(hours=2)
    partial_wait: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        """Rules configured by ``HOSO_*`` settings; a bad value fails here, at worker start-up."""
        problems = [
            name
            for name, value in (
                ("HOSO_REORDER_HOLD_S", settings.reorder_hold_s),
                ("HOSO_LOW_VALUE_THROTTLE_S", settings.low_value_throttle_s),
                ("HOSO_COLLAPSE_WINDOW_S", settings.collapse_window_s),
                ("HOSO_SETTLE_S", settings.settle_s),
                ("HOSO_PARTIAL_WAIT_S", settings.partial_wait_s),
            )
            if value < 0
        ]
        if problems:
            raise ConfigurationError("must be >= 0: " + ", ".join(problems))
        registry = load_registry(Path(settings.oa_config) if settings.oa_config else None, settings.default_oa_id)
        return cls(
            pseudonym_key=settings.pseudonym_key,
            oa_id=registry.default_oa,
            oa_by_province=tuple((p, oa.oa_id) for oa in registry.oas.values() for p in oa.provinces),
            reorder_hold=timedelta(seconds=settings.reorder_hold_s),
            low_value_throttle=timedelta(seconds=settings.low_value_throttle_s),
            collapse_window=timedelta(seconds=settings.collapse_window_s),
            settle=timedelta(seconds=settings.settle_s),
            quiet=QuietHours.parse(settings.quiet_hours),
            survey_delay=timedelta(seconds=settings.survey_delay_s) if settings.survey_delay_s >= 0 else None,
            partial_wait=timedelta(seconds=settings.partial_wait_s),
        )

    def oa_for(self, province: str | None) -> str:
        """The Official Account that speaks for a province (each province has its own OA)."""
        for code, oa_id in self.oa_by_province:
            if code == province:
                return oa_id
        return self.oa_id

    def is_quiet(self, now: datetime) -> bool:
        """True when a non-emergency message created at ``now`` must wait."""
        return self.quiet is not None and self.quiet.contains(now)
