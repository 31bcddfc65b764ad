"""Who an area alert reaches, as plain code: followers of dossiers handled in the area, each person once.

A dossier's area is where it is handled (``ma_dvhc``: province and commune), kept in its state; its followers
are the people who consented to hear about it. Someone following several dossiers in the area is one
recipient (keyed by the pseudonymous subscriber id).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson

from schemas.broadcast import AreaLevel, Broadcast
from schemas.codec import dumps
from schemas.notification import SendChannel
from streams import followers as fol
from streams.dossier_state import DossierState
from streams.notify import alert_for, alert_template
from streams.template_catalogue import Catalogue

NAME_CACHE = 10_000
"""Rendered template data kept per display name during one fan-out."""

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF
_WORDS = [struct.Struct(f"<{n}I") for n in range(64)]


def murmur2(key: bytes, _m: int = _M, _mask: int = _MASK) -> int:
    """Kafka's murmur2 of ``key`` (what the Java client and kafka-python compute), as an unsigned 32-bit int.

    The same arithmetic as kafka-python's pure-Python version, reading the key's 4-byte words with one
    ``struct`` call instead of byte by byte and masking once per step: about twice as fast, which matters
    when a broadcast places a million keys (docs/performance.md).
    """
    length = len(key)
    h = 0x9747B28C ^ length
    words = _WORDS[length >> 2] if length >> 2 < len(_WORDS) else struct.Struct(f"<{length >> 2}I")
    for k in words.unpack_from(key):
        k = k * _m & _mask
        h = (h * _m ^ (k ^ k >> 24) * _m) & _mask
    tail = length & 3
    if tail:
        base = length - tail
        if tail == 3:
            h ^= key[base + 2] << 16
        if tail >= 2:
            h ^= key[base + 1] << 8
        h = (h ^ key[base]) * _m & _mask
    h = (h ^ h >> 13) * _m & _mask
    return h ^ h >> 15


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (murmur2, as the publishers and Faust use)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def in_area(state: DossierState, broadcast: Broadcast) -> bool:
    """True when the dossier is handled in the alert's province or commune."""
    if broadcast.area_level is AreaLevel.PROVINCE:
        return state.ma_tinh == broadcast.area_code
    return state.ma_xa == broadcast.area_code


