"""Zalo error codes the simulator emits, with English and Vietnamese wording.

Zalo reports almost every failure as HTTP 200 with ``{"error": <negative int>,
"message": ...}``; clients must branch on the code, so the simulator has to use
the same codes in the same situations.  The wire ``message`` is the English text;
the Vietnamese text is kept alongside for operators and documentation.

Choices the public docs leave open (documented here so clients know what to expect):

* ``tracking_id`` longer than 48 characters -> -1121 (parameter too long); missing or
  empty -> -1122 (parameter missing); not a string -> -1124 (wrong format).
* A body that is not a JSON object on the ZBS host -> -1124.
* A template_data value that is empty -> -1122; longer than 400 code points as sent
  (NFD text counts longer) -> -1121; of a type other than string/number -> -112.
* OAuth: an unsupported ``grant_type`` or missing field -> -14001; an unknown
  authorization code -> -14014; a used or expired code -> -14020 (unverified guesses).
"""

from __future__ import annotations

from enum import IntEnum

import orjson


class ZaloError(IntEnum):
    """Error codes, named after their meaning."""

    OK = 0
    # OA Open API
    RATE_LIMIT = -32
    OA_INVALID_PARAM = -201
    OA_PARAM_OVER_LIMIT = -210
    OA_USER_NOT_FOLLOWER = -213
    OA_TOKEN_INVALID = -216
    OA_USER_BLOCKED_INVITE = -217
    OA_TOKEN_EXPIRED = -220
    OA_USER_INACTIVE = -227
    OA_NO_INTERACTION_7D = -230
    OA_INTERACTION_EXPIRED = -232
    OA_V2_SHUT_DOWN = -240
    OA_USER_RESTRICTED = -244
    # ZBS (ex-ZNS)
    UNKNOWN = -100
    MESSAGE_ID_INVALID = -107
    PHONE_INVALID = -108
    TEMPLATE_ID_INVALID = -109
    ZALO_VERSION_TOO_OLD = -110
    TEMPLATE_DATA_EMPTY = -111
    TEMPLATE_DATA_INVALID = -112
    PARAM_TOO_LONG = -1121
    PARAM_MISSING = -1122
    PARAM_WRONG_FORMAT = -1124
    USER_CANNOT_RECEIVE = -114
    NO_ZALO_ACCOUNT = -118
    ACCOUNT_CANNOT_RECEIVE = -119
    ZBS_TOKEN_INVALID = -124
    NIGHT_BAN = -133
    USER_REFUSED_TEMPLATE_TYPE = -139
    USER_NOT_ELIGIBLE = -140
    USER_REFUSED_PHONE_MESSAGES = -141
    DAILY_QUOTA_EXCEEDED = -144
    SENDING_MODE_INVALID = -161
    SENDING_MODE_NOT_ALLOWED = -162
    # OAuth v4
    OAUTH_INVALID_PARAM = -14001
    OAUTH_INVALID_APP = -14002
    OAUTH_WRONG_SECRET = -14004
    OAUTH_INVALID_REFRESH_TOKEN = -14014
    OAUTH_REFRESH_TOKEN_USED_OR_EXPIRED = -14020


