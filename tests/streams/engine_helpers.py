"""Builders shared by the lifecycle-engine tests: an engine with known rules, and a run over many events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson

from schemas import decode_event
from schemas.common import VN_TZ
from schemas.dossier_event import DossierEvent
from schemas.notification import Notification
from streams import template_catalogue as catalogue
from streams.dossier_state import DossierState
from streams.engine import Engine, Outcome
from streams.hold import Hold
from streams.notify import NOTIFY
from streams.rules import QuietHours, Rules
from tests.factories import event

DAY = datetime(2026, 12, 1, 10, 0, tzinfo=VN_TZ)
"""A Tuesday morning after the factory's events (2026-11-28): outside quiet hours, everything in the past."""


def engine(**changes: Any) -> Engine:
    rules = Rules(
        pseudonym_key="k",
        oa_id="oa",
        reorder_hold=timedelta(seconds=5),
        low_value_throttle=timedelta(days=1),
        collapse_window=timedelta(minutes=10),
        settle=timedelta(seconds=5),
        quiet=QuietHours.parse("21:00-07:00"),
        survey_delay=timedelta(hours=2),
    )
    for k, v in changes.items():
        rules = Rules(**{**rules.__dict__, k: v})
    return Engine(rules=rules, catalogue=catalogue.load(None, NOTIFY))


def parsed(status: str, *, sequence: int, at: datetime, **kw: Any) -> DossierEvent:
    raw = event(status, sequence=sequence, **kw)
    raw["occurred_at"] = at.isoformat()
    raw["emitted_at"] = at.isoformat()
    e, problems = decode_event(orjson.dumps(raw))
    assert e is not None, problems
    return e


class Run:
    """One dossier through the engine: state, hold and followers carried between calls, messages collected."""

    def __init__(self, eng: Engine) -> None:
        self.eng = eng
        self.state: DossierState | None = None
        self.hold = Hold()
        self.followers: dict[str, Any] = {}
        self.sent: list[Notification] = []
        self.verdicts: list[str] = []
        self.suppressed: list[str] = []
        self.flags: list[str] = []

    def _take(self, out: Outcome) -> Outcome:
        self.state, self.hold, self.followers = out.state, out.hold, out.followers
        self.sent += out.notifications
        self.suppressed += out.suppressed
        self.flags += [f.value for f in out.flags]
        return out

    def receive(self, e: DossierEvent, now: datetime) -> Outcome:
        out = self._take(self.eng.receive(self.state, self.hold, self.followers, e, now))
        self.verdicts.append(out.verdict or "")
        return out

    def tick(self, now: datetime) -> Outcome:
        return self._take(self.eng.tick(self.state, self.hold, self.followers, now))

    def drain(self, start: datetime, step: timedelta = timedelta(hours=1), limit: int = 48) -> None:
        """Tick until nothing is held (each tick may arm a later release)."""
        now = start
        for _ in range(limit):
            if self.hold.is_empty():
                return
            self.tick(now)
            now += step
        raise AssertionError(f"still holding after {limit} ticks: {self.hold}")

    def statuses(self) -> list[str]:
        return [n.trang_thai.value if n.trang_thai else n.kind.value for n in self.sent]


def content(n: Notification) -> tuple:
    """A message as the citizen sees it and as Zalo identifies it: everything but when it was rendered."""
    d = n.model_dump(mode="json", exclude={"created_at"})
    return tuple(sorted((k, orjson.dumps(v, option=orjson.OPT_SORT_KEYS)) for k, v in d.items()))
