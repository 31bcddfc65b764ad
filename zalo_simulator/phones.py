"""Vietnamese phone-number rules as the ZBS phone channel applies them.

The simulator is deliberately a little stricter than the forms Zalo tolerates:
it accepts ``0xxxxxxxxx``, ``84xxxxxxxxx``, ``+84xxxxxxxxx`` and the bare 9-digit
form Excel produces, but not spaces, dots or dashes, so a client that forgets to
normalise finds out here (-108) instead of in production.  The result must match
``^84[35789]\\d{8}$`` (Vietnamese mobile prefixes).
"""

from __future__ import annotations

import hashlib
import re

_MOBILE_84 = re.compile(r"84[35789]\d{8}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def normalise_phone(raw: object) -> str | None:
    """Return the ``84...`` form of a phone number, or None if it is not a VN mobile."""
    if not isinstance(raw, str):
        return None
    plus = raw.startswith("+")
    digits = raw[1:] if plus else raw
    if not digits.isdigit() or not digits.isascii() or (plus and not digits.startswith("84")):
        return None
    n = len(digits)
    if n == 10 and digits[0] == "0":
        digits = "84" + digits[1:]
    elif n == 9:
        digits = "84" + digits
    return digits if _MOBILE_84.fullmatch(digits) else None


def hash_phone(phone84: str) -> str:
    """SHA-256 hex of a normalised number, as ``/message/template/hashphone`` expects."""
    return hashlib.sha256(phone84.encode()).hexdigest()


def normalise_hash_phone(raw: object) -> str | None:
    """Lower-case a 64-hex-digit hash, or None if it is not one."""
    if isinstance(raw, str) and _HEX64.fullmatch(raw):
        return raw.lower()
    return None
