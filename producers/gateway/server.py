"""Running the gateway: in-process for tests (``start_gateway``) or as the ``hoso gateway`` process.

``run_gateway`` prints one line, ``ingest gateway listening on http://host:port``, once the socket accepts
connections, serves Prometheus metrics on ``HOSO_METRICS_PORT`` like every hoso process, and on SIGTERM
stops accepting, lets in-flight requests finish (their events are acknowledged or refused) and closes the
producer: one aiokafka producer per gateway (``hoso.kafka.clients.async_producer``), shared by both sinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from hoso import metrics
from hoso.errors import PublishError
from hoso.health import Health
from hoso.kafka import clients as kafka_clients
from hoso.kafka.producer import RenewingProducer
from hoso.settings import Settings
from producers.gateway.app import create_app
from producers.gateway.auth import DEMO_KEYS_FILE, KeyRing
from producers.gateway.broadcasting import KafkaBroadcastSink
from producers.gateway.publishing import EventSink, KafkaEventSink
from producers.gateway.routes import BroadcastSink, Context, Limits
from schemas.common import now_vn

SHUTDOWN_TIMEOUT_S = 10.0
KEEPALIVE_TIMEOUT_S = 15.0
"""Idle keep-alive connections are closed after this long, so idle clients do not pin sockets."""


@dataclass
class RunningGateway:
    """A gateway listening on a socket; ``await stop()`` when done."""

    url: str
    port: int
    runner: web.AppRunner
    closers: list[Callable[[], Awaitable[None]]]

    async def stop(self) -> None:
        """Stop accepting, finish in-flight requests, then flush and close the producer."""
        await self.runner.cleanup()
        for close in self.closers:
            await close()

    async def __aenter__(self) -> RunningGateway:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


def keys_path(settings: Settings) -> Path:
    """The keys file in force: HOSO_GATEWAY_KEYS_FILE, or the shipped demo keys."""
    return Path(settings.gateway_keys_file).expanduser() if settings.gateway_keys_file else DEMO_KEYS_FILE


def limits_of(settings: Settings) -> Limits:
    """Request limits from settings."""
    return Limits(settings.gateway_max_body_bytes, settings.gateway_max_batch, settings.gateway_read_timeout_s)


async def start_gateway(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    keyring: KeyRing | None = None,
    events: EventSink | None = None,
    broadcasts: BroadcastSink | None = None,
    clock: Callable[[], datetime] = now_vn,
) -> RunningGateway:
    """Start a gateway in the running loop (port 0 picks a free one); Kafka sinks are built from settings."""
    keyring = keyring or KeyRing.from_file(keys_path(settings))
    closers: list[Callable[[], Awaitable[None]]] = []
    if events is None:
        producer = await _started_producer(settings)
        closers.append(producer.stop)
        events = KafkaEventSink(producer, settings.topics.dossier_events.name)
        if broadcasts is None:
            broadcasts = KafkaBroadcastSink(producer, settings.topics)
    proof_key = settings.proof_key.get_secret_value()
    app = create_app(Context(keyring, events, broadcasts, limits_of(settings), clock, proof_key))
    runner = web.AppRunner(
        app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S, keepalive_timeout=KEEPALIVE_TIMEOUT_S
    )
    await runner.setup()
    bind = host if host is not None else settings.gateway_host
    site = web.TCPSite(runner, bind, settings.gateway_port if port is None else port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        for close in closers:
            await close()
        raise
    bound = int(runner.addresses[0][1])
    shown = "127.0.0.1" if bind in ("0.0.0.0", "") else bind
    return RunningGateway(f"http://{shown}:{bound}", bound, runner, closers)


async def _started_producer(settings: Settings) -> RenewingProducer:
    config = kafka_clients.async_producer(settings, client_id="hoso-gateway")
    producer = RenewingProducer(lambda: AIOKafkaProducer(**config), name="gateway producer")
    try:
        await producer.start()
    except KafkaError as exc:
        await producer.stop()
        raise PublishError(f"cannot connect to Kafka at {settings.bootstrap}: {exc}") from exc
    return producer


async def _serve(settings: Settings, health: Health) -> None:
    beating = health.start_heartbeat()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    running = await start_gateway(settings)
    health.require("listening", lambda: True)
    print(f"ingest gateway listening on {running.url}", flush=True)
    try:
        await stop.wait()
    finally:
        beating.cancel()
        await running.stop()


def run_gateway(settings: Settings) -> None:
    """Run the ingest gateway until SIGTERM or SIGINT (``hoso gateway``)."""
    health = Health("gateway", loop_stall_s=settings.health_loop_stall_s)
    health.require("listening", lambda: False)  # replaced once the socket accepts connections
    metrics.serve(settings.metrics_port, "gateway", health)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(settings, health))
