"""Field types shared by every schema: Vietnam time, phone numbers, pseudonymous ids, bounded text."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, PlainSerializer, SecretStr, StringConstraints

VN_TZ = timezone(timedelta(hours=7), "+07:00")
"""Asia/Ho_Chi_Minh has had no daylight saving since 1975, so a fixed offset is exact and needs no tz database."""

_MOBILE = re.compile(r"84[35789]\d{8}")


def now_vn() -> datetime:
    """The current time in Vietnam."""
    return datetime.now(UTC).astimezone(VN_TZ)


def iso_vn(value: datetime) -> str:
    """RFC 3339 in +07:00, the form every hoso record carries."""
    return value.astimezone(VN_TZ).isoformat()


def normalize_phone(raw: str) -> str | None:
    """A Vietnamese mobile number in Zalo's ``84xxxxxxxxx`` form, or None when it cannot be one.

    Accepts ``0912…``, ``+84912…``, ``0084912…``, ``84912…`` and the 9-digit form that spreadsheets leave
    after dropping the leading zero; anything else (landlines, short codes) cannot receive Zalo messages.
    """
    digits = re.sub(r"\D", "", raw or "")
    if digits.startswith("0084"):
        digits = digits[2:]
    if len(digits) == 10 and digits.startswith("0"):
        digits = "84" + digits[1:]
    elif len(digits) == 9 and digits[0] in "35789":
        digits = "84" + digits
    return digits if _MOBILE.fullmatch(digits) else None


def _phone(value: str) -> str:
    normalized = normalize_phone(value)
    if normalized is None:
        raise ValueError("not a Vietnamese mobile number (expected 0xxxxxxxxx, +84xxxxxxxxx or 84xxxxxxxxx)")
    return normalized


def nfc(value: str) -> str:
    """NFC form: Zalo counts characters after composition, and NFD Vietnamese is much longer."""
    return unicodedata.normalize("NFC", value)


def pseudonym(key: str | SecretStr, kind: str, value: str) -> str:
    """A keyed, irreversible id for a person (``p:`` phone, ``z:`` Zalo user) safe for keys, logs and ids.

    Phone numbers are a small space, so a plain hash could be reversed by enumeration; the HMAC key is
    what makes these ids safe to show. The key may stay wrapped (``SecretStr``) until this one use.
    """
    secret = key.get_secret_value() if isinstance(key, SecretStr) else key
    digest = hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:24]}"


ID_PROOF_DIGITS = 6
"""How many trailing digits of the owner's ID document prove a dossier (printed on the receipt)."""


def id_proof_hash(key: str | SecretStr, code: str, id_number: str) -> str:
    """A dossier's ``xac_thuc_hash``: a keyed hash of its code and the last digits of its owner's ID document.

    The ID number is sensitive personal data (vn-egov §3.5): only this hash travels and is stored, and a
    citizen proves a dossier is theirs by typing the digits, which are hashed the same way and compared.
    """
    secret = key.get_secret_value() if isinstance(key, SecretStr) else key
    digits = "".join(ch for ch in id_number if ch.isdigit())[-ID_PROOF_DIGITS:]
    return hmac.new(secret.encode(), f"{code}|{digits}".encode(), hashlib.sha256).hexdigest()


VnDateTime = Annotated[AwareDatetime, PlainSerializer(iso_vn, return_type=str, when_used="json")]
Phone = Annotated[str, AfterValidator(_phone)]


def _nfc_input(value: object) -> object:
    return nfc(value) if isinstance(value, str) else value


def _text(max_length: int) -> tuple[StringConstraints, BeforeValidator]:
    # The before-validator wraps the constrained string, so composition happens before the length check.
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length), BeforeValidator(_nfc_input)


# Required, trimmed text, composed to NFC before its length is checked (Zalo counts composed characters).
Name30 = Annotated[str, *_text(30)]
Text50 = Annotated[str, *_text(50)]
Text64 = Annotated[str, *_text(64)]
Text200 = Annotated[str, *_text(200)]
Text400 = Annotated[str, *_text(400)]
Text500 = Annotated[str, *_text(500)]
Text1000 = Annotated[str, *_text(1000)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=r"^https?://\S+$")]
