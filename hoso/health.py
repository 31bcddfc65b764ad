"""Liveness and readiness of a long-running role, judged from its event loop and its consumer's progress.

A TCP check on the metrics port proves nothing: prometheus_client answers from its own thread while the
event loop is blocked or the poll loop is stuck. So each role runs ``heartbeat()`` on its event loop, and
its consumer (when it has one) calls ``polled()`` on every pass of its fetch loop and ``assigned()`` after
a rebalance. The verdict is computed from the age of those stamps by the metrics server's thread, which
keeps answering (503) while the loop is stuck: a probe gets a clear "no" rather than a timeout.

- ``/healthz`` (liveness): the loop beat within ``loop_stall_s`` and, for a consumer that holds an
  assignment, the fetch loop ran within ``poll_stall_s`` (during a rebalance the fetch loop may wait on state
  loading). A process that has not beaten yet is "starting" (the startup probe covers it).
- ``/readyz`` (readiness): live, plus every readiness condition the role declared (consumer group joined,
  tables restored) holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BEAT_INTERVAL_S = 0.5
"""How often the event loop stamps its heartbeat; well below any sensible stall threshold."""


@dataclass(frozen=True)
class Verdict:
    """One answer to a probe: ``ok`` and the reasons (empty when ok) and the numbers behind it."""

    ok: bool
    reasons: tuple[str, ...]
    details: dict[str, Any]

    @property
    def status(self) -> int:
        """HTTP status for the probe (Kubernetes and Compose read only the status)."""
        return 200 if self.ok else 503

    def body(self) -> dict[str, Any]:
        """JSON body: a human reading ``curl`` output sees why."""
        return {"status": "ok" if self.ok else "unhealthy", "reasons": list(self.reasons), **self.details}


@dataclass
class Health:
    """The health state of one process; written from the event loop, read from the probe server's thread.

    Plain attribute writes of floats are atomic under the GIL, so no lock is needed.
    """

    role: str
    loop_stall_s: float = 10.0
    poll_stall_s: float = 60.0
    consumer: bool = False
    clock: Callable[[], float] = time.monotonic
    last_beat: float | None = None
    last_poll: float | None = None
    partitions: int | None = None
    conditions: dict[str, Callable[[], bool]] = field(default_factory=dict)

    # --- written by the role ------------------------------------------------------------------
    def beat(self) -> None:
        """The event loop ran a callback just now."""
        self.last_beat = self.clock()

    def polled(self) -> None:
        """The consumer's fetch loop made one pass (records or not, or a deliberate backpressure wait)."""
        self.last_poll = self.clock()

    def assigned(self, partitions: int) -> None:
        """The consumer joined its group and owns ``partitions`` partitions (0 is a valid answer): progress."""
        self.partitions = partitions
        self.last_poll = self.clock()

    def revoked(self) -> None:
        """A rebalance started: not ready until the next assignment."""
        self.partitions = None

    def require(self, name: str, check: Callable[[], bool]) -> None:
        """Readiness also needs ``check()`` to be true (e.g. ``tables_restored``)."""
        self.conditions[name] = check

    async def heartbeat(self, interval: float = BEAT_INTERVAL_S) -> None:
        """Beat forever on the running loop: a blocked loop stops beating, and the stamp ages."""
        while True:
            self.beat()
            await asyncio.sleep(interval)

    def start_heartbeat(self, interval: float = BEAT_INTERVAL_S) -> asyncio.Task[None]:
        """Run ``heartbeat`` as a task of the running loop (kept referenced by the caller)."""
        return asyncio.get_running_loop().create_task(self.heartbeat(interval), name=f"hoso-{self.role}-heartbeat")

    # --- read by the probe server -------------------------------------------------------------
    def _age(self, stamp: float | None, now: float) -> float | None:
        return None if stamp is None else round(now - stamp, 3)

    def liveness(self) -> Verdict:
        """Alive: the loop beats, and a consumer's fetch loop moves."""
        now = self.clock()
        loop_age = self._age(self.last_beat, now)
        poll_age = self._age(self.last_poll, now)
        reasons = []
        if loop_age is None:
            reasons.append("starting: the event loop has not beaten yet")
        elif loop_age > self.loop_stall_s:
            reasons.append(f"event loop blocked for {loop_age:.1f}s (limit {self.loop_stall_s:g}s)")
        # A rebalance (revoked, not yet assigned) may legitimately hold the fetch loop while the new owner
        # loads its state (the dispatcher's sent-log): not a reason to restart, only to be unready.
        if self.consumer and self.partitions is not None and poll_age is not None and poll_age > self.poll_stall_s:
            reasons.append(f"consumer has not polled for {poll_age:.1f}s (limit {self.poll_stall_s:g}s)")
        details: dict[str, Any] = {"role": self.role, "loop_age_s": loop_age}
        if self.consumer:
            details |= {"poll_age_s": poll_age, "partitions": self.partitions}
        return Verdict(not reasons, tuple(reasons), details)

    def readiness(self) -> Verdict:
        """Ready: alive, the consumer has an assignment (and has polled), every declared condition holds."""
        live = self.liveness()
        reasons = list(live.reasons)
        if self.consumer:
            if self.partitions is None:
                reasons.append("consumer has no assignment yet (joining or rebalancing)")
            if self.last_poll is None:
                reasons.append("consumer has not polled yet")
        for name, check in self.conditions.items():
            try:
                holds = bool(check())
            except Exception as exc:  # a probe must answer, whatever the check does
                holds = False
                name = f"{name} ({type(exc).__name__})"
            if not holds:
                reasons.append(f"not yet: {name}")
        return Verdict(not reasons, tuple(reasons), live.details)
