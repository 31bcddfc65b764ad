"""Who an area alert reaches, as plain code: followers of dossiers handled in the area, each person once.

A dossier's area is where it is handled (``ma_dvhc``: province and commune), kept in its state; its followers
are the people who consented to hear about it. Someone following several dossiers in the area is one
recipient (keyed by the pseudonymous subscriber id).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson
from kafka.partitioner.default import murmur2

from schemas.broadcast import AreaLevel, Broadcast
from schemas.codec import dumps
from schemas.notification import SendChannel, tracking_id_for
from streams import followers as fol
from streams.dossier_state import DossierState
from streams.notify import alert_for, alert_template
from streams.template_catalogue import Catalogue

NAME_CACHE = 10_000
"""Rendered template data kept per display name during one fan-out."""


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


def alert_records(
    broadcast: Broadcast, chosen: dict[str, dict[str, Any]], *, oa_id: str, now: datetime, catalogue: Catalogue
) -> Iterator[tuple[bytes, bytes]]:
    """``(key, value)`` of every recipient's alert, in subscriber order: the bytes ``alert_for`` would give.

    A province-wide alert has up to millions of recipients whose messages differ only in the tracking id,
    the addressee and the name in the template data. One message per channel is built and validated
    through ``alert_for``; each recipient's record is that message with those three parts replaced, which
    is several times cheaper than a model per person (docs/performance.md). The followers come from the
    table, where only validated subscriptions are written, and the dispatcher validates every record again.
    """
    prototypes: dict[SendChannel, dict[str, Any]] = {}
    data_by_name: dict[tuple[SendChannel, str | None], dict[str, str]] = {}
    tracking_prefix = f"broadcast:{broadcast.broadcast_id}"
    for sid, follower in sorted(chosen.items()):
        name, phone, user_id = follower.get("ho_ten_hien_thi"), follower.get("phone"), follower.get("zalo_user_id")
        channel = SendChannel.ZBS_PHONE if phone else SendChannel.OA_TEXT
        prototype = prototypes.get(channel)
        if prototype is None:
            n = alert_for(broadcast, sid, follower, oa_id=oa_id, now=now, catalogue=catalogue)
            prototype = prototypes[channel] = orjson.loads(dumps(n))
        data = data_by_name.get((channel, name))
        if data is None:
            if len(data_by_name) >= NAME_CACHE:  # names repeat a lot, but not without bound
                data_by_name.clear()
            _, data = alert_template(broadcast, channel, name, oa_id=oa_id, catalogue=catalogue)
            data_by_name[(channel, name)] = data
        to: dict[str, str | bool] = {"subscriber_id": sid}
        if phone:
            to["phone"] = phone
        if user_id:
            to["zalo_user_id"] = user_id
        if name:
            to["ho_ten_hien_thi"] = name
        if follower.get("dong_y_sms"):
            to["dong_y_sms"] = True
        record = {**prototype, "tracking_id": tracking_id_for(tracking_prefix, sid), "to": to, "template_data": data}
        yield sid.encode(), orjson.dumps(record)
