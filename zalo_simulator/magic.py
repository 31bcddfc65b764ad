"""Magic recipients that always fail with a chosen error, like GOV.UK Notify's test numbers.

The pipeline must treat some errors as "permanent for this recipient" (mark the
citizen unreachable on Zalo, fall back to SMS, never retry).  Those paths need
recipients that fail deterministically, every time, regardless of fault settings,
clock or quota, so tests and demos can rely on them.

Phone numbers (ZBS by phone and by hash phone) -- ``84999000NNN`` fails with ``-NNN``:

==============  ====  ==========================================================
Number          Code  Meaning
==============  ====  ==========================================================
84999000108     -108  phone number invalid
84999000110     -110  user's Zalo version too old
84999000114     -114  user cannot receive (account state / opted out)
84999000118     -118  no Zalo account for this number, or deactivated
84999000119     -119  account cannot receive messages
84999000139     -139  user refused this template type
84999000140     -140  user not eligible under the policy
84999000141     -141  user refused messages by phone from this OA
==============  ====  ==========================================================

Any accepted input form works ("0999000118", "+84999000118"); for hash-phone
sends use the SHA-256 hex of the ``84...`` form (``MAGIC_HASH_PHONES``).

OA user ids (``/v3.0/oa/message/cs`` and ``/v3.0/oa/message/template``) --
``9990000NNN`` fails with ``-NNN`` for NNN in {213, 217, 227, 230, 232, 244}
(``MAGIC_USER_IDS``): not a follower, blocked, inactive, outside the 7-day
window, interaction expired, message type restricted.
"""

from __future__ import annotations

import hashlib

PERMANENT_PHONE_CODES: tuple[int, ...] = (108, 110, 114, 118, 119, 139, 140, 141)
PERMANENT_USER_CODES: tuple[int, ...] = (213, 217, 227, 230, 232, 244)

MAGIC_PHONE_PREFIX = "84999000"
MAGIC_USER_ID_PREFIX = "9990000"

MAGIC_NUMBERS: dict[str, int] = {f"{MAGIC_PHONE_PREFIX}{n:03d}": -n for n in PERMANENT_PHONE_CODES}
"""Normalised phone number -> the error code a send to it always returns."""

MAGIC_HASH_PHONES: dict[str, int] = {
    hashlib.sha256(phone.encode()).hexdigest(): code for phone, code in MAGIC_NUMBERS.items()
}
"""SHA-256 hex of each magic number -> its error code (for /message/template/hashphone)."""

MAGIC_USER_IDS: dict[str, int] = {f"{MAGIC_USER_ID_PREFIX}{n:03d}": -n for n in PERMANENT_USER_CODES}
"""OA user id -> the error code an OA message to it always returns."""


def magic_phone(code: int) -> str:
    """The magic phone number (84... form) that always yields ``code`` (e.g. -118)."""
    phone = f"{MAGIC_PHONE_PREFIX}{-code:03d}"
    if phone not in MAGIC_NUMBERS:
        raise KeyError(f"no magic phone number for error {code}")
    return phone
