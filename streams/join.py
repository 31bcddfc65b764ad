"""The join step as plain code: one dossier event in, table updates and notifications out.

The Faust agent only moves bytes between Kafka and this function, so everything that decides what a
citizen is told can be tested without a broker, and the same code runs under Faust's test context.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from schemas.codec import decode_event
from schemas.common import iso_vn
from schemas.dossier_event import DossierEvent
from schemas.notification import Notification
from schemas.problems import Problem
from streams import followers as fol
from streams.lifecycle import DossierState, Verdict, advance, judge
from streams.notify import notifications_for


@dataclass
class JoinResult:
    """What processing one record produced; the agent writes exactly this back to Kafka."""

    outcome: str
    agency: str = "unknown"
    state: DossierState | None = None
    followers: fol.Followers | None = None
    notifications: list[Notification] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def parse(key: bytes | None, value: bytes | None) -> tuple[DossierEvent | None, list[Problem]]:
    """Validate a raw record, including that its key is the dossier code (partitioning depends on it)."""
    if value is None:
        return None, [Problem("", "empty record (tombstone) on the dossier events topic")]
    event, problems = decode_event(value)
    if event is None:
        return None, problems
    if key is None or key != event.key.encode():
        shown = "missing" if key is None else "different"
        return None, [Problem("key", f"record key is {shown}; it must be data.ma_ho_so ({event.key!r})")]
    return event, []


def join(
    event: DossierEvent,
    state_raw: bytes | None,
    followers_raw: bytes | None,
    *,
    pseudonym_key: str,
    oa_id: str,
    now: datetime,
) -> JoinResult:
    """Apply one valid event: dedupe, update state and followers, render notifications."""
    agency = event.source_system
    state = DossierState.from_bytes(state_raw)
    verdict = judge(state, event)
    if verdict is not Verdict.APPLY:
        return JoinResult(outcome=verdict.value, agency=agency)
    current = fol.decode(followers_raw)
    updated = current
    for change in fol.consent_changes(event, pseudonym_key):
        updated = fol.apply(updated, change)
    return JoinResult(
        outcome=Verdict.APPLY.value,
        agency=agency,
        state=advance(state, event),
        followers=updated if updated != current else None,
        notifications=notifications_for(event, updated, oa_id=oa_id, now=now),
    )


def invalid_envelope(
    key: bytes | None,
    value: bytes | None,
    problems: list[Problem],
    *,
    topic: str,
    partition: int,
    offset: int,
    now: datetime,
) -> bytes:
    """The record written to the invalid-events topic: the original bytes and every problem found."""
    return orjson.dumps(
        {
            "problems": [p.to_dict() for p in problems],
            "source": {"topic": topic, "partition": partition, "offset": offset},
            "key_b64": base64.b64encode(key).decode() if key is not None else None,
            "value_b64": base64.b64encode(value).decode() if value is not None else None,
            "received_at": iso_vn(now),
        }
    )
