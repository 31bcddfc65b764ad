"""Zalo error codes and what each means for delivery: retry, refresh the token, defer, give up, or stop the OA.

Zalo answers errors with HTTP 200 and a negative ``error``; this table is the one place that turns a
code into a decision (facts: the project's Zalo notes §4).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorClass(StrEnum):
    """The delivery decision a Zalo error code calls for."""

    RETRY = "retry"
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a decision name, not a secret
    DEFER_QUOTA = "defer_quota"
    DEFER_NIGHT = "defer_night"
    PERMANENT = "permanent"
    OA_CONFIG = "oa_config"


_TABLE: dict[ErrorClass, frozenset[int]] = {
    ErrorClass.RETRY: frozenset({-32, -100, -200}),
    ErrorClass.REFRESH_TOKEN: frozenset({-124, -216, -220}),
    ErrorClass.DEFER_QUOTA: frozenset({-144, -147, -1441, -1471, -1472, -211}),
    ErrorClass.DEFER_NIGHT: frozenset({-133, -234}),
    ErrorClass.PERMANENT: frozenset(
        {
            -106,
            -107,
            -108,
            -110,
            -111,
            -112,
            -1121,
            -1122,
            -1124,
            -113,
            -114,
            -116,
            -118,
            -119,
            -139,
            -140,
            -141,
            -161,
            -162,
            -201,
            -210,
            -213,
            -217,
            -218,
            -227,
            -230,
            -232,
            -244,
            -249,
        }
    ),
    ErrorClass.OA_CONFIG: frozenset(
        {
            -101,
            -102,
            -103,
            -104,
            -105,
            -109,
            -115,
            -117,
            -126,
            -127,
            -131,
            -135,
            -136,
            -137,
            -146,
            -204,
            -205,
            -209,
            -212,
            -219,
            -221,
            -223,
            -224,
            -235,
            -240,
            -242,
            -248,
            -320,
            -321,
        }
    ),
}
_BY_CODE = {code: cls for cls, codes in _TABLE.items() for code in codes}


def classify(code: int) -> ErrorClass:
    """The class of a Zalo error code; unknown codes are retried (and show up in metrics by code)."""
    return _BY_CODE.get(code, ErrorClass.RETRY)


def is_transient(code: int) -> bool:
    """Whether Zalo documents ``code`` as transient (rate limit, temporary failure): try again later.

    Unlike ``classify``, unknown codes are not transient here: a token refresh refused with a code nobody
    documented must pause the OA for an operator, not be retried forever with a single-use refresh token.
    """
    return code in _TABLE[ErrorClass.RETRY]
