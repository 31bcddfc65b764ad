"""Backpressure: when Zalo slows to a crawl, lag grows in Kafka, not in memory, and the pipeline catches up.

Events are published at a steady rate while the simulator answers each send after a fixed delay and the
dispatcher may only keep a few requests in flight. The resident memory of the worker and dispatcher processes
(VmRSS from /proc) is sampled throughout: it must stay flat while the dispatcher's consumer lag grows, because
the dispatcher fetches bounded batches and commits only what is finished. When the delay is lifted, every
expected notification must arrive.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from hoso.kafka.clients import kafka_python
from hosoctl.chaos import SteadyLoad
from hosoctl.reconcile import expected_notifications
from hosoctl.stack import Stack
from hosoctl.synthetic import GeneratorOptions, events
from schemas.common import now_vn

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

CRAWL_S = 30.0
RATE = 30.0  # events per second published during the crawl
RSS_GROWTH_LIMIT_MB = 60.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def dispatcher_lag(settings, topic: str) -> int:
    """Records of ``topic`` not yet committed by the dispatchers' consumer group."""
    consumer = KafkaConsumer(**kafka_python(settings), group_id=settings.dispatcher_group, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
        end = consumer.end_offsets(tps)
        return sum(end[tp] - (consumer.committed(tp) or 0) for tp in tps)
    finally:
        consumer.close(autocommit=False)


class Sampler(threading.Thread):
    """RSS of each named process every half second."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.samples: dict[str, list[float]] = {name: [] for name in pids}
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            for name, pid in self.pids.items():
                try:
                    self.samples[name].append(rss_mb(pid))
                except FileNotFoundError:  # the process is gone; the test reports why
                    return
            self.stop_event.wait(0.5)


def test_a_crawling_zalo_grows_lag_not_memory_and_the_pipeline_catches_up(settings, tmp_path):
    settings = settings.replace(dispatch_concurrency=4, dispatch_batch=50, quiet_hours="")
    wanted = int(CRAWL_S * RATE)
    evts = events(
        GeneratorOptions(dossiers=wanted // 3, seed=21, start=now_vn() - timedelta(days=75), no_phone_ratio=0.0)
    )[:wanted]
    stack = Stack(settings, tmp_path, "")
    try:
        stack.start(lambda _msg: None)
        with httpx.Client(base_url=stack.simulator_url, timeout=10) as http:
            http.post("/_sim/faults", json={"spec": "latency=fixed:1s"}).raise_for_status()
            # A first trickle warms both processes up (imports, connections, table stores) before the baseline.
            warm = SteadyLoad(settings, stack.topics.dossier_events.name, evts[:30], rate=30, malformed_every=0)
            warm.run()
            time.sleep(8)
            sampler = Sampler({"worker": stack.process("worker").pid, "dispatcher": stack.process("dispatcher").pid})
            sampler.start()
            load = SteadyLoad(settings, stack.topics.dossier_events.name, evts[30:], rate=RATE, malformed_every=0)
            load.run()
            time.sleep(3)
            lag = dispatcher_lag(settings, stack.topics.notifications.name)
            stack.check_alive()
            sampler.stop_event.set()
            sampler.join()

            http.post("/_sim/faults", json={"spec": "none"}).raise_for_status()
            expected = expected_notifications(
                warm.acked + load.acked, settings.pseudonym_key, settings=settings
            ).tracking_ids
            deadline = time.monotonic() + 120
            while True:
                stack.check_alive()
                counts = orjson.loads(http.get("/_sim/tracking-ids").content)["counts"]
                if expected <= counts.keys() or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            caught_up_s = 120 - (deadline - time.monotonic())
        report = {
            name: (round(s[0], 1), round(max(s), 1), round(max(s) - s[0], 1)) for name, s in sampler.samples.items()
        }
        print(
            f"\nbackpressure: lag {lag} after {CRAWL_S:.0f}s crawl; RSS MB (start, max, growth) {report}; "
            f"caught up {len(expected)} in {caught_up_s:.0f}s"
        )
        assert lag > 200, f"the crawl should have built a backlog in Kafka (lag {lag})"
        for name, (_start, _max, growth) in report.items():
            assert growth < RSS_GROWTH_LIMIT_MB, f"{name} RSS grew {growth} MB while lag grew to {lag}"
        assert not load.failed and not warm.failed
        missing = expected - counts.keys()
        assert not missing, f"{len(missing)} of {len(expected)} not delivered after recovery"
    finally:
        stack.stop(delete_topics=True)
