"""The knobs of the lifecycle rules, and the quiet-hours clock, as plain values (no settings, no I/O).

Settings are read once by ``Rules.from_settings``; everything below takes ``now`` as an argument, so tests
move time by passing a different datetime instead of sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hoso.errors import ConfigurationError
from hoso.quiet_hours import QuietHours
from hoso.settings import Settings
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
    max_sequence_jump: int = 10_000
    """A larger step past the dossier's last sequence is parked for review (one bad ``sequence = 2**63-1``
    would otherwise make every later real event stale, silently and forever)."""
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
        if settings.max_sequence_jump < 1:
            problems.append("HOSO_MAX_SEQUENCE_JUMP")
        if problems:
            raise ConfigurationError("must be >= 0 (HOSO_MAX_SEQUENCE_JUMP >= 1): " + ", ".join(problems))
        registry = settings.accounts
        return cls(
            pseudonym_key=settings.pseudonym_key.get_secret_value(),
            oa_id=registry.default_oa,
            oa_by_province=tuple((p, oa.oa_id) for oa in registry.oas.values() for p in oa.provinces),
            reorder_hold=timedelta(seconds=settings.reorder_hold_s),
            low_value_throttle=timedelta(seconds=settings.low_value_throttle_s),
            collapse_window=timedelta(seconds=settings.collapse_window_s),
            settle=timedelta(seconds=settings.settle_s),
            quiet=QuietHours.parse(settings.quiet_hours),
            survey_delay=timedelta(seconds=settings.survey_delay_s) if settings.survey_delay_s >= 0 else None,
            max_sequence_jump=settings.max_sequence_jump,
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