def followers_in_area(
    dossiers: Iterable[tuple[bytes, bytes | None]],
    followers_of: Callable[[bytes], bytes | None],
    broadcast: Broadcast,
    seen: set[str],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(subscriber_id, follower)`` of every active follower of a dossier in the area, each person once.

    Lazy: one dossier's followers are read from the table when the previous dossier's are consumed, so a
    fan-out can send while it reads and never holds an area's followers at once. ``seen`` collects the
    subscriber ids given (and skips those already in it): the caller's dedupe across audiences.
    """
    for key, raw in dossiers:
        state = DossierState.from_bytes(raw)
        if state is None or not in_area(state, broadcast):
            continue
        for sid, follower in fol.decode_all(followers_of(key)).items():
            if follower.get("active", True) and sid not in seen:
                seen.add(sid)
                yield sid, follower


def recipients(
    dossiers: Iterable[tuple[bytes, bytes | None]],
    followers_of: Any,
    broadcast: Broadcast,
) -> dict[str, dict[str, Any]]:
    """``subscriber_id -> follower`` for every follower of a dossier in the area, deduplicated.

    ``dossiers`` yields ``(key, state bytes)``; ``followers_of(key)`` returns the followers table bytes.
    """
    return dict(followers_in_area(dossiers, followers_of, broadcast, set()))


class AlertEncoder:
    """Each recipient's alert record as the bytes ``dumps(alert_for(...))`` gives, without a model per person.

    A province-wide alert has up to millions of recipients whose messages differ only in the tracking id,
    the addressee and the name in the template data. One message per channel is built and validated
    through ``alert_for``; its JSON members are encoded once, and each recipient's record is those bytes
    joined around the three members that differ — several times cheaper than building and dumping a dict
    per person (docs/performance.md). Compact JSON is ``{"key":value,...}`` in insertion order, which is
    what ``orjson.dumps`` of the model's dict writes, so the bytes are the same. The followers come from the
    table, where only validated subscriptions are written, and the dispatcher validates every record again.
    """

    VARYING = ("tracking_id", "to", "template_data")

    def __init__(self, broadcast: Broadcast, *, oa_id: str, now: datetime, catalogue: Catalogue) -> None:
        self.broadcast, self.oa_id, self.now, self.catalogue = broadcast, oa_id, now, catalogue
        self.tracking_prefix = f"broadcast:{broadcast.broadcast_id}"
        # tracking_id_for hashes "<prefix>|<subscriber id>": the prefix's state is computed once and copied.
        self._tracking = hashlib.blake2b(f"{self.tracking_prefix}|".encode(), digest_size=16)
        self._layouts: dict[SendChannel, tuple[tuple[bytes, ...], tuple[int, ...]]] = {}
        self._data: dict[tuple[SendChannel, str | None], bytes] = {}

    def _layout(
        self, channel: SendChannel, sid: str, follower: dict[str, Any]
    ) -> tuple[tuple[bytes, ...], tuple[int, ...]]:
        """The record of ``channel`` as four fixed byte segments around the three varying members, and
        which member (an index into ``VARYING``) goes after each of the first three segments."""
        n = alert_for(self.broadcast, sid, follower, oa_id=self.oa_id, now=self.now, catalogue=self.catalogue)
        prototype: dict[str, Any] = orjson.loads(dumps(n))
        missing = [name for name in self.VARYING if name not in prototype]
        if missing:
            raise ValueError(f"an alert without {missing} cannot be templated")
        fixed: list[bytes] = []
        order: list[int] = []
        segment = b"{"
        for name, value in prototype.items():
            member = orjson.dumps(name) + b":"
            if name in self.VARYING:
                fixed.append(segment + member)
                order.append(self.VARYING.index(name))
                segment = b","
            else:
                segment += member + orjson.dumps(value) + b","
        fixed.append(segment[:-1] + b"}")  # drop the trailing comma (or the one after the last varying member)
        return tuple(fixed), tuple(order)

    def template_data(self, channel: SendChannel, name: str | None) -> bytes:
        """The template data of a person called ``name`` (cached: names repeat a lot, but not without bound)."""
        data = self._data.get((channel, name))
        if data is None:
            if len(self._data) >= NAME_CACHE:
                self._data.clear()
            _, values = alert_template(self.broadcast, channel, name, oa_id=self.oa_id, catalogue=self.catalogue)
            data = self._data[(channel, name)] = orjson.dumps(values)
        return data

    def encode(self, sid: str, follower: dict[str, Any]) -> bytes:
        """The alert record (value bytes) for subscriber ``sid``."""
        name, phone, user_id = follower.get("ho_ten_hien_thi"), follower.get("phone"), follower.get("zalo_user_id")
        channel = SendChannel.ZBS_PHONE if phone else SendChannel.OA_TEXT
        layout = self._layouts.get(channel)
        if layout is None:
            layout = self._layouts[channel] = self._layout(channel, sid, follower)
        to: dict[str, str | bool] = {"subscriber_id": sid}
        if phone:
            to["phone"] = phone
        if user_id:
            to["zalo_user_id"] = user_id
        if name:
            to["ho_ten_hien_thi"] = name
        if follower.get("dong_y_sms"):
            to["dong_y_sms"] = True
        tracking = self._tracking.copy()
        tracking.update(sid.encode())
        varying = (b'"' + tracking.hexdigest().encode() + b'"', orjson.dumps(to), self.template_data(channel, name))
        (f0, f1, f2, f3), (i0, i1, i2) = layout
        return b"".join((f0, varying[i0], f1, varying[i1], f2, varying[i2], f3))


def alert_records(
    broadcast: Broadcast,
    chosen: dict[str, dict[str, Any]] | Iterable[tuple[str, dict[str, Any]]],
    *,
    oa_id: str,
    now: datetime,
    catalogue: Catalogue,
) -> Iterator[tuple[bytes, bytes]]:
    """``(key, value)`` of every recipient's alert: the bytes ``alert_for`` would give.

    ``chosen`` is ``subscriber_id -> follower`` (taken in subscriber order) or ``(subscriber_id, follower)``
    pairs, taken lazily in their own order.
    """
    encoder = AlertEncoder(broadcast, oa_id=oa_id, now=now, catalogue=catalogue)
    pairs = sorted(chosen.items()) if isinstance(chosen, dict) else chosen
    for sid, follower in pairs:
        yield sid.encode(), encoder.encode(sid, follower)
