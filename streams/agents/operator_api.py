"""``GET /v1/dossiers/{ma_ho_so}``: operators read a dossier's current state from the same table chat uses.

Served by the Faust workers' web servers: ``table_route`` forwards a request to the worker that owns the
dossier's partition, so the answer comes from the live table without a second copy of the data. Requests
need ``Authorization: Bearer <HOSO_OPERATOR_KEY>``, checked before forwarding; with no key configured every
request is refused. Only Faust's router pages stay on (table_route needs them); its table, stats and graph
pages are turned off in ``streams.app`` so no table can be read around this check.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict
from typing import Any

from faust.web import Request, Response, View

from schemas.topics import DOSSIER_STATE_TABLE
from streams.context import StreamsApp
from streams.dossier_state import DossierState

PATH = "/v1/dossiers/{ma_ho_so}"


def authorized(header: str | None, operator_key: str) -> bool:
    """Whether an Authorization header carries the operator key (constant-time; never with an empty key)."""
    if not operator_key or not header:
        return False
    return hmac.compare_digest(header.strip().encode(), f"Bearer {operator_key}".encode())


def public_view(state: DossierState) -> dict[str, Any]:
    """What an operator sees: the state without internal bookkeeping (recent event ids) or the proof hash."""
    data = asdict(state)
    data.pop("seen", None)
    data.pop("xac_thuc_hash", None)
    return data


def register(ctx: StreamsApp) -> None:
    """Add the lookup page to ``ctx.app`` (only meaningful when the worker's web server is on)."""
    app, settings = ctx.app, ctx.settings
    table = ctx.table(DOSSIER_STATE_TABLE)

    class DossierLookup(View):
        """One dossier's state, from the worker that owns its partition."""

        async def get(self, request: Request, ma_ho_so: str) -> Response:
            if not authorized(request.headers.get("Authorization"), settings.operator_key.get_secret_value()):
                return self.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
            return await self.routed(request, ma_ho_so=ma_ho_so)

        @app.table_route(table=table, match_info="ma_ho_so")
        async def routed(self, request: Request, ma_ho_so: str) -> Response:
            state = DossierState.from_bytes(table.get(ma_ho_so.encode()))
            if state is None:
                return self.json({"error": "not found", "ma_ho_so": ma_ho_so}, status=404)
            return self.json(public_view(state))

    app.page(PATH)(DossierLookup)
