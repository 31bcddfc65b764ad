"""ZBS delivery receipts (``user_received_message``) posted to the client's webhook.

The pipeline reconciles sends through these receipts, so they must look exactly
like Zalo's: the §6.3 payload with string ids and millisecond timestamps, header
``X-ZEvent-Server: ZNS`` and ``X-ZEvent-Signature`` = plain SHA-256 hex of
``app_id + raw body + timestamp + oa_secret_key``.  Failed posts (non-200 or
network error) are retried with a ``num_retry`` header, like Zalo's ladder but
with short, configurable pauses.

Sends must never wait for the webhook: receipts go into a bounded queue and are
dropped (and counted) when it is full.  Because every receipt has the same
delay, queue order is due order, so workers simply sleep until the head is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import orjson

from zalo_simulator.clock import SimClock
from zalo_simulator.config import OAConfig, SimulatorConfig


def receipt_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """X-ZEvent-Signature value: sha256(app_id + body + timestamp + OA secret), hex."""
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()).hexdigest()


def build_receipt(
    oa: OAConfig, recipient: str, msg_id: str, tracking_id: str | None, delivery_ms: int, timestamp_ms: int
) -> bytes:
    """Serialised ``user_received_message`` event for one delivered ZBS message."""
    return orjson.dumps(
        {
            "sender": {"id": oa.oa_id},
            "recipient": {"id": recipient},
            "event_name": "user_received_message",
            "message": {
                "delivery_time": str(delivery_ms),
                "msg_id": msg_id,
                "tracking_id": tracking_id or "",
            },
            "app_id": oa.app_id,
            "timestamp": str(timestamp_ms),
        }
    )


@dataclass(slots=True)
class _Pending:
    due: float
    """Event-loop time at which to post."""
    oa: OAConfig
    recipient: str
    msg_id: str
    tracking_id: str | None
    delivery_ms: int
    attempt: int = 0
    body: bytes | None = None
    timestamp: str = ""


@dataclass(slots=True)
class ReceiptCounters:
    """What happened to receipts, for /_sim/stats."""

    queued: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0

    def as_dict(self) -> dict[str, int]:
        """JSON view."""
        return {
            "queued": self.queued,
            "delivered": self.delivered,
            "retried": self.retried,
            "failed": self.failed,
            "dropped": self.dropped,
        }


class ReceiptSender:
    """Posts delivery receipts in the background; ``submit`` never blocks."""

    def __init__(
        self,
        url: str,
        config: SimulatorConfig,
        clock: SimClock,
        on_outcome: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.url = url
        self._on_outcome = on_outcome
        """Told (msg_id, taken) once a receipt was taken by the webhook or given up on."""
        self._delay = config.receipt_delay_s
        self._retry_delays = config.receipt_retry_delays_s
        self._timeout = config.receipt_timeout_s
        self._n_workers = config.receipt_workers
        self._clock = clock
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=config.receipt_queue_size)
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self.counters = ReceiptCounters()

    async def start(self) -> None:
        """Open the HTTP session and start the workers (inside the running loop)."""
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            connector=aiohttp.TCPConnector(limit=self._n_workers),
        )
        self._workers = [asyncio.create_task(self._work()) for _ in range(self._n_workers)]

    async def stop(self) -> None:
        """Stop posting; receipts still queued are abandoned."""
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    def submit(self, oa: OAConfig, recipient: str, msg_id: str, tracking_id: str | None, accepted_ms: int) -> None:
        """Schedule the receipt for a just-accepted message (dropped if the queue is full)."""
        delay = self._delay
        item = _Pending(
            asyncio.get_running_loop().time() + delay,
            oa,
            recipient,
            msg_id,
            tracking_id,
            accepted_ms + int(delay * 1000),
        )
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.counters.dropped += 1
        else:
            self.counters.queued += 1

    @property
    def pending(self) -> int:
        """Receipts waiting in the queue."""
        return self._queue.qsize()

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queue
        while True:
            item = await queue.get()
            wait = item.due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._post(item)

    async def post_event(self, oa: OAConfig, body: bytes, timestamp: str) -> int | None:
        """Post one other ZBS event now, signed like a receipt, retrying like Zalo; the last HTTP status.

        None: the webhook could not be reached at all. Used for rating callbacks (feedback.py), which a
        test wants to see taken before it looks for their effect.
        """
        headers = {
            "Content-Type": "application/json",
            "X-ZEvent-Server": "ZNS",
            "X-ZEvent-Signature": receipt_signature(oa.app_id, body, timestamp, oa.oa_secret_key),
        }
        status: int | None = None
        for attempt in range(len(self._retry_delays) + 1):
            if attempt:
                await asyncio.sleep(self._retry_delays[attempt - 1])
                headers["num_retry"] = str(attempt)
            session = self._session
            if session is None:
                return status
            try:
                async with session.post(self.url, data=body, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError, OSError):
                status = None
            if status == 200:
                break
        return status

    async def _post(self, item: _Pending) -> None:
        if item.body is None:
            ts = self._clock.now_ms()
            item.timestamp = str(ts)
            item.body = build_receipt(item.oa, item.recipient, item.msg_id, item.tracking_id, item.delivery_ms, ts)
        headers = {
            "Content-Type": "application/json",
            "X-ZEvent-Server": "ZNS",
            "X-ZEvent-Signature": receipt_signature(item.oa.app_id, item.body, item.timestamp, item.oa.oa_secret_key),
        }
        if item.attempt:
            headers["num_retry"] = str(item.attempt)
        session = self._session
        if session is None:
            return
        try:
            async with session.post(self.url, data=item.body, headers=headers) as resp:
                await resp.read()
                ok = resp.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            ok = False
        if ok:
            self.counters.delivered += 1
            if self._on_outcome is not None:
                self._on_outcome(item.msg_id, True)
            return
        if item.attempt >= len(self._retry_delays):
            self.counters.failed += 1
            if self._on_outcome is not None:
                self._on_outcome(item.msg_id, False)
            return
        item.due = asyncio.get_running_loop().time() + self._retry_delays[item.attempt]
        item.attempt += 1
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.counters.dropped += 1
        else:
            self.counters.retried += 1
