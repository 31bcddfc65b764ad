"""What the SMS fallback texts, and whether it texts at all: pure functions of a delivery-failure record.

A text carries the same facts as the Zalo message (dossier, status, detail, handling unit, lookup link) minus
the greeting, which costs a segment and says nothing. Brandname SMS is billed per 160-character GSM segment
and Vietnamese with diacritics falls back to 70-character UCS-2 segments, so providers are usually
configured to send it unaccented ("Ho so ... da co ket qua"). The lookup link is kept whole even when the
middle must be shortened: it is where the citizen can read everything.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from consumers.sms.providers import ProviderRegistry, SmsProvider
from schemas.codec import validate
from schemas.notification import Kind, Notification

FALLBACK_CODES = frozenset({-108, -110, -114, -118, -119, -139, -140, -141, -213, -217, -227, -230, -232, -244})
"""Zalo codes that mean "this person cannot be reached on Zalo" (zalo-api.md §4.4): the SMS cases.

Other permanent failures (a template the OA may not use, bad template data) are the agency's or hoso's
to fix; the person may well be on Zalo, so texting them would only duplicate the message once fixed.
"""

TEXTED_KINDS = frozenset({Kind.DOSSIER_UPDATE, Kind.ALERT})
"""Chat replies answer someone who just wrote on Zalo; survey invitations are not worth a paid text."""

LINK_PREFIXES = ("Tra cứu:", "Tra cuu:")
GREETING = "Kính gửi"


def unaccent(text: str) -> str:
    """Vietnamese without diacritics (đ → d), as unaccented brandname SMS is sent."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def sms_text(text: str, max_chars: int, *, accents: bool = False) -> str:
    """The SMS for a rendered Zalo text: no greeting, at most ``max_chars``, the lookup link kept whole."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith(GREETING):
        lines = lines[1:]
    link = lines.pop() if len(lines) > 1 and lines[-1].startswith(LINK_PREFIXES) else ""
    body = " ".join(lines)
    if not accents:
        body, link = unaccent(body), unaccent(link)
    room = max_chars - (len(link) + 1 if link else 0)
    if room < 20:  # a link longer than the text allows: the facts matter more than the link
        link, room = "", max_chars
    if len(body) > room:
        cut = body[: room - 3]
        space = cut.rfind(" ")
        body = (cut[:space] if space > room // 2 else cut).rstrip(" ,;:.") + "..."
    return f"{body}\n{link}" if link else body


@dataclass(frozen=True)
class SmsPlan:
    """One text to send: to whom, through which provider, what, and the idempotency key."""

    provider: SmsProvider
    oa_id: str
    phone: str
    message: str
    tracking_id: str


def plan(failure: Any, providers: ProviderRegistry) -> SmsPlan | str:
    """The text a delivery-failure record calls for, or the reason (a metric outcome) it calls for none."""
    if not isinstance(failure, dict) or failure.get("outcome") != "permanent_failure":
        return "not_fallback"
    if failure.get("code") not in FALLBACK_CODES:
        return "not_fallback"
    n, _ = validate(Notification, failure.get("notification"))
    if n is None:
        return "invalid"
    if n.kind not in TEXTED_KINDS:
        return "not_fallback"
    if not n.to.dong_y_sms:
        return "no_consent"
    if not n.to.phone:
        return "no_phone"
    provider = providers.for_oa(n.oa_id)
    if provider is None:
        return "no_provider"
    message = sms_text(n.text, provider.max_chars, accents=not provider.unaccented)
    return SmsPlan(provider=provider, oa_id=n.oa_id, phone=n.to.phone, message=message, tracking_id=n.tracking_id)
