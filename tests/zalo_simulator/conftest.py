"""Fixtures for the Zalo simulator tests: simulators on free ports and an HTTP client.

Tests talk to a real listening simulator over HTTP (httpx), exactly as the
pipeline will, so routing, headers and JSON encoding are covered too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest_asyncio

from zalo_simulator import RunningSimulator, SimulatorConfig, start

StartSim = Callable[..., Awaitable[RunningSimulator]]


@pytest_asyncio.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    """Start simulators with config overrides; all are stopped after the test."""
    running: list[RunningSimulator] = []

    async def _start(**overrides: Any) -> RunningSimulator:
        base = SimulatorConfig(seed=overrides.pop("seed", 1234))
        sim = await start(dataclasses.replace(base, **overrides))
        running.append(sim)
        return sim

    yield _start
    for sim in running:
        await sim.stop()


@pytest_asyncio.fixture
async def sim(start_sim: StartSim) -> RunningSimulator:
    """A default, fault-free simulator."""
    return await start_sim()


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client shared by a test (pooled connections, like the pipeline)."""
    async with httpx.AsyncClient(timeout=5.0) as c:
        yield c
