"""The aiohttp application: routes, request limits, and one error shape for every failure.

Whatever goes wrong (an unknown path, a wrong method, a refused key, a bug) the client gets
``{"error", "reason"}`` as JSON with the matching status, and the request is counted by route template only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from hoso import metrics
from hoso.errors import ConfigurationError
from producers import dvcqg
from producers.gateway import routes
from producers.gateway.replies import RequestRejected, error_response

log = logging.getLogger(__name__)

OPENAPI_FILE = Path(__file__).with_name("openapi.json")
"""The gateway's OpenAPI 3.1 document, also served at ``/openapi.json``."""

_ERROR_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_and_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Convert every failure to the JSON error shape and count the request."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    try:
        response = await handler(request)
    except RequestRejected as exc:
        response = error_response(exc.status, exc.error, exc.reason, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        response = error_response(exc.status, _ERROR_CODES.get(exc.status, "http_error"), exc.reason, headers)
    except Exception:
        log.exception("gateway: unexpected error on %s", route)
        response = error_response(
            500, "internal_error", "the gateway failed; resend the request (replays are harmless)"
        )
    metrics.GATEWAY_REQUESTS.labels(route, str(response.status)).inc()
    return response


async def openapi(_request: web.Request) -> web.FileResponse:
    """The OpenAPI document of this gateway."""
    return web.FileResponse(OPENAPI_FILE, headers={"Content-Type": "application/json"})


def check_limits(limits: routes.Limits) -> None:
    """Refuse limits that would make the gateway useless or unsafe."""
    problems = []
    if limits.max_body_bytes < 1024:
        problems.append("HOSO_GATEWAY_MAX_BODY_BYTES must be >= 1024")
    if limits.max_batch < 1:
        problems.append("HOSO_GATEWAY_MAX_BATCH must be >= 1")
    if limits.read_timeout_s <= 0:
        problems.append("HOSO_GATEWAY_READ_TIMEOUT_S must be > 0")
    if problems:
        raise ConfigurationError("bad gateway settings: " + "; ".join(problems))


def create_app(context: routes.Context) -> web.Application:
    """The gateway application around ``context`` (keys, sinks, limits, clock)."""
    check_limits(context.limits)
    app = web.Application(client_max_size=context.limits.max_body_bytes, middlewares=[errors_and_metrics])
    app[routes.CONTEXT] = context
    app.router.add_get("/healthz", routes.healthz)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_post("/v1/dossier-events", routes.dossier_events)
    for service in dvcqg.SERVICES:
        app.router.add_post(f"/v1/dvcqg/{service}", routes.dvcqg_handler(service))
    app.router.add_post("/v1/broadcasts", routes.broadcasts)
    return app
