"""Running a Dispatcher in-process until a condition holds, for the broker-backed dispatcher tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from consumers.dispatcher import Dispatcher


async def run_until(dispatcher: Dispatcher, done: Callable[[], bool], timeout: float = 60.0) -> None:
    """Run ``dispatcher`` until ``done()``; re-raise if it dies first; always stop and await it."""
    task = asyncio.create_task(dispatcher.run())
    try:
        async with asyncio.timeout(timeout):
            while not done():
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
    finally:
        dispatcher.stop()
        await task
