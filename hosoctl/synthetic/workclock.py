"""Office-hours time for synthetic traffic: a clock that only ticks 07:30–17:00 on working days.

Appointment dates are counted in working days and every business event of a one-stop system happens in office
hours, so the generator keeps time as *working seconds*: the working days from a first day on, laid end to end,
each ``WORK_DAY`` seconds long. "Three working days later" is then ``w + 3 * WORK_DAY`` and any working second
is a valid office-hours instant. Formatting is two list lookups because it runs for every timestamp of a
100k-dossier benchmark.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

from hosoctl.synthetic.reference_data import HOLIDAYS
from schemas.common import VN_TZ

WORK_DAY_START = 27_000
"""07:30, in seconds after midnight."""
WORK_DAY = 34_200
"""07:30 to 17:00 in seconds: one working day on the working-seconds clock."""


@cache
def _clock_strings() -> tuple[str, ...]:
    """``THH:MM:SS+07:00`` for every second of a day."""
    return tuple(f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+07:00" for s in range(86_400))


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a catalogue holiday."""
    return day.weekday() < 5 and day not in HOLIDAYS


class WorkCalendar:
    """Working days from ``first`` on (grown on demand), with the per-day strings events need."""

    def __init__(self, first: date) -> None:
        self.first = first
        self._next = first
        self.iso: list[str] = []
        """``2025-07-14`` per working day."""
        self.yymmdd: list[str] = []
        """``250714`` per working day: the date part of a dossier code."""
        self.vi: list[str] = []
        """``14/07/2025`` per working day, for Vietnamese notice text."""
        self._clock = _clock_strings()

    @classmethod
    def starting_at(cls, start: datetime) -> tuple[WorkCalendar, int]:
        """A calendar whose day 0 is the first working day at or after ``start``, and the working second of it.

        A naive ``start`` is taken as Vietnam time; a start outside office hours moves to the next opening.
        """
        local = start.replace(tzinfo=VN_TZ) if start.tzinfo is None else start.astimezone(VN_TZ)
        day, tod = local.date(), local.hour * 3600 + local.minute * 60 + local.second
        if tod >= WORK_DAY_START + WORK_DAY:
            day, tod = day + timedelta(days=1), 0
        while not is_working_day(day):
            day, tod = day + timedelta(days=1), 0
        return cls(day), min(max(tod - WORK_DAY_START, 0), WORK_DAY - 1)

    def _grow(self, day: int) -> None:
        while len(self.iso) <= day:
            d = self._next
            self._next = d + timedelta(days=1)
            if is_working_day(d):
                self.iso.append(d.isoformat())
                self.yymmdd.append(d.strftime("%y%m%d"))
                self.vi.append(d.strftime("%d/%m/%Y"))

    def day(self, w: int) -> int:
        """Index of the working day holding working second ``w``."""
        day = w // WORK_DAY
        if day >= len(self.iso):
            self._grow(day)
        return day

    def at(self, w: int, extra_seconds: int = 0) -> str:
        """RFC 3339 (+07:00) of working second ``w``, plus ``extra_seconds`` of real time (may pass 17:00)."""
        day, r = divmod(w, WORK_DAY)
        if day >= len(self.iso):
            self._grow(day)
        return self.iso[day] + self._clock[WORK_DAY_START + r + extra_seconds]

    def _deadline_day(self, w: int) -> tuple[int, int]:
        day, r = divmod(w, WORK_DAY)
        if r == 0 and day > 0:
            day, r = day - 1, WORK_DAY
        if day >= len(self.iso):
            self._grow(day)
        return day, r

    def deadline(self, w: int) -> str:
        """Like ``at``, but the instant between two working days reads as 17:00 of the first, as deadlines do."""
        day, r = self._deadline_day(w)
        return self.iso[day] + self._clock[WORK_DAY_START + r]

    def deadline_vi(self, w: int) -> str:
        """dd/mm/yyyy of a deadline."""
        return self.vi[self._deadline_day(w)[0]]
