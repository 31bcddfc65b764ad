"""Who an area alert reaches, as plain code: followers of dossiers handled in the area, each person once.

A dossier's area is where it is handled (``ma_dvhc``: province and commune), kept in its state; its followers
are the people who consented to hear about it. Someone following several dossiers in the area is one
recipient (keyed by the pseudonymous subscriber id).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kafka.partitioner.default import murmur2

from schemas.broadcast import AreaLevel, Broadcast
from streams import followers as fol
from streams.lifecycle import DossierState


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (murmur2, as the publishers and Faust use)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def in_area(state: DossierState, broadcast: Broadcast) -> bool:
    """True when the dossier is handled in the alert's province or commune."""
    if broadcast.area_level is AreaLevel.PROVINCE:
        return state.ma_tinh == broadcast.area_code
    return state.ma_xa == broadcast.area_code


def recipients(
    dossiers: Iterable[tuple[bytes, bytes | None]],
    followers_of: Any,
    broadcast: Broadcast,
) -> dict[str, dict[str, Any]]:
    """``subscriber_id -> follower`` for every follower of a dossier in the area, deduplicated.

    ``dossiers`` yields ``(key, state bytes)``; ``followers_of(key)`` returns the followers table bytes.
    """
    out: dict[str, dict[str, Any]] = {}
    for key, raw in dossiers:
        state = DossierState.from_bytes(raw)
        if state is None or not in_area(state, broadcast):
            continue
        for sid, follower in sorted(fol.decode(followers_of(key)).items()):
            out.setdefault(sid, follower)
    return out
