"""The baselines: bare loops that do the least a stage must do, run as their own process.

``python -m hosoctl.bench.loops KIND ...`` prints one JSON object (``{"rate": …, "count": …, "seconds": …}``).
Each runs in its own process, like the stage it is compared with, so neither shares an event loop or a
core's time slice with the simulator or the bench itself.

* ``aiohttp``: POST the dispatcher's request body to the simulator with ``concurrency`` workers over one
  aiohttp session — the HTTP ceiling.
* ``httpx``: the same with ``httpx.AsyncClient()`` as a user would first write it (default transport).
* ``zalo-client``: the same through ``consumers.zalo.client.ZaloClient`` (hoso's client and its transport).
* ``kafka``: consume a dossier topic, ``decode_event`` each record, produce one record per event, commit —
  the bare consume-transform-produce loop the Faust stage is compared with.
* ``faust``: the same as the smallest Faust agent that does it (``take_events``, acknowledgements awaited per
  batch, no tables) — Faust's own floor, which tells how much of the stage's cost is the framework's.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from hosoctl.bench.records import template_body
from schemas.codec import decode_event

TOKEN = "sim-demo-access-token"  # noqa: S105 - opens only the simulator
Post = Callable[[bytes], Awaitable[None]]


async def _drive(n: int, concurrency: int, post: Post, bodies: list[bytes]) -> float:
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await post(bodies[i])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def _check(status: int, raw: bytes) -> None:
    if status != 200 or orjson.loads(raw).get("error") != 0:
        raise RuntimeError(f"simulator refused a baseline send: HTTP {status} {raw[:200]!r}")


async def http_loop(kind: str, url: str, n: int, concurrency: int, run: str) -> dict[str, Any]:
    """Send ``n`` template messages with ``concurrency`` workers through the named client."""
    bodies = [template_body(i, run) for i in range(n)]
    target = url.rstrip("/") + "/message/template"
    headers = {"access_token": TOKEN, "Content-Type": "application/json"}
    if kind == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

            async def post(body: bytes) -> None:
                async with session.post(target, data=body, headers=headers) as r:
                    _check(r.status, await r.read())

            seconds = await _drive(n, concurrency, post, bodies)
    elif kind == "httpx":
        import httpx

        async with httpx.AsyncClient() as client:

            async def post(body: bytes) -> None:
                r = await client.post(target, content=body, headers=headers)
                _check(r.status_code, r.content)

            seconds = await _drive(n, concurrency, post, bodies)
    elif kind == "zalo-client":
        from consumers.zalo.client import ZaloClient

        client = ZaloClient(zbs_url=url, oa_url=url, oauth_url=url, max_connections=concurrency)
        try:

            async def post(body: bytes) -> None:
                b = orjson.loads(body)
                await client.send_template(
                    TOKEN,
                    phone=b["phone"],
                    template_id=b["template_id"],
                    template_data=b["template_data"],
                    tracking_id=b["tracking_id"],
                )

            seconds = await _drive(n, concurrency, post, bodies)
        finally:
            await client.aclose()
    else:
        raise ValueError(f"unknown HTTP loop {kind!r}")
    return {"rate": n / seconds, "count": n, "seconds": seconds}


def _transform(value: bytes | None) -> bytes:
    """What both bare loops do per event: validate it as the streams would, and make one small record."""
    event, _problems = decode_event(value or b"")
    return b"{}" if event is None else orjson.dumps({"event_id": str(event.event_id)})


async def kafka_loop(source: str, sink: str, n: int, group: str) -> dict[str, Any]:
    """Consume ``n`` events from ``source``, validate each, produce one record each to ``sink``, commit."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from hoso.kafka import clients as kafka_clients
    from hoso.settings import Settings

    config = kafka_clients.aiokafka(Settings.from_env())
    consumer = AIOKafkaConsumer(
        source, **config, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    producer = AIOKafkaProducer(**config, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    done = 0
    started: float | None = None
    try:
        while done < n:
            batches = await consumer.getmany(timeout_ms=200, max_records=2000)
            if batches and started is None:
                started = time.perf_counter()
            pending = []
            for records in batches.values():
                for record in records:
                    pending.append(await producer.send(sink, key=record.key, value=_transform(record.value)))
                    done += 1
            if pending:
                await asyncio.gather(*pending)
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    seconds = time.perf_counter() - (started or time.perf_counter())
    return {"rate": n / seconds if seconds else 0.0, "count": n, "seconds": seconds}


def faust_loop(source: str, sink: str, n: int, group: str) -> dict[str, Any]:
    """The ``kafka`` loop as a minimal Faust agent; runs a Faust worker until ``n`` events are through."""
    import os
    import tempfile

    import faust

    from hoso.kafka import clients as kafka_clients
    from hoso.settings import Settings

    settings = Settings.from_env()
    app = faust.App(
        group,
        **kafka_clients.faust_broker(settings),
        store="memory://",
        datadir=tempfile.mkdtemp(prefix="hoso-bench-faust-"),
        topic_partitions=settings.partitions,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=0.005,
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    topic = app.topic(source, key_serializer="raw", value_serializer="raw")
    result: dict[str, Any] = {}

    @app.agent(topic)
    async def transform(stream: faust.StreamT) -> None:
        done = 0
        started = time.perf_counter()
        async for events in stream.take_events(500, within=0.02):
            if not done:
                started = time.perf_counter()
            pending = []
            for record in events:
                pending.append(await app.producer.send(sink, record.key, _transform(record.value), None, None, None))
            await asyncio.gather(*pending)
            done += len(events)
            if done >= n:
                seconds = time.perf_counter() - started
                result.update(rate=n / seconds, count=done, seconds=seconds)
                os.write(1, b"\n" + orjson.dumps(result) + b"\n")  # fd 1: a Faust worker redirects sys.stdout
                os._exit(0)  # the figure is out; a Faust worker's orderly shutdown would only add seconds

    import logging

    logging.getLogger("aiokafka").setLevel(logging.WARNING)  # it logs every send at DEBUG
    worker = faust.Worker(app, loglevel="warn", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
    raise RuntimeError("the Faust loop stopped before its events were through")


def main(argv: list[str] | None = None) -> int:
    """Run one loop and print its JSON result."""
    p = argparse.ArgumentParser(prog="python -m hosoctl.bench.loops")
    p.add_argument("kind", choices=["aiohttp", "httpx", "zalo-client", "kafka", "faust"])
    p.add_argument("--url", default="")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--run", default="bench")
    p.add_argument("--source", default="")
    p.add_argument("--sink", default="")
    p.add_argument("--group", default="bench-loop")
    args = p.parse_args(argv)
    if args.kind == "faust":
        faust_loop(args.source, args.sink, args.n, args.group)  # prints its result and exits
    if args.kind == "kafka":
        result = asyncio.run(kafka_loop(args.source, args.sink, args.n, args.group))
    else:
        result = asyncio.run(http_loop(args.kind, args.url, args.n, args.concurrency, args.run))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
