"""Payload rules for template sends, returning the Zalo code a violation gets.

Each check returns None when the value is acceptable, or ``(code, detail)``; the
handlers turn that into an HTTP 200 error body.  Codes follow errors.py, which
also documents the choices the public Zalo docs leave open.
"""

from __future__ import annotations

from typing import Any

from zalo_simulator.errors import ZaloError

Violation = tuple[ZaloError, str]

MAX_TRACKING_ID = 48
MAX_TEMPLATE_VALUE = 400
MAX_CS_TEXT = 2000


def template_id_of(raw: Any) -> str | None:
    """The template id as a string (numeric ids are allowed), or None if unusable."""
    if isinstance(raw, str):
        raw = raw.strip()
        return raw or None
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return str(raw)
    return None


def check_template_data(data: Any) -> Violation | None:
    """template_data must be a non-empty object of non-empty strings/numbers <= 400 chars.

    Length is counted in code points of the string as sent, so decomposed (NFD)
    Vietnamese text counts longer, as it does on Zalo: clients must send NFC.
    """
    if not isinstance(data, dict) or not data:
        return ZaloError.TEMPLATE_DATA_EMPTY, "template_data must be a non-empty JSON object"
    for key, value in data.items():
        if isinstance(value, str):
            if not value:
                return ZaloError.PARAM_MISSING, f"template_data.{key} is empty"
            if len(value) > MAX_TEMPLATE_VALUE:
                return ZaloError.PARAM_TOO_LONG, f"template_data.{key} is longer than {MAX_TEMPLATE_VALUE}"
        elif isinstance(value, bool) or not isinstance(value, int | float):
            return ZaloError.TEMPLATE_DATA_INVALID, f"template_data.{key} must be a string or number"
    return None


def check_tracking_id(raw: Any) -> Violation | None:
    """tracking_id is required, a string, at most 48 characters."""
    if raw is None or raw == "":
        return ZaloError.PARAM_MISSING, "tracking_id is missing"
    if not isinstance(raw, str):
        return ZaloError.PARAM_WRONG_FORMAT, "tracking_id must be a string"
    if len(raw) > MAX_TRACKING_ID:
        return ZaloError.PARAM_TOO_LONG, f"tracking_id is longer than {MAX_TRACKING_ID}"
    return None


def check_sending_mode(raw: Any) -> Violation | None:
    """Only the normal mode "1" is allowed; "3" needs a whitelisted OA and a tag-3 template."""
    if raw is None or raw == "1" or raw == 1:
        return None
    if raw == "3" or raw == 3:
        return ZaloError.SENDING_MODE_NOT_ALLOWED, "sending_mode 3 is not allowed for transaction templates"
    return ZaloError.SENDING_MODE_INVALID, f"unsupported sending_mode {raw!r}"


def user_id_of(raw: Any) -> str | None:
    """OA user ids are digit strings (numbers are accepted and converted)."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return str(raw)
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        return raw
    return None
