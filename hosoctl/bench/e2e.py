"""Scenario ``e2e``: the whole pipeline on the real broker — sustained rate, then latency under load.

Worker, dispatcher and simulator run as processes. Events are RECEIVED (announced at once) with one
consenting recipient each, and the bench's settings turn quiet hours and the low-value collapse off, so no
intentional hold is measured.

1. Maximum: a burst of events is published as fast as the broker takes them; the sustained rate is timed
   at the simulator from the first accepted message of the burst to the last.
   The burst's drain time is timed too: from its first record published until every consumer group of the
   pipeline (the worker's and the dispatcher's) has committed everything on every topic it reads, i.e. until
   the backlog the burst caused (notifications, consent-index records, sent-log records) is gone.
2. Latency: each phase starts only once that lag is back to 0, so no phase inherits the previous one's
   backlog. At 25%, 50% and 75% of that rate, events with a fresh ``occurred_at`` are published at a
   steady pace; each message's latency is the simulator's ``received_at`` (when Zalo accepted it) minus
   the event's ``occurred_at``. Per-message timestamps are used rather than the dispatcher's
   ``hoso_end_to_end_seconds`` histogram because they give exact percentiles (the histogram only
   interpolates inside its buckets) and come from outside the pipeline, not from its own counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from hoso.errors import HosoError
from hoso.kafka import clients as kafka_clients
from hoso.kafka.lag import LagReader
from hoso.settings import Settings
from hosoctl.bench.env import BenchEnv, sim_accepted, sim_messages, topics_of, wait_until
from hosoctl.bench.figures import Figure
from hosoctl.bench.records import dossier_event, fill, tracking_ids_of
from schemas.common import now_vn

NAME = "e2e"
LOADS = (0.25, 0.5, 0.75)


def run(env: BenchEnv, quick: bool) -> list[Figure]:
    """Measure the sustained rate, then p50/p95/p99 latency at three loads."""
    burst = 1_000 if quick else 10_000
    seconds = 4.0 if quick else 20.0
    s = env.settings(NAME)
    _sim, url = env.simulator(s, "e2e-simulator")
    s = env.with_zalo(s, url)
    topic = topics_of(s).dossier_events.name
    procs = [env.spawn("e2e-worker", ["worker"], s), env.spawn("e2e-dispatcher", ["dispatcher"], s)]

    def alive() -> None:
        for p in procs:
            if not p.alive:
                raise RuntimeError(f"{p.name} exited:\n{p.tail()}")

    counter = 0

    def records(n: int) -> Iterator[tuple[bytes, bytes]]:
        nonlocal counter
        for _ in range(n):
            e = dossier_event(env.run_id, counter)
            counter += 1
            yield e["data"]["ma_ho_so"].encode(), orjson.dumps(e)

    env.say("e2e: warming up (group joins, first requests)…")
    fill(s, topic, records(200))
    wait_until(lambda: sim_accepted(url), 200, 180, every=0.2, alive=alive)
    env.say(f"e2e: burst of {burst} events…")
    with contextlib.closing(PipelineLag(s)) as lag:
        return _phases(env, s, url, topic, lag, alive, burst, seconds, records)


def _phases(
    env: BenchEnv,
    s: Settings,
    url: str,
    topic: str,
    lag: PipelineLag,
    alive: Callable[[], None],
    burst: int,
    seconds: float,
    records: Callable[[int], Iterator[tuple[bytes, bytes]]],
) -> list[Figure]:
    """The burst, its drain, then the three latency phases, each started on a drained pipeline."""
    lag.wait_drained(600, alive)
    base = sim_accepted(url)
    published = time.monotonic()
    fill(s, topic, records(burst))
    t0, t1, v0 = wait_until(lambda: sim_accepted(url) - base, burst, 600, every=0.1, alive=alive)
    top = (burst - v0) / max(t1 - t0, 1e-6)
    figures = [Figure(NAME, "sustained_notifications_per_s", top, "notifications/s", None, "burst, timed at Zalo")]
    drained = lag.wait_drained(600, alive)
    figures.append(
        Figure(NAME, "burst_drain_s", drained - published, "s", None, f"{burst:,} events, until every group's lag is 0")
    )
    for load in LOADS:
        rate = top * load
        env.say(f"e2e: waiting for consumer lag 0 before the {load:.0%} phase…")
        lag.wait_drained(600, alive)
        env.say(f"e2e: {load:.0%} load, {rate:,.0f} events/s for {seconds:.0f}s…")
        start = sim_accepted(url)
        occurred = asyncio.run(_paced(s, topic, env.run_id, rate, seconds, 10_000_000 * (1 + LOADS.index(load))))
        pct = int(load * 100)
        # Which stage a backlog built up in, if one did: read as the last event is published. Both stages commit
        # every 0.5 s, so up to half a second of records counts as lag even when nothing falls behind.
        figures += [
            Figure(NAME, f"{stage}_lag_at_end_of_{pct}pct", float(behind), "records", None, "consumer lag (broker)")
            for stage, behind in lag.by_stage().items()
        ]

        def arrived(start: int = start) -> int:
            return sim_accepted(url) - start

        wait_until(arrived, len(occurred), 300, every=0.2, alive=alive)
        latencies = sorted(
            m["received_at"] / 1000 - occurred[m["tracking_id"]]
            for m in sim_messages(url, start)
            if m["tracking_id"] in occurred
        )
        figures += [
            Figure(NAME, f"latency_p{q}_at_{pct}pct_s", _quantile(latencies, q / 100), "s", None, f"{rate:,.0f}/s")
            for q in (50, 95, 99)
        ]
        figures.append(Figure(NAME, f"achieved_rate_at_{pct}pct", len(occurred) / seconds, "events/s", rate))
    return figures


class PipelineLag:
    """The pipeline's consumer lag (worker and dispatcher groups, every topic they commit), read from the broker."""

    def __init__(self, settings: Settings) -> None:
        self._reader = LagReader(kafka_clients.kafka_python(settings))
        self._groups = {
            settings.app_id: [settings.topics.dossier_events.name],
            settings.dispatcher_group: [settings.topics.notifications.name],
        }

    def total(self) -> int:
        """Records still to be read and committed, summed over both groups and all their partitions."""
        return sum(self.by_stage().values())

    def by_stage(self) -> dict[str, int]:
        """Lag per stage (``worker``, ``dispatcher``): which one a backlog is waiting in."""
        stages = zip(("worker", "dispatcher"), self._groups.items(), strict=True)
        return {stage: sum(row.lag for row in self._reader.read(group, topics)) for stage, (group, topics) in stages}

    def wait_drained(self, timeout: float, alive: Callable[[], None], every: float = 0.2) -> float:
        """Block until the lag is 0 (checked twice in a row); the monotonic time it was first seen at 0."""
        deadline = time.monotonic() + timeout
        zero_since: float | None = None
        while True:
            now = time.monotonic()
            if self.total() == 0:
                if zero_since is not None:
                    return zero_since
                zero_since = now
            else:
                zero_since = None
            if now > deadline:
                raise HosoError(f"consumer lag not back to 0 after {timeout:.0f}s")
            alive()
            time.sleep(every)

    def close(self) -> None:
        """Close the admin client."""
        self._reader.close()


async def _paced(settings: Settings, topic: str, run: str, rate: float, seconds: float, first: int) -> dict[str, float]:
    """Publish ``rate`` events/s for ``seconds``, each with a fresh occurred_at; tracking id → occurred (epoch)."""
    producer = AIOKafkaProducer(**kafka_clients.aiokafka(settings), acks="all", linger_ms=2)
    await producer.start()
    occurred: dict[str, float] = {}
    pending: list[asyncio.Future[Any]] = []
    started = time.monotonic()
    i = 0
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(rate * elapsed) - i
            for _ in range(max(0, due)):
                at = now_vn()
                e = dossier_event(run, first + i, occurred_at=at)
                pending.append(await producer.send(topic, key=e["data"]["ma_ho_so"].encode(), value=orjson.dumps(e)))
                for tid in tracking_ids_of(e, settings.pseudonym_key):
                    occurred[tid] = at.timestamp()
                i += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return occurred


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]