MESSAGES: dict[int, tuple[str, str]] = {
    0: ("Success", "Thành công"),
    -32: ("Your application/OA reached limit call api", "Ứng dụng/OA đã vượt giới hạn gọi API"),
    -201: ("Parameter is invalid", "Tham số không hợp lệ"),
    -210: ("Parameter exceeds the limit", "Tham số vượt quá giới hạn"),
    -213: ("User has not followed the OA", "Người dùng chưa quan tâm OA"),
    -216: ("Access token is invalid", "Access token không hợp lệ"),
    -217: ("User has blocked invitations from the OA", "Người dùng đã chặn lời mời từ OA"),
    -220: ("Access token has expired or was removed", "Access token đã hết hạn hoặc bị thu hồi"),
    -227: (
        "User is banned or has been inactive for more than 45 days",
        "Người dùng bị khoá hoặc không hoạt động quá 45 ngày",
    ),
    -230: (
        "User has not interacted with the OA in the last 7 days",
        "Người dùng không tương tác với OA trong 7 ngày qua",
    ),
    -232: (
        "User has not interacted with the OA or the interaction has expired",
        "Người dùng chưa tương tác với OA hoặc tương tác đã hết hạn",
    ),
    -240: ("MessageV2 API has been shut down", "API gửi tin V2 đã ngừng hoạt động"),
    -244: ("User has restricted this message type", "Người dùng đã hạn chế loại tin nhắn này"),
    -100: ("Unknown error", "Lỗi không xác định"),
    -107: ("Message ID is invalid", "ID tin nhắn không hợp lệ"),
    -108: ("Phone number is invalid", "Số điện thoại không hợp lệ"),
    -109: ("Template ID is invalid", "ID template không hợp lệ"),
    -110: (
        "User's Zalo version does not support this message",
        "Phiên bản Zalo của người dùng không hỗ trợ tin nhắn này",
    ),
    -111: ("Template data is empty", "Dữ liệu template rỗng"),
    -112: ("Template data is invalid", "Dữ liệu template không hợp lệ"),
    -1121: ("Parameter exceeds the maximum length", "Tham số vượt quá độ dài tối đa"),
    -1122: ("Parameter is missing", "Thiếu tham số"),
    -1124: ("Parameter has the wrong format", "Tham số sai định dạng"),
    -114: ("User cannot receive this message", "Người dùng không thể nhận tin nhắn này"),
    -118: (
        "Zalo account does not exist or has been deactivated",
        "Tài khoản Zalo không tồn tại hoặc đã bị vô hiệu hoá",
    ),
    -119: ("Account cannot receive messages", "Tài khoản không thể nhận tin nhắn"),
    -124: ("Access token is invalid or expired", "Access token không hợp lệ hoặc đã hết hạn"),
    -133: (
        "This template cannot be sent between 22:00 and 06:00",
        "Không thể gửi template này trong khung giờ 22:00-06:00",
    ),
    -139: ("User refused to receive this template type", "Người dùng từ chối nhận loại template này"),
    -140: (
        "User is not eligible to receive this message under the policy",
        "Người dùng không đủ điều kiện nhận tin theo chính sách",
    ),
    -141: (
        "User refused to receive messages by phone number from this OA",
        "Người dùng từ chối nhận tin qua số điện thoại từ OA này",
    ),
    -144: ("OA has exceeded its daily quota", "OA đã vượt hạn mức gửi tin trong ngày"),
    -161: ("sending_mode is invalid", "sending_mode không hợp lệ"),
    -162: ("sending_mode 3 is not allowed for this template", "Không được dùng sending_mode 3 với template này"),
    -14001: ("Invalid parameter", "Tham số không hợp lệ"),
    -14002: ("Invalid app_id or app is not active", "app_id không hợp lệ hoặc ứng dụng chưa kích hoạt"),
    -14004: ("Invalid secret key", "Secret key không hợp lệ"),
    -14014: ("Invalid refresh token or code", "Refresh token hoặc code không hợp lệ"),
    -14020: (
        "Refresh token or code has expired or was already used",
        "Refresh token hoặc code đã hết hạn hoặc đã được sử dụng",
    ),
}

# Error bodies without a detail never change, so each is serialised once.
_BODY_CACHE: dict[int, bytes] = {}


def message_for(code: int) -> str:
    """English wire message for a code (a generic one for codes not in the table)."""
    entry = MESSAGES.get(code)
    return entry[0] if entry else "Error"


def error_body(code: int) -> bytes:
    """Serialised ``{"error": code, "message": ...}``; cached because it never changes."""
    body = _BODY_CACHE.get(code)
    if body is None:
        body = orjson.dumps({"error": int(code), "message": message_for(code)})
        _BODY_CACHE[code] = body
    return body


def error_body_with(code: int, detail: str) -> bytes:
    """Error body whose message adds a detail (e.g. which field was wrong)."""
    return orjson.dumps({"error": int(code), "message": f"{message_for(code)}: {detail}"})


def oauth_error_body(code: int, detail: str | None = None) -> bytes:
    """OAuth failures also carry ``error_name`` and ``error_description``."""
    msg = message_for(code)
    return orjson.dumps({"error": int(code), "message": msg, "error_name": msg, "error_description": detail or msg})
