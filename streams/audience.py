"""OA followers as an audience of their own, and the pacing of policy news, as plain code.

**The OA audience.** A citizen who follows the OA (Zalo ``follow`` webhook), or who asks in chat for the
news of an area (``THEO DOI <xã/phường/tỉnh>``), gets an entry in the ``oa_audience`` table, whether or not
they follow any dossier. The table is keyed by the citizen's chat key (the pseudonym of their Zalo user id,
the ``zalo-events`` key): Faust writes a table to the changelog partition of the record being processed, so
the chat agent can only keep rows keyed like its own input. *Where* the citizen is lives in the row:

* ``areas``: code -> province, the provinces and communes they asked for;
* without areas of their own, the provinces of the OA they follow (an OA serving no listed province, such
  as a deployment's single default OA, stands for every province).

A province broadcast reaches an entry placed in that province or in one of its communes; a commune broadcast
reaches an entry that asked for that commune or its whole province. An OA follower who never said where they
are is placed by province only, so a commune's alert does not go to a whole province.

An ``unfollow`` removes the row: they have left the OA, which can no longer write to them. ``BO THEO DOI``
removes areas; a row with neither areas nor an OA follow is deleted.

**Policy news pacing.** POLICY broadcasts are re-keyed by citizen (``policy-news.v1``) and meet the
citizen's ``policy_pacing`` row there: a broadcast already seen is dropped (one message per person per
broadcast, however many dossiers and follower rows led to them); inside quiet hours it waits for their end;
each Vietnam day at most ``per_day`` are sent, and the excess is **dropped** and counted
(``hoso_policy_news_total{outcome="dropped_daily_limit"}``). Dropped, not deferred: news deferred to the
next day competes with that day's news, so a busy week would build a backlog a citizen receives days late,
while an operator watching the counter can raise the cap or send fewer broadcasts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from hoso.quiet_hours import QuietHours
from schemas.broadcast import AreaLevel, Broadcast
from schemas.common import VN_TZ
from streams.areas import Area

Entry = dict[str, Any]


def decode(raw: bytes | None) -> Entry | None:
    """An audience row from table bytes."""
    return orjson.loads(raw) if raw else None


def encode(entry: Entry | None) -> bytes | None:
    """Table bytes of a row (None: delete it)."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) if entry else None


def followed(entry: Entry | None, *, user: str, oa: str, now: datetime) -> Entry:
    """The row after the citizen follows the OA (areas they chose are kept)."""
    row = dict(entry or {})
    row.update({"zalo_user_id": user, "oa_id": oa, "follows_oa": True, "updated_at": now.isoformat()})
    row.setdefault("areas", {})
    return row


def unfollowed(entry: Entry | None) -> None:
    """The row after an OA unfollow: gone (the OA can no longer write to them)."""
    return None


def with_areas(entry: Entry | None, areas: Iterable[Area], *, user: str, oa: str, now: datetime) -> Entry:
    """The row after the citizen asks for the news of ``areas``."""
    row = dict(entry or {"follows_oa": False})
    row.update({"zalo_user_id": user, "oa_id": row.get("oa_id") or oa, "updated_at": now.isoformat()})
    row["areas"] = {**(row.get("areas") or {}), **{a.code: a.province for a in areas}}
    return row


def without_areas(entry: Entry | None, areas: Iterable[Area] | None, *, now: datetime) -> Entry | None:
    """The row after ``BO THEO DOI`` (all areas when ``areas`` is None); None when nothing is left to keep."""
    if entry is None:
        return None
    drop = None if areas is None else {a.code for a in areas}
    kept = {} if drop is None else {c: p for c, p in (entry.get("areas") or {}).items() if c not in drop}
    if not kept and not entry.get("follows_oa"):
        return None
    return {**entry, "areas": kept, "updated_at": now.isoformat()}


def reaches(
    entry: Entry,
    broadcast: Broadcast,
    *,
    province_of: Callable[[str], str | None],
    oa_provinces: Callable[[str], tuple[str, ...]],
) -> bool:
    """Whether the broadcast's area covers where this citizen is (see the module docstring)."""
    areas: dict[str, str] = entry.get("areas") or {}
    code = broadcast.area_code
    if areas:
        if broadcast.area_level is AreaLevel.PROVINCE:
            return code in areas.values()
        return code in areas or (province_of(code) or "") in areas
    if not entry.get("follows_oa") or broadcast.area_level is not AreaLevel.PROVINCE:
        return False
    served = oa_provinces(str(entry.get("oa_id") or ""))
    return not served or code in served


