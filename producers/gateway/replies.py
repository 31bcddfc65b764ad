"""What the gateway answers: per-item outcomes for accepted requests, one JSON error shape for the rest.

Agencies fix their data from these replies, so every rejected item carries its index, the field path in the
payload they sent and a reason; a request-level failure (auth, size, syntax) is ``{"error", "reason"}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from hoso.errors import HosoError
from schemas.problems import Problem

INVALID = "invalid"
FORBIDDEN = "forbidden"


class RequestRejected(HosoError):
    """The whole request is refused with an HTTP status, a stable error code and a human reason."""

    def __init__(self, status: int, error: str, reason: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.error = error
        self.reason = reason
        self.headers = headers or {}
        super().__init__(f"{status} {error}: {reason}")


@dataclass(frozen=True)
class Rejection:
    """One item that was not accepted, and why (``kind`` is invalid or forbidden)."""

    index: int
    path: str
    reason: str
    kind: str = INVALID

    def to_dict(self) -> dict[str, Any]:
        """The item's entry in ``rejected``."""
        return {"index": self.index, "path": self.path, "reason": self.reason}


@dataclass
class Outcome:
    """Per-item results of one request."""

    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[Rejection] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def reject(self, index: int, problems: list[Problem], kind: str = INVALID) -> None:
        """Record every problem of item ``index``."""
        self.rejected.extend(Rejection(index, p.path, p.message, kind) for p in problems)

    @property
    def status(self) -> int:
        """200 all accepted; 207 some; none: 403 if only forbidden items, else 422."""
        if not self.rejected:
            return 200
        if self.accepted:
            return 207
        return 403 if all(r.kind == FORBIDDEN for r in self.rejected) else 422

    def body(self) -> dict[str, Any]:
        """The reply document (``warnings`` only when there are some)."""
        out: dict[str, Any] = {"accepted": self.accepted, "rejected": [r.to_dict() for r in self.rejected]}
        if self.warnings:
            out["warnings"] = [w.to_dict() for w in self.warnings]
        out.update(self.extra)
        return out

    def response(self) -> web.Response:
        """As an HTTP response."""
        return json_response(self.body(), self.status)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response serialised with orjson."""
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def error_response(status: int, error: str, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    """The request-level error shape ``{"error": code, "reason": text}``."""
    return json_response({"error": error, "reason": reason}, status, headers)
