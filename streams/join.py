"""The join step as plain code: one dossier event in, table updates and notifications out.

The Faust agent only moves bytes between Kafka and this function, so everything that decides what a
citizen is told can be tested without a broker, and the same code runs under Faust's test context.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

import orjson

from schemas.codec import decode_event
from schemas.common import iso_vn
from schemas.dossier_event import DossierEvent
from schemas.problems import Problem
from streams import followers as fol
from streams.dossier_state import DossierState
from streams.engine import FOREIGN, Engine, Outcome
from streams.hold import Hold

KEPT_BYTES = 256 * 1024  # of a rejected record kept on the invalid-events topic


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


def refusal(verdict: str, event: DossierEvent, owner: str | None, max_jump: int) -> Problem:
    """Why an event was refused rather than applied, for the invalid-events topic (operators review it there)."""
    if verdict == FOREIGN:
        return Problem(
            "source_system",
            f"dossier {event.key} belongs to agency {owner}; an event from {event.source_system} cannot change it",
        )
    return Problem(
        "sequence",
        f"sequence {event.sequence} leaps past the dossier's last one by more than {max_jump} and more than "
        "doubles it: held for review, not applied (re-publish it once checked, or fix the sender's counter)",
    )


def join(
    engine: Engine,
    event: DossierEvent,
    state_raw: bytes | None,
    hold_raw: bytes | None,
    followers_raw: bytes | None,
    now: datetime,
) -> Outcome:
    """Apply one valid event to the dossier's table values: order, dedupe, rules, rendered notifications."""
    return engine.receive(
        DossierState.from_bytes(state_raw), Hold.from_bytes(hold_raw), fol.decode_all(followers_raw), event, now
    )


def release(
    engine: Engine, state_raw: bytes | None, hold_raw: bytes | None, followers_raw: bytes | None, now: datetime
) -> Outcome:
    """Release what the dossier holds that is due at ``now`` (called for a timer's tick)."""
    return engine.tick(
        DossierState.from_bytes(state_raw), Hold.from_bytes(hold_raw), fol.decode_all(followers_raw), now
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
    """The record written to the invalid-events topic: the original bytes and every problem found.

    Base64 grows bytes by a third, so a rejected record near Kafka's 1 MB limit could not be parked whole;
    past ``KEPT_BYTES`` only its head is kept, with its size and SHA-256 so the agency can match it.
    """
    kept = value
    if value is not None and len(value) > KEPT_BYTES:
        kept = value[:KEPT_BYTES]
    return orjson.dumps(
        {
            "problems": [p.to_dict() for p in problems],
            "source": {"topic": topic, "partition": partition, "offset": offset},
            "key_b64": base64.b64encode(key[:1024]).decode() if key is not None else None,
            "value_b64": base64.b64encode(kept).decode() if kept is not None else None,
            "value_size": len(value) if value is not None else None,
            "value_sha256": hashlib.sha256(value).hexdigest() if value is not None else None,
            "truncated": kept is not value,
            "received_at": iso_vn(now),
        }
    )
