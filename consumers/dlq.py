"""The dead-letter topic, for operators: list what is there and replay it to the notifications topic.

A replayed notification keeps its tracking id, so if Zalo did accept an earlier attempt the dispatcher's
sent-log recognises it and nothing is sent twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from kafka import KafkaProducer

from hoso.kafka.read_to_end import records_to_end
from hoso.kafka.sync_client import open_client
from schemas import codec
from schemas.notification import Notification
from schemas.topics import Topics


@dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic."""

    offset: int
    key: bytes | None
    tracking_id: str
    oa_id: str
    reason: str
    attempts: int
    dead_at: str
    notification: dict[str, Any]


def read(client: dict[str, Any], topics: Topics) -> Iterator[DeadLetter]:
    """Every dead letter currently on the topic, oldest first."""
    for r in records_to_end(client, topics.notifications_dead.name):
        yield _letter(r.offset, r.key, r.value)


def _letter(offset: int, key: bytes | None, raw: bytes | None) -> DeadLetter:
    """One dead letter, whatever shape it has: a raw one (``notification`` null, not a dict, or not JSON at
    all) is listed with what can be read of it, never skipped and never a crash."""
    try:
        item: Any = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        item = None
    if not isinstance(item, dict):
        return DeadLetter(offset, key, "", "", "not a dead-letter record (unreadable value)", 0, "", {})
    n = item.get("notification")
    n = n if isinstance(n, dict) else {}
    try:
        attempts = int(item.get("attempts") or 0)
    except (TypeError, ValueError):
        attempts = 0
    return DeadLetter(
        offset=offset,
        key=key,
        tracking_id=str(n.get("tracking_id") or ""),
        oa_id=str(n.get("oa_id") or ""),
        reason=str(item.get("reason") or ""),
        attempts=attempts,
        dead_at=str(item.get("dead_at") or ""),
        notification=n,
    )


def replay(client: dict[str, Any], topics: Topics, letters: list[DeadLetter], *, dry_run: bool = False) -> int:
    """Put the notifications back on the notifications topic (validated); returns how many.

    ``dry_run`` validates every letter and returns the count without publishing anything.
    """
    if dry_run:
        for letter in letters:
            n, problems = codec.validate(Notification, letter.notification)
            if n is None:
                raise ValueError(f"dead letter at offset {letter.offset} is not a valid notification: {problems}")
        return len(letters)
    producer = open_client(KafkaProducer, **client, acks="all", enable_idempotence=True)
    try:
        futures = []
        for letter in letters:
            n, problems = codec.validate(Notification, letter.notification)
            if n is None:
                raise ValueError(f"dead letter at offset {letter.offset} is not a valid notification: {problems}")
            futures.append(producer.send(topics.notifications.name, key=n.key.encode(), value=codec.dumps(n)))
        producer.flush()
        for f in futures:
            f.get(timeout=30)
        return len(futures)
    finally:
        producer.close()