def recipients(
    rows: Iterable[tuple[bytes, bytes | None]],
    broadcast: Broadcast,
    *,
    province_of: Callable[[str], str | None],
    oa_provinces: Callable[[str], tuple[str, ...]],
    person_of: Callable[[str], str] = lambda sid: sid,
) -> dict[str, Entry]:
    """``person id -> row`` of every audience row the broadcast reaches.

    The person id is the row's subscriber id (its key), or what ``person_of`` maps it to: the pseudonym of a
    phone the citizen *proved* is theirs, so that their OA copy and the ZBS copy to that phone (an agency's
    consent on a dossier) carry one tracking id and only one of them is sent.
    """
    out: dict[str, Entry] = {}
    for key, raw in rows:
        entry = decode(raw)
        if (
            entry
            and entry.get("zalo_user_id")
            and reaches(entry, broadcast, province_of=province_of, oa_provinces=oa_provinces)
        ):
            out[person_of(key.decode())] = entry
    return out


def by_oa(chosen: dict[str, Entry], default_oa: str) -> dict[str, dict[str, Entry]]:
    """Rows grouped by the OA each citizen follows (the OA that may write to them)."""
    groups: dict[str, dict[str, Entry]] = {}
    for sid, entry in chosen.items():
        groups.setdefault(str(entry.get("oa_id") or default_oa), {})[sid] = {"zalo_user_id": entry["zalo_user_id"]}
    return groups


# --- policy-news pacing, per citizen ------------------------------------------------------------

SEEN_KEPT = 64
"""Broadcast ids remembered per citizen: far more policy broadcasts than one area sends in their lifetime
on the topic (7 days), so a redelivered or second copy is always recognised."""


@dataclass
class Paced:
    """What one record does to a citizen's pacing: the new row (None: unchanged), messages, outcomes."""

    pacing: dict[str, Any] | None = None
    send: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)


def vn_day(now: datetime) -> str:
    """The Vietnam calendar day of ``now`` (the unit of the daily cap)."""
    return now.astimezone(VN_TZ).date().isoformat()


def _take(row: dict[str, Any], message: dict[str, Any], now: datetime, per_day: int, out: Paced) -> None:
    day = vn_day(now)
    if row.get("day") != day:
        row["day"], row["sent"] = day, []
    if len(row["sent"]) >= per_day:
        out.outcomes.append("dropped_daily_limit")
        return
    row["sent"] = [*row["sent"], message.get("broadcast_id")]
    out.send.append(message)


def on_news(
    row: dict[str, Any] | None,
    message: dict[str, Any],
    *,
    now: datetime,
    quiet: QuietHours | None,
    per_day: int,
) -> Paced:
    """A policy-news message (a Notification as JSON) arriving for this citizen at ``now``."""
    current = dict(row or {"day": vn_day(now), "sent": [], "seen": [], "waiting": []})
    bid = message.get("broadcast_id")
    if bid in current.get("seen", []):
        return Paced(outcomes=["duplicate"])
    current["seen"] = [*current.get("seen", []), bid][-SEEN_KEPT:]
    out = Paced(pacing=current)
    if quiet is not None and quiet.contains(now):
        waiting = list(current.get("waiting", []))
        if len(waiting) >= per_day:  # more than can go out when the window ends: the day's cap already applies
            out.outcomes.append("dropped_daily_limit")
            return out
        current["waiting"] = [*waiting, {"due": quiet.ends_after(now).isoformat(), "message": message}]
        out.outcomes.append("deferred_quiet_hours")
        return out
    _take(current, message, now, per_day, out)
    if out.send:
        out.outcomes.append("sent")
    return out


def on_tick(row: dict[str, Any] | None, *, at: datetime, per_day: int) -> Paced:
    """Release the news waiting for quiet hours to end, as of ``at`` (in arrival order, within the cap)."""
    if not row or not row.get("waiting"):
        return Paced()
    current = dict(row)
    ready = [w for w in current["waiting"] if datetime.fromisoformat(w["due"]) <= at]
    if not ready:
        return Paced()
    current["waiting"] = [w for w in current["waiting"] if datetime.fromisoformat(w["due"]) > at]
    out = Paced(pacing=current)
    for w in ready:
        before = len(out.send)
        _take(current, w["message"], at, per_day, out)
        if len(out.send) > before:
            out.outcomes.append("released")
    return out


def due(raw: bytes | None, now: datetime) -> bool:
    """Whether a pacing row has news whose quiet hours are over (a timer ticks such citizens)."""
    row = orjson.loads(raw) if raw else None
    return bool(row) and any(datetime.fromisoformat(w["due"]) <= now for w in row.get("waiting", []))
