"""Control endpoints under ``/_sim/``: inspect what was sent and steer the simulator.

These are not part of Zalo's API and get no fault injection.  Tests and load
runs use them to check exactly-once delivery (``stats``, ``tracking-ids``,
``messages``), to change faults while a pipeline runs, to move simulated time
across midnight or into the night ban, and to force token expiry.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from zalo_simulator.clock import vn_day, vn_iso
from zalo_simulator.faults import FaultSpec
from zalo_simulator.feedback import Rating
from zalo_simulator.runtime import Simulator
from zalo_simulator.state import ZBS_SEND_ENDPOINTS

MAX_PAGE = 10_000


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status=status, content_type="application/json"
    )


def _bad_request(detail: str) -> web.Response:
    return _json({"error": "bad_request", "detail": detail}, status=400)


def _int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be an integer") from None
    return max(lo, min(hi, value))


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode(errors="replace").strip()


class ControlApi:
    """Handlers for /_sim/*."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def health(self, request: web.Request) -> web.Response:
        """GET /_sim/health: readiness probe."""
        return _json({"status": "ok", "oas": list(self.sim.tokens.oas)})

    async def stats(self, request: web.Request) -> web.Response:
        """GET /_sim/stats: counters, duplicates, refreshes, quota use, faults, receipts."""
        sim = self.sim
        state = sim.state
        now = sim.clock.now()
        today = vn_day(now)
        refreshes = sim.tokens.refresh_counts()
        quota: dict[str, Any] = {}
        for oa_id, oa_state in sim.tokens.oas.items():
            daily = sim.daily_quota(oa_state.config)
            used = state.quota_used(oa_id, today)
            quota[oa_id] = {
                "daily_quota": daily,
                "used_today": used,
                "remaining_today": max(0, daily - used),
                "used_by_day": state.quota_history(oa_id),
            }
        return _json(
            {
                "requests": state.requests,
                "accepted": state.accepted,
                "accepted_unanswered": state.accepted_unanswered,
                "accepted_with_tracking_id": state.accepted_with_tracking_id,
                "unique_tracking_ids": len(state.tracking_counts),
                "duplicates": state.duplicates,
                "by_endpoint": {name: c.as_dict() for name, c in state.endpoints.items()},
                "by_error_code": {str(code): n for code, n in sorted(state.by_error_code.items())},
                "faults_injected": dict(sim.faults.counts),
                "token_refreshes": {"total": sum(refreshes.values()), "by_oa": refreshes},
                "quota": quota,
                "receipts": None
                if sim.receipts is None
                else {**sim.receipts.counters.as_dict(), "pending": sim.receipts.pending},
                "faults": sim.faults.spec.as_dict(),
                "clock": self._clock_view(),
            }
        )

    async def messages(self, request: web.Request) -> web.Response:
        """GET /_sim/messages?offset=&limit=&tracking_id=: accepted messages in arrival order."""
        state = self.sim.state
        offset = _int_param(request, "offset", 0, 0, 1 << 62)
        limit = _int_param(request, "limit", 100, 0, MAX_PAGE)
        tracking_id = request.query.get("tracking_id")
        total = state.accepted
        if tracking_id is None:
            seqs: Any = range(offset, min(total, offset + limit))
        else:
            matching = [i for i, m in enumerate(state.messages) if m.tracking_id == tracking_id]
            seqs = matching[offset : offset + limit]
            total = len(matching)
        views = [{**state.message_view(i), "receipt": self._receipt(i)} for i in seqs]
        return _json({"total": total, "offset": offset, "limit": limit, "messages": views})

    def _receipt(self, seq: int) -> dict[str, Any] | None:
        """Delivery of a ZBS message: delivered once ``receipt_delay_s`` passed; whether the webhook took it.

        OA messages get no receipt from Zalo (None).
        """
        sim = self.sim
        m = sim.state.messages[seq]
        if m.endpoint not in ZBS_SEND_ENDPOINTS:
            return None
        due = m.received_at + sim.config.receipt_delay_s
        delivered = sim.clock.now() >= due
        posted = sim.state.receipt_posts.get(seq)
        return {
            "status": "delivered" if delivered else "sent",
            "delivery_time": int(due * 1000) if delivered else None,
            "webhook": None
            if sim.receipts is None
            else ("waiting" if posted is None else "posted" if posted else "failed"),
        }

    async def tracking_ids(self, request: web.Request) -> web.Response:
        """GET /_sim/tracking-ids?min_count=: {tracking_id: times accepted}."""
        state = self.sim.state
        min_count = _int_param(request, "min_count", 1, 1, 1 << 62)
        counts = state.tracking_counts
        if min_count > 1:
            counts = {k: v for k, v in counts.items() if v >= min_count}
        return _json(
            {
                "unique": len(state.tracking_counts),
                "accepted_with_tracking_id": state.accepted_with_tracking_id,
                "duplicates": state.duplicates,
                "counts": counts,
            }
        )

    async def rate(self, request: web.Request) -> web.Response:
        """POST /_sim/rate {"message": msg_id or tracking_id, "rate": 1-5, "note"?, "feedbacks"?: [...]}.

        The citizen rates a ZBS message; the ``user_feedback`` event is posted to the webhook before the answer.
        """
        body = await _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("message"), str):
            return _bad_request('expected {"message": "<msg_id or tracking_id>", "rate": 1..5}')
        chips = body.get("feedbacks") or []
        if not isinstance(chips, list) or not all(isinstance(c, str) for c in chips):
            return _bad_request("feedbacks must be a list of strings")
        note = body.get("note") or ""
        if not isinstance(note, str):
            return _bad_request("note must be a string")
        try:
            rating = Rating(body.get("rate"), note, tuple(chips))  # type: ignore[arg-type]
        except ValueError as exc:
            return _bad_request(str(exc))
        try:
            result = await self.sim.rate(body["message"], rating)
        except LookupError as exc:
            return _json({"error": "not_found", "detail": str(exc)}, status=404)
        except RuntimeError as exc:
            return _json({"error": "no_webhook", "detail": str(exc)}, status=409)
        return _json(result)

    async def reset(self, request: web.Request) -> web.Response:
        """POST /_sim/reset [{"tokens": true}]: clear recordings, counters and quota use."""
        body = await _json_body(request)
        tokens = bool(body.get("tokens")) if isinstance(body, dict) else False
        self.sim.reset(tokens=tokens)
        return _json({"status": "reset", "tokens_reset": tokens})

    async def get_faults(self, request: web.Request) -> web.Response:
        """GET /_sim/faults: the active fault spec."""
        return _json(self.sim.faults.spec.as_dict())

    async def set_faults(self, request: web.Request) -> web.Response:
        """POST /_sim/faults: replace the active spec with a spec string, {"spec": "..."} or {"5xx": 0.1, ...}."""
        body = await _json_body(request)
        if isinstance(body, dict) and set(body) == {"spec"}:
            body = body["spec"]
        try:
            spec = FaultSpec.coerce(body)
        except ValueError as exc:
            return _bad_request(str(exc))
        self.sim.set_faults(spec)
        return _json(spec.as_dict())

    async def get_clock(self, request: web.Request) -> web.Response:
        """GET /_sim/clock: simulated now."""
        return _json(self._clock_view())

    async def set_clock(self, request: web.Request) -> web.Response:
        """POST /_sim/clock: {"shift_s": 3600} moves time; {"set_ms": epoch_ms} jumps."""
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _bad_request('expected {"shift_s": seconds} or {"set_ms": epoch_ms}')
        try:
            if "set_ms" in body:
                self.sim.clock.set(float(body["set_ms"]) / 1000.0)
            elif "shift_s" in body:
                self.sim.clock.shift(float(body["shift_s"]))
            else:
                return _bad_request('expected {"shift_s": seconds} or {"set_ms": epoch_ms}')
        except (TypeError, ValueError):
            return _bad_request("clock values must be numbers")
        return _json(self._clock_view())

    async def tokens(self, request: web.Request) -> web.Response:
        """GET /_sim/tokens: current credentials of every OA."""
        return _json(self.sim.tokens.describe())

    async def expire_token(self, request: web.Request) -> web.Response:
        """POST /_sim/tokens/expire [{"oa_id": ...}]: expire access tokens now."""
        body = await _json_body(request)
        oa_ids = list(self.sim.tokens.oas)
        if isinstance(body, dict) and body.get("oa_id") is not None:
            if body["oa_id"] not in self.sim.tokens.oas:
                return _bad_request(f"unknown oa_id {body['oa_id']!r}")
            oa_ids = [body["oa_id"]]
        for oa_id in oa_ids:
            self.sim.tokens.expire_access_token(oa_id)
        return _json({"expired": oa_ids})

    async def oauth_code(self, request: web.Request) -> web.Response:
        """POST /_sim/oauth/code {"oa_id", "code_challenge"?}: simulate admin consent."""
        body = await _json_body(request)
        body = body if isinstance(body, dict) else {}
        oa_id = body.get("oa_id") or next(iter(self.sim.tokens.oas))
        try:
            code = self.sim.tokens.issue_code(oa_id, body.get("code_challenge"))
        except KeyError:
            return _bad_request(f"unknown oa_id {oa_id!r}")
        return _json({"code": code, "oa_id": oa_id, "expires_in": 600})

    def _clock_view(self) -> dict[str, Any]:
        now = self.sim.clock.now()
        return {"now_ms": int(now * 1000), "vn_time": vn_iso(now), "offset_s": self.sim.clock.offset_s}
