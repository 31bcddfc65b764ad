"""Reading a request body defensively: JSON only, bounded in size and in time, with a clear reason on failure.

A slow or oversized upload must not hold a connection or memory: the declared length is checked before
reading, aiohttp's ``client_max_size`` stops undeclared (chunked) bodies, and the whole read has a deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from producers.gateway.replies import RequestRejected

JSON_TYPES = frozenset({"application/json"})


async def read_json(request: web.Request, max_bytes: int, timeout_s: float) -> Any:
    """The parsed JSON body, or RequestRejected with 415, 413, 408 or 400."""
    if request.content_type not in JSON_TYPES:
        shown = request.headers.get("Content-Type") or "none"
        raise RequestRejected(415, "unsupported_media_type", f"send Content-Type: application/json (got {shown})")
    charset = request.charset
    if charset and charset.lower().replace("-", "") != "utf8":
        raise RequestRejected(415, "unsupported_media_type", f"JSON must be UTF-8 (got charset={charset})")
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise RequestRejected(413, "payload_too_large", f"body is {declared} bytes; the limit is {max_bytes}")
    try:
        async with asyncio.timeout(timeout_s):
            raw = await request.read()
    except TimeoutError:
        raise RequestRejected(408, "request_timeout", f"the body did not arrive within {timeout_s:g} s") from None
    except web.HTTPRequestEntityTooLarge:
        raise RequestRejected(413, "payload_too_large", f"body is larger than the {max_bytes}-byte limit") from None
    if not raw:
        raise RequestRejected(400, "malformed_json", "the request body is empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = "body is not valid UTF-8" if "utf-8" in str(exc).lower() else f"body is not valid JSON: {exc}"
        raise RequestRejected(400, "malformed_json", reason) from None
