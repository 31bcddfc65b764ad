"""An agency's one-stop system for the rating sync-back tests: a local HTTP endpoint that records what it gets."""

from __future__ import annotations

import orjson
from aiohttp import web

from consumers.ratings.endpoints import AgencyEndpoint, Endpoints


class AgencySystem:
    """A one-stop system's rating endpoint: records every POST, answers 503 while ``failing``."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.headers: list[dict] = []
        self.failing = 0
        self.attempts = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.failing:
            self.failing -= 1
            return web.json_response({"error": "busy"}, status=503)
        self.received.append(orjson.loads(await request.read()))
        self.headers.append(dict(request.headers))
        return web.json_response({"ok": True})


def endpoints(url: str) -> Endpoints:
    """The sync-back configuration: Quảng Ninh's agencies post to ``url``; no other province has an endpoint."""
    return Endpoints((AgencyEndpoint(name="quangninh", codes=("000.00.*.H22",), url=url, token="t-qn"),))
