"""The gateway's endpoints: dossier events (native or national-portal format), area alerts and health.

Each handler authenticates first (no body is read for an unknown caller), reads the body within its limits,
judges every item on its own (a bad item never keeps a good one out), publishes the accepted ones and waits
for Kafka's acknowledgement, and only then answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from hoso import metrics
from hoso.errors import PublishError
from producers import dvcqg
from producers.gateway.auth import Agency, KeyRing, Principal, dossier_prefix
from producers.gateway.body import read_json
from producers.gateway.publishing import EventSink
from producers.gateway.replies import FORBIDDEN, Outcome, Rejection, RequestRejected, json_response
from schemas.codec import check_event, validate
from schemas.common import now_vn
from schemas.dossier_event import DossierEvent
from schemas.problems import Problem

BroadcastSink = Callable[[Any], Awaitable[None]]
"""Publishes one validated ``schemas.broadcast.Broadcast`` durably, or raises PublishError."""


@dataclass(frozen=True)
class Limits:
    """Request limits (from settings)."""

    max_body_bytes: int
    max_batch: int
    read_timeout_s: float


@dataclass(frozen=True)
class Context:
    """What handlers need; stored on the aiohttp application."""

    keyring: KeyRing
    events: EventSink
    broadcasts: BroadcastSink | None
    limits: Limits
    clock: Callable[[], datetime] = now_vn
    proof_key: str | None = None
    """HOSO_PROOF_KEY: turns the owner's ID number in national payloads into ``xac_thuc_hash``."""


CONTEXT = web.AppKey("gateway_context", Context)


def _authenticate(request: web.Request) -> Principal:
    principal = request.app[CONTEXT].keyring.authenticate(request.headers.get("Authorization"))
    if principal is None:
        raise RequestRejected(
            401, "unauthorized", "send Authorization: Bearer <your agency API key>", {"WWW-Authenticate": "Bearer"}
        )
    return principal


def _agency_of(principal: Principal) -> Agency:
    if principal.agency is None:
        raise RequestRejected(403, "forbidden", f"key {principal.label!r} belongs to no agency; it cannot publish")
    return principal.agency


async def _publish(ctx: Context, events: list[DossierEvent]) -> None:
    try:
        await ctx.events.publish(events)
    except PublishError as exc:
        raise RequestRejected(
            503, "kafka_unavailable", f"events were not acknowledged by Kafka; resend the request ({exc})"
        ) from None


