"""Running a consumer loop (dispatcher, SMS fallback, rating sync) in-process until a condition holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol


class Runnable(Protocol):
    async def run(self) -> Any: ...
    def stop(self) -> Any: ...


async def run_until(dispatcher: Runnable, done: Callable[[], bool], timeout: float = 60.0) -> None:
    """Run ``dispatcher`` (anything with ``run()``/``stop()``) until ``done()``; re-raise if it dies first; stop it."""
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
