"""Proof that a dossier belongs to the Zalo user asking: something a stranger who knows the code cannot type.

Two proofs are accepted:

* a **one-time code** sent by ZBS template to a phone the agency registered for the dossier (Zalo delivers a
  phone-addressed message only to the account that owns the number), typed back in the OA chat; a success
  also proves that phone is the user's, so "HUY" from that user stops its notices too;
* the **last six digits of the ID document** printed on the receipt, checked against ``xac_thuc_hash``, a
  keyed hash the agency computes as ``HMAC-SHA256(HOSO_PROOF_KEY, "<ma_ho_so>|<6 digits>")``; the number is
  never sent or stored in clear.

A phone typed into a form (``user_submit_info``) proves nothing and is not used. Wrong answers are bounded
twice: per Zalo user by the chat rate limit, and per dossier (all users together) by ``failures_per_dossier``
a day, so a code cannot be tried from many accounts. Codes are kept as keyed hashes, expire, and allow three
tries. State is one JSON value per dossier in the ``dossier_proofs`` table.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson

from schemas.common import ID_PROOF_DIGITS, id_proof_hash

OTP_TRIES = 3
OTPS_PER_HOUR = 5
"""One-time codes one dossier sends per hour, whoever asks: strangers must not flood the owner's phone."""
OTP_DIGITS = 6
ID_DIGITS = ID_PROOF_DIGITS
LOCK_WINDOW = timedelta(hours=24)

Proofs = dict[str, Any]


class Proven(StrEnum):
    """How the requester proved ownership."""

    OTP = "otp"
    ID = "id"


@dataclass(frozen=True)
class Check:
    """The result of checking a typed secret: how it was proven (None: refused), why not, the table value."""

    proven: Proven | None
    refusal: str | None
    proofs: Proofs
    phone_sid: str | None = None


def new_otp() -> str:
    """Six random digits."""
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def id_hash(proof_key: str, code: str, digits: str) -> str:
    """What an agency sends as ``xac_thuc_hash`` for a dossier and the last digits of its owner's ID document."""
    return id_proof_hash(proof_key, code, digits)


def _otp_hash(key: str, code: str, sid: str, otp: str) -> str:
    return hmac.new(key.encode(), f"otp|{code}|{sid}|{otp}".encode(), hashlib.sha256).hexdigest()


def decode(raw: bytes | None) -> Proofs:
    """Proof state of one dossier from table bytes."""
    return orjson.loads(raw) if raw else {}


def encode(proofs: Proofs) -> bytes | None:
    """Table bytes (None, a delete, when nothing is outstanding)."""
    return orjson.dumps(proofs, option=orjson.OPT_SORT_KEYS) if proofs else None


def locked(proofs: Proofs, now: datetime, failures_per_dossier: int) -> bool:
    """True when the dossier refused ``failures_per_dossier`` wrong proofs within the last 24 hours."""
    fail = proofs.get("fail")
    if not fail:
        return False
    return fail["n"] >= failures_per_dossier and datetime.fromisoformat(fail["since"]) + LOCK_WINDOW > now


def may_send(proofs: Proofs, now: datetime) -> bool:
    """True when the dossier has sent fewer than ``OTPS_PER_HOUR`` codes in the current hour."""
    sent = proofs.get("sent")
    return not sent or sent["hour"] != now.strftime("%Y-%m-%dT%H") or sent["n"] < OTPS_PER_HOUR


def sent_one(proofs: Proofs, now: datetime) -> Proofs:
    """The proof state after one more code went out this hour."""
    hour = now.strftime("%Y-%m-%dT%H")
    sent = proofs.get("sent")
    n = sent["n"] + 1 if sent and sent["hour"] == hour else 1
    return {**proofs, "sent": {"hour": hour, "n": n}}


def issue(
    proofs: Proofs, *, key: str, code: str, sid: str, phone_sid: str, otp: str, now: datetime, ttl: timedelta
) -> Proofs:
    """The proof state after a one-time code went to ``phone_sid`` for requester ``sid`` (replacing theirs)."""
    otps = {s: o for s, o in proofs.get("otp", {}).items() if datetime.fromisoformat(o["exp"]) > now}
    otps[sid] = {
        "h": _otp_hash(key, code, sid, otp),
        "exp": (now + ttl).isoformat(),
        "tries": 0,
        "phone_sid": phone_sid,
    }
    return {**proofs, "otp": otps}


def check(
    proofs: Proofs,
    *,
    key: str,
    proof_key: str,
    code: str,
    sid: str,
    secret: str,
    id_hash_expected: str | None,
    now: datetime,
    failures_per_dossier: int,
) -> Check:
    """Check a typed secret as the requester's one-time code, then as the ID document's last digits."""
    if locked(proofs, now, failures_per_dossier):
        return Check(None, "proof_locked", proofs)
    otps = {s: o for s, o in proofs.get("otp", {}).items() if datetime.fromisoformat(o["exp"]) > now}
    mine = otps.get(sid)
    if mine is not None and hmac.compare_digest(mine["h"], _otp_hash(key, code, sid, secret)):
        otps.pop(sid)
        return Check(Proven.OTP, None, _with(proofs, otps), phone_sid=mine["phone_sid"])
    typed_id = id_hash(proof_key, code, secret)
    if id_hash_expected and len(secret) >= ID_DIGITS and hmac.compare_digest(id_hash_expected.lower(), typed_id):
        return Check(Proven.ID, None, _with(proofs, otps))
    if mine is not None:
        mine = {**mine, "tries": mine["tries"] + 1}
        if mine["tries"] >= OTP_TRIES:
            otps.pop(sid)
        else:
            otps[sid] = mine
    fail = proofs.get("fail")
    if not fail or datetime.fromisoformat(fail["since"]) + LOCK_WINDOW <= now:
        fail = {"since": now.isoformat(), "n": 0}
    updated = {**_with(proofs, otps), "fail": {**fail, "n": fail["n"] + 1}}
    return Check(None, "proof_wrong", updated)


def _with(proofs: Proofs, otps: dict[str, Any]) -> Proofs:
    out = {k: v for k, v in proofs.items() if k != "otp"}
    if otps:
        out["otp"] = otps
    return out