def _count(route: str, outcome: Outcome) -> None:
    if outcome.accepted:
        metrics.GATEWAY_ITEMS.labels(route, "accepted").inc(outcome.accepted)
    for kind in {r.kind for r in outcome.rejected}:
        items = {r.index for r in outcome.rejected if r.kind == kind}
        metrics.GATEWAY_ITEMS.labels(route, kind).inc(len(items))


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process serves requests and has keys loaded."""
    return json_response({"status": "ok", "keys": len(request.app[CONTEXT].keyring)})


async def dossier_events(request: web.Request) -> web.Response:
    """One DossierEvent or a JSON array of them."""
    ctx = request.app[CONTEXT]
    agency = _agency_of(_authenticate(request))
    body = await read_json(request, ctx.limits.max_body_bytes, ctx.limits.read_timeout_s)
    items = body if isinstance(body, list) else [body]
    if not items:
        raise RequestRejected(400, "empty_batch", "the array holds no events")
    if len(items) > ctx.limits.max_batch:
        raise RequestRejected(
            413, "too_many_items", f"{len(items)} events in one request; the limit is {ctx.limits.max_batch}"
        )
    outcome = Outcome()
    accepted: list[DossierEvent] = []
    for i, item in enumerate(items):
        event, problems = check_event(item)
        if event is None:
            outcome.reject(i, problems)
            continue
        forbidden = _foreign_codes(agency, event)
        if forbidden:
            outcome.reject(i, forbidden, FORBIDDEN)
            continue
        accepted.append(event)
    await _publish(ctx, accepted)
    outcome.accepted = len(accepted)
    _count("/v1/dossier-events", outcome)
    return outcome.response()


def _foreign_codes(agency: Agency, event: DossierEvent) -> list[Problem]:
    out = []
    for path, code in (
        ("source_system", event.source_system),
        ("data.don_vi_tiep_nhan.ma_dinh_danh", event.data.don_vi_tiep_nhan.ma_dinh_danh),
    ):
        if not agency.allows(code):
            out.append(Problem(path, f"{code} is not one of the codes of agency {agency.id!r}"))
    if not agency.owns_dossier(event.data.ma_ho_so):
        out.append(_foreign_dossier(agency, "data.ma_ho_so", event.data.ma_ho_so))
    return out


def _foreign_dossier(agency: Agency, path: str, ma_ho_so: str) -> Problem:
    return Problem(
        path,
        f"dossier {ma_ho_so} starts with agency code {dossier_prefix(ma_ho_so)!r}, "
        f"which is not one of the codes of agency {agency.id!r}",
    )


def dvcqg_handler(service: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler for one national-portal service (``DongBoHoSoMC`` or ``CapNhatTienDoHoSoMC``)."""
    route = f"/v1/dvcqg/{service}"

    async def handler(request: web.Request) -> web.Response:
        ctx = request.app[CONTEXT]
        agency = _agency_of(_authenticate(request))
        if agency.dvcqg is None:
            raise RequestRejected(
                403, "forbidden", f"agency {agency.id!r} has no national-portal profile (dvcqg) in the keys file"
            )
        body = await read_json(request, ctx.limits.max_body_bytes, ctx.limits.read_timeout_s)
        envelope = dvcqg.envelope_problems(body, service)
        if envelope:
            raise RequestRejected(400, "invalid_envelope", "; ".join(str(p) for p in envelope))
        madonvi = str(body["madonvi"]).strip()
        if not agency.allows(madonvi):
            raise RequestRejected(
                403, "forbidden", f"madonvi {madonvi} is not one of the codes of agency {agency.id!r}"
            )
        if len(body["data"]) > ctx.limits.max_batch:
            raise RequestRejected(
                413,
                "too_many_items",
                f"{len(body['data'])} dossiers in one request; the limit is {ctx.limits.max_batch}",
            )
        outcome = Outcome()
        accepted: list[DossierEvent] = []
        for mapped in dvcqg.map_payload(body, service, agency.dvcqg, ctx.clock(), proof_key=ctx.proof_key):
            outcome.warnings.extend(Rejection(mapped.index, w.path, w.message) for w in mapped.warnings)
            if mapped.event is None or mapped.problems:
                outcome.reject(mapped.index, mapped.problems)
            elif not agency.owns_dossier(mapped.event.data.ma_ho_so):
                path = f"data[{mapped.index}].MaHoSo"
                outcome.reject(mapped.index, [_foreign_dossier(agency, path, mapped.event.data.ma_ho_so)], FORBIDDEN)
            else:
                accepted.append(mapped.event)
        await _publish(ctx, accepted)
        outcome.accepted = len(accepted)
        # The national adapter answers error_code "00" on success; senders written for it can keep their check.
        outcome.extra["error_code"] = "00" if not outcome.rejected else "01"
        _count(route, outcome)
        return outcome.response()

    handler.__doc__ = f"The national portal's {service} payload, mapped to DossierEvent v1."
    return handler


async def broadcasts(request: web.Request) -> web.Response:
    """An area alert (operator keys only)."""
    from schemas.broadcast import Broadcast

    ctx = request.app[CONTEXT]
    principal = _authenticate(request)
    if not principal.operator:
        raise RequestRejected(403, "forbidden", f"key {principal.label!r} is not an operator key")
    if ctx.broadcasts is None:
        raise RequestRejected(503, "broadcasts_unavailable", "this gateway has no broadcast publisher")
    body = await read_json(request, ctx.limits.max_body_bytes, ctx.limits.read_timeout_s)
    if isinstance(body, dict):  # who and when come from the key and our clock, never from the body
        body = {**body, "issued_by": principal.label, "issued_at": ctx.clock().isoformat()}
    model, problems = validate(Broadcast, body)
    outcome = Outcome()
    if model is None:
        outcome.reject(0, problems)
        _count("/v1/broadcasts", outcome)
        return outcome.response()
    try:
        await ctx.broadcasts(model)
    except PublishError as exc:
        raise RequestRejected(503, "kafka_unavailable", f"the alert was not acknowledged by Kafka ({exc})") from None
    outcome.accepted = 1
    outcome.extra["broadcast_id"] = model.broadcast_id
    _count("/v1/broadcasts", outcome)
    return outcome.response()
