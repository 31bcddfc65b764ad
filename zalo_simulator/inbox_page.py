"""The inbox page (``GET /_sim/inbox``): what each citizen's Zalo would show, live.

A static HTML page and one small script (``inbox/``, no build step) that poll ``/_sim/messages``. It lets an
agency preview its templates and a newcomer see the product in ten seconds; it reads only what the simulator
recorded, like every other ``/_sim/`` route.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from aiohttp import web

from zalo_simulator.runtime import Simulator

ASSETS = Path(__file__).with_name("inbox")
_TYPES = {"index.html": "text/html", "inbox.js": "text/javascript", "inbox.css": "text/css"}


async def page(_request: web.Request) -> web.Response:
    """GET /_sim/inbox: the page itself."""
    return _asset("index.html")


async def asset(request: web.Request) -> web.Response:
    """GET /_sim/inbox/{name}: its script and style sheet (only those files)."""
    name = request.match_info["name"]
    if name not in _TYPES:
        raise web.HTTPNotFound()
    return _asset(name)


def _asset(name: str) -> web.Response:
    return web.Response(
        body=(ASSETS / name).read_bytes(),
        content_type=_TYPES[name],
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


class TypedApi:
    """What citizens typed to the OA, so their side of a conversation shows next to the OA's answers.

    Zalo's own app shows it; here whoever plays the citizen (``hoso demo``) reports it, since the text goes to
    the OA's webhook and never through this simulator's send routes.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def add(self, request: web.Request) -> web.Response:
        """POST /_sim/typed {"user_id", "text"}: one line a citizen typed."""
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body.get("user_id"):
            return web.json_response({"error": "bad_request", "detail": 'expected {"user_id", "text"}'}, status=400)
        state = self.sim.state
        # "after" is how many messages the simulator had accepted: the page orders a line before the
        # message with that seq, so a chat reads in arrival order even when both share a millisecond.
        state.typed.append(
            {"user_id": str(body["user_id"]), "text": body["text"], "at": self.sim.clock.now_ms(),
             "after": len(state.messages)}
        )  # fmt: skip
        return web.json_response({"recorded": len(self.sim.state.typed)})

    async def list(self, request: web.Request) -> web.Response:
        """GET /_sim/typed?offset=: lines typed so far, oldest first."""
        try:
            offset = max(0, int(request.query.get("offset") or 0))
        except ValueError:
            raise web.HTTPBadRequest(text="offset must be an integer") from None
        return web.Response(
            body=orjson.dumps({"typed": self.sim.state.typed[offset:]}), content_type="application/json"
        )


def add_routes(app: web.Application, sim: Simulator) -> None:
    """Mount the page, its assets and the typed-lines record."""
    typed = TypedApi(sim)
    app.router.add_get("/_sim/inbox", page)
    app.router.add_get("/_sim/inbox/{name}", asset)
    app.router.add_get("/_sim/typed", typed.list)
    app.router.add_post("/_sim/typed", typed.add)
