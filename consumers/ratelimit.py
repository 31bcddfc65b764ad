"""Per-OA send rate: a token bucket whose waiters are served by priority, then arrival.

When an OA's rate is the bottleneck, this is where priority lanes take effect: an emergency alert waiting
for a token goes before any dossier update, which goes before any survey invitation.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable


class PriorityBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``acquire(priority)`` waits for one."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._waker: asyncio.Task[None] | None = None

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self, priority: int) -> None:
        """Take one token, waiting behind higher-priority (lower number) and earlier waiters."""
        self._refill()
        if not self._waiters and self._tokens >= 1:
            self._tokens -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._seq), future))
        if self._waker is None or self._waker.done():
            self._waker = asyncio.create_task(self._wake())
        await future

    async def _wake(self) -> None:
        while self._waiters:
            self._refill()
            while self._waiters and self._tokens >= 1:
                _, _, future = heapq.heappop(self._waiters)
                if not future.done():
                    self._tokens -= 1
                    future.set_result(None)
            if self._waiters:
                await asyncio.sleep(max(0.001, (1 - self._tokens) / self.rate))
