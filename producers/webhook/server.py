"""The Zalo webhook receiver: verify, publish durably, then answer 200 (within Zalo's 2 seconds).

``POST /zalo/webhook`` reads the raw body, checks ``X-ZEvent-Signature`` (signature.py) and refuses unsigned or
forged calls with 401 before anything is parsed further or published. An accepted call is written to
``zalo-events.v1`` by an idempotent producer with ``acks=all`` and the answer waits for that acknowledgement:
a 200 means the event is in Kafka. If Kafka does not acknowledge in time the answer is 503 and Zalo retries.
Retries of an already accepted call are answered 200 from a bounded cache without a second write.

Replays: a call whose signed ``timestamp`` is further than ``HOSO_WEBHOOK_MAX_AGE_S`` from our clock is
answered 200 and has no effect (a 4xx would make Zalo retry the same stale call and finally disable the
webhook); inside that window the cache is filled from ``zalo-events.v1`` itself (replay.py), so a replay
is recognised after a restart and by every replica.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from hoso import metrics
from hoso.health import Health
from hoso.kafka import clients as kafka_clients
from hoso.kafka.producer import RenewingProducer
from hoso.settings import Settings
from producers.webhook.events import build_event, record_key
from producers.webhook.recent import RecentIds
from producers.webhook.replay import ReplayWindow, is_fresh
from producers.webhook.signature import SignatureConfig, verify
from schemas.codec import dumps
from schemas.common import now_vn

log = logging.getLogger("hoso.webhook")

PATH = "/zalo/webhook"
MAX_BODY_BYTES = 1_000_000
PUBLISH_TIMEOUT_S = 1.5
BODY_TIMEOUT_S = 5.0
"""Zalo sends a small body at once and waits 2 s for the answer: a body still dribbling in after this long is
not Zalo, and must not hold a handler (and a connection) for as long as the client likes."""


def _json(status: int, **body: Any) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


class WebhookReceiver:
    """One receiver process: an aiohttp app with its own Kafka producer."""

    def __init__(
        self, settings: Settings, *, recent_capacity: int = 200_000, clock: Callable[[], float] = time.time
    ) -> None:
        """``clock``: epoch seconds, the reference for signed timestamps (tests move it)."""
        self.settings = settings
        self.topic = settings.topics.zalo_events.name
        self.signatures = SignatureConfig.from_settings(settings)
        self.recent = RecentIds(recent_capacity)
        self.clock = clock
        self.replay = ReplayWindow(
            kafka_clients.aiokafka(settings),
            self.topic,
            settings.topics.zalo_events.partitions,
            settings.webhook_max_age_s,
            self.recent,
            clock,
        )
        self._producer: RenewingProducer | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    def app(self) -> web.Application:
        """The aiohttp application (routes only; the producer is started by ``start``)."""
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(PATH, self.handle)
        app.router.add_get("/healthz", self.health)
        return app

    async def health(self, _request: web.Request) -> web.Response:
        """Liveness: the process answers and its producer is started."""
        return _json(200 if self._producer is not None else 503, ok=self._producer is not None)

    async def handle(self, request: web.Request) -> web.Response:
        """Verify, publish, answer."""
        started = time.perf_counter()
        response, outcome = await self._handle(request)
        metrics.WEBHOOK_SECONDS.labels(outcome).observe(time.perf_counter() - started)
        return response

    async def _handle(self, request: web.Request) -> tuple[web.Response, str]:
        zns = request.headers.get("X-ZEvent-Server", "").strip().upper() == "ZNS"
        server = "ZNS" if zns else "OA"
        try:
            async with asyncio.timeout(BODY_TIMEOUT_S):
                raw = await request.read()
        except TimeoutError:
            metrics.WEBHOOK_REQUESTS.labels("malformed", "none", server).inc()
            return _json(408, error=f"the body did not arrive within {BODY_TIMEOUT_S:g} s"), "malformed"
        except web.HTTPRequestEntityTooLarge:
            metrics.WEBHOOK_REQUESTS.labels("malformed", "none", server).inc()
            return _json(413, error="body too large"), "malformed"
        header = request.headers.get("X-ZEvent-Signature")
        if not header:
            metrics.WEBHOOK_REQUESTS.labels("unsigned", "none", server).inc()
            return _json(401, error="missing X-ZEvent-Signature"), "unsigned"
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            payload = None
        timestamp = payload.get("timestamp") if isinstance(payload, dict) else None
        variant = (
            verify(self.signatures, raw, header, str(timestamp))
            if isinstance(payload, dict) and isinstance(timestamp, str | int) and not isinstance(timestamp, bool)
            else None
        )
        if variant is None or not isinstance(payload, dict):
            metrics.WEBHOOK_REQUESTS.labels("forged", "none", server).inc()
            return _json(401, error="bad signature"), "forged"
        if not is_fresh(timestamp, self.clock(), self.settings.webhook_max_age_s):
            log.warning("webhook call signed at %r is outside the replay window; ignored", str(timestamp)[:20])
            metrics.WEBHOOK_REQUESTS.labels("stale", variant, server).inc()
            return _json(200, ok=False, ignored="stale timestamp"), "stale"
        event = build_event(payload, raw, zns=zns, variant=variant, received_at=now_vn())
        if event.event_id in self.recent:
            metrics.WEBHOOK_REQUESTS.labels("duplicate", variant, server).inc()
            return _json(200, ok=True, duplicate=True), "duplicate"
        try:
            await self._publish(record_key(event, self.settings.pseudonym_key.get_secret_value()), dumps(event))
        except (KafkaError, TimeoutError) as exc:
            log.warning("webhook event not acknowledged by Kafka (%s); Zalo will retry", type(exc).__name__)
            metrics.WEBHOOK_REQUESTS.labels("publish_failed", variant, server).inc()
            return _json(503, error="not stored, retry later"), "publish_failed"
        self.recent.add(event.event_id)
        metrics.WEBHOOK_REQUESTS.labels("accepted", variant, server).inc()
        return _json(200, ok=True), "accepted"

    async def _publish(self, key: bytes, value: bytes) -> None:
        if self._producer is None:
            raise KafkaError("producer not started")
        async with asyncio.timeout(PUBLISH_TIMEOUT_S):
            await self._producer.send_and_wait(self.topic, key=key, value=value)

    async def start(self, host: str | None = None, port: int | None = None) -> str:
        """Start the producer and the HTTP server; returns the webhook URL."""
        config = kafka_clients.async_producer(self.settings, client_id="hoso-webhook")
        self._producer = RenewingProducer(lambda: AIOKafkaProducer(**config), name="webhook producer")
        await self._producer.start()
        await self.replay.start()  # before the first call is answered: a replay after a restart is known
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        bind = host if host is not None else self.settings.webhook_host
        site = web.TCPSite(self._runner, bind, self.settings.webhook_port if port is None else port)
        await site.start()
        sockets = site._server.sockets if site._server is not None else []  # type: ignore[union-attr]
        self.port = int(sockets[0].getsockname()[1]) if sockets else 0
        log.info("zalo webhook receiver on %s:%s%s publishing to %s", bind, self.port, PATH, self.topic)
        return f"http://{'127.0.0.1' if bind in ('0.0.0.0', '') else bind}:{self.port}{PATH}"

    async def stop(self) -> None:
        """Stop answering, then flush and close the producer."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.replay.stop()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


def run_webhook(settings: Settings) -> None:
    """Run the receiver until SIGTERM / SIGINT (``hoso webhook``)."""

    async def main() -> None:
        receiver = WebhookReceiver(settings)
        health = Health("webhook", loop_stall_s=settings.health_loop_stall_s)
        health.require("producer started and listening", lambda: receiver.port > 0 and receiver._producer is not None)
        metrics.serve(settings.metrics_port, "webhook", health)
        beating = health.start_heartbeat()  # noqa: F841 (kept referenced for the life of the loop)
        await receiver.start()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await stopping.wait()
        finally:
            await receiver.stop()

    asyncio.run(main())
