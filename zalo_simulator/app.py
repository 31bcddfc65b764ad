"""The aiohttp application: Zalo's routes plus /_sim/ control, with fault injection.

Every Zalo route goes through ``_zalo_route``, which applies the configured
latency and faults, counts the outcome and writes the JSON response; the hot path
without faults is one random draw, the handler and a counter update.  Paths are
the ones on Zalo's hosts, so a client needs nothing but a different base URL:
business.openapi.zalo.me, openapi.zalo.me and oauth.zaloapp.com can all point
at one simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from zalo_simulator.config import SimulatorConfig
from zalo_simulator.control import ControlApi
from zalo_simulator.errors import ZaloError, error_body
from zalo_simulator.faults import FaultKind
from zalo_simulator.inbox_page import add_routes as add_inbox_routes
from zalo_simulator.oa import OaApi
from zalo_simulator.oauth import OAuthApi
from zalo_simulator.runtime import Simulator
from zalo_simulator.state import (
    EP_OA_CS,
    EP_OA_TEMPLATE,
    EP_OA_V2,
    EP_OAUTH_TOKEN,
    EP_ZBS_HASH,
    EP_ZBS_PHONE,
    EP_ZBS_QUOTA,
    EP_ZBS_STATUS,
    SEND_ENDPOINTS,
)
from zalo_simulator.zbs import Reply, ZbsApi

SIMULATOR_KEY = web.AppKey("zalo_simulator", Simulator)
"""``app[SIMULATOR_KEY]`` is the Simulator behind an application."""

_JSON = "application/json"
_GATEWAY_PAGES = {
    500: b"<html><head><title>500 Internal Server Error</title></head><body>"
    b"<center><h1>500 Internal Server Error</h1></center></body></html>",
    502: b"<html><head><title>502 Bad Gateway</title></head><body>"
    b"<center><h1>502 Bad Gateway</h1></center></body></html>",
    503: b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>",
}
_RATE_LIMITED = error_body(ZaloError.RATE_LIMIT)
_UNKNOWN = error_body(ZaloError.UNKNOWN)

ZaloHandler = Callable[[web.Request], Awaitable[Reply]]
WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _zalo_route(sim: Simulator, endpoint: str, handler: ZaloHandler) -> WebHandler:
    """Wrap a Zalo handler with latency, fault injection and outcome counting."""
    state = sim.state
    faults = sim.faults
    counters = state.endpoint(endpoint)
    records = endpoint in SEND_ENDPOINTS

    async def route(request: web.Request) -> web.StreamResponse:
        delay = faults.latency()
        if delay:
            await asyncio.sleep(delay)
        fault = faults.draw()
        if fault is None:
            code, body = await handler(request)
            state.count_reply(counters, code)
            _note_if_unanswered(request, code)
            return web.Response(body=body, content_type=_JSON)
        if fault is FaultKind.HTTP_5XX:
            state.count_http_5xx(counters)
            status = faults.pick_5xx_status()
            return web.Response(body=_GATEWAY_PAGES[status], status=status, content_type="text/html")
        if fault is FaultKind.RATE_LIMIT:
            state.count_reply(counters, ZaloError.RATE_LIMIT)
            return web.Response(body=_RATE_LIMITED, content_type=_JSON)
        if fault is FaultKind.UNKNOWN:
            state.count_reply(counters, ZaloError.UNKNOWN)
            return web.Response(body=_UNKNOWN, content_type=_JSON)
        # TIMEOUT: do the work (the message is accepted), then answer too late.
        code, body = await handler(request)
        state.count_reply(counters, code)
        await asyncio.sleep(faults.spec.timeout_hold_s)
        _note_if_unanswered(request, code)
        return web.Response(body=body, content_type=_JSON)

    def _note_if_unanswered(request: web.Request, code: int) -> None:
        transport = request.transport
        if records and code == 0 and (transport is None or transport.is_closing()):
            state.accepted_unanswered += 1

    return route


def create_app(config: SimulatorConfig) -> web.Application:
    """Build the simulator's aiohttp application for ``config``."""
    sim = Simulator(config)
    app = web.Application(client_max_size=1024 * 1024)
    app[SIMULATOR_KEY] = sim

    zbs, oa, oauth, control = ZbsApi(sim), OaApi(sim), OAuthApi(sim), ControlApi(sim)
    zalo_routes: list[tuple[str, str, ZaloHandler]] = [
        ("POST", EP_ZBS_PHONE, zbs.send_by_phone),
        ("POST", EP_ZBS_HASH, zbs.send_by_hash_phone),
        ("GET", EP_ZBS_STATUS, zbs.message_status),
        ("GET", EP_ZBS_QUOTA, zbs.message_quota),
        ("POST", EP_OA_CS, oa.send_cs),
        ("POST", EP_OA_TEMPLATE, oa.send_template),
        ("POST", EP_OA_V2, oa.send_v2),
        ("POST", EP_OAUTH_TOKEN, oauth.access_token),
    ]
    for method, path, handler in zalo_routes:
        app.router.add_route(method, path, _zalo_route(sim, path, handler))

    app.router.add_get("/_sim/health", control.health)
    app.router.add_get("/_sim/stats", control.stats)
    app.router.add_get("/_sim/messages", control.messages)
    app.router.add_get("/_sim/tracking-ids", control.tracking_ids)
    app.router.add_post("/_sim/reset", control.reset)
    app.router.add_post("/_sim/rate", control.rate)
    app.router.add_get("/_sim/faults", control.get_faults)
    app.router.add_post("/_sim/faults", control.set_faults)
    app.router.add_get("/_sim/clock", control.get_clock)
    app.router.add_post("/_sim/clock", control.set_clock)
    app.router.add_get("/_sim/tokens", control.tokens)
    app.router.add_post("/_sim/tokens/expire", control.expire_token)
    app.router.add_post("/_sim/oauth/code", control.oauth_code)
    add_inbox_routes(app, sim)

    async def start_receipts(_: web.Application) -> None:
        if sim.receipts is not None:
            await sim.receipts.start()

    async def stop_receipts(_: web.Application) -> None:
        if sim.receipts is not None:
            await sim.receipts.stop()

    app.on_startup.append(start_receipts)
    app.on_cleanup.append(stop_receipts)
    return app
