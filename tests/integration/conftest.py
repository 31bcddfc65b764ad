"""Fixtures shared by the broker integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.integration.agency_system import AgencySystem


@pytest.fixture
async def agency() -> AsyncIterator[AgencySystem]:
    """The Quảng Ninh system, listening on a free local port for the test's duration."""
    system = AgencySystem()
    app = web.Application()
    app.router.add_post("/api/danh-gia", system.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    system.url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/danh-gia"
    yield system
    await runner.cleanup()
