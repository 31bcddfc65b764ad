"""The Faust worker as a process of a broker test: started with the test's settings, watched while waiting.

A worker takes a while to join its group and restore its tables, so tests wait on what the citizen or the
simulator sees; a worker that died meanwhile fails the wait at once, with the tail of its log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from hoso.settings import Settings
from hosoctl.processes import Process


def start_worker(settings: Settings | dict[str, str], log: Path) -> Process:
    """``hoso worker`` as a process with ``settings`` (or an environment), logging to ``log``."""
    env = settings.to_env() if isinstance(settings, Settings) else settings
    return Process("worker", ["worker"], env, log).start()


async def wait_for(
    done: Callable[[], bool],
    timeout: float,
    what: str | Callable[[], str],
    worker: Process | None = None,
    every: float = 0.2,
) -> None:
    """Until ``done()``; fails when the worker died, or after ``timeout`` s saying ``what`` (a text, or a function
    describing what was seen by then) and the worker log."""
    deadline = time.monotonic() + timeout
    while not done():
        if worker is not None:
            assert worker.alive, worker.tail()
        if time.monotonic() > deadline:
            log = f"; worker log:\n{worker.tail()}" if worker is not None else ""
            said = what if isinstance(what, str) else what()
            raise AssertionError(f"timed out after {timeout:.0f}s: {said}{log}")
        await asyncio.sleep(every)


async def ask_until(
    ask: Callable[[], Awaitable[int]], done: Callable[[], bool], worker: Process, timeout: float = 120
) -> None:
    """Send a chat question every few seconds until ``done()``: the first questions go unanswered while the worker
    joins its group, and the receiver answers 503 while new topics still elect leaders."""
    deadline = time.monotonic() + timeout
    while not done():
        assert worker.alive, worker.tail()
        assert time.monotonic() < deadline, f"no answer after {timeout:.0f}s; worker log:\n{worker.tail()}"
        assert await ask() in (200, 503)
        await asyncio.sleep(3)
