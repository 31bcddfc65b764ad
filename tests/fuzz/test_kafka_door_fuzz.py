"""Bad records written straight to the dossier-events topic, through the real broker, worker and dispatcher.

A representative sample of the fuzzer's bad records (every kind, including records near the broker's 1 MB
limit) is interleaved with a synthetic dossier stream. Every bad record must come out on the invalid-events
topic with a reason pointing at its damage, the worker must keep running, and every notification the valid
events call for must reach the Zalo simulator.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections import Counter
from datetime import timedelta

import httpx
import orjson
import pytest
from hypothesis import strategies as st
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from hoso.kafka.clients import kafka_python
from hosoctl.reconcile import expected_notifications
from hosoctl.stack import Stack
from hosoctl.synthetic import GeneratorOptions, events
from producers.publisher import Publisher
from schemas.common import now_vn
from schemas.problems import Problem
from tests.fuzz.records import BAD_KINDS, RawRecord, bad_records, huge, reason_problem, run_property

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


def sample(fuzz_settings, n: int, strategy: st.SearchStrategy[RawRecord]) -> list[RawRecord]:
    out: list[RawRecord] = []
    run_property(fuzz_settings, n, strategy, out.append)
    return out


def read_invalid(settings, topic: str, want: int, timeout: float) -> dict[tuple[int, int], dict]:
    """Envelopes on the invalid topic by source (partition, offset), once ``want`` distinct sources arrived."""
    consumer = KafkaConsumer(**kafka_python(settings), enable_auto_commit=False, fetch_max_bytes=8 * 1024 * 1024)
    tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    found: dict[tuple[int, int], dict] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(found) < want and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    env = orjson.loads(r.value)
                    found[(env["source"]["partition"], env["source"]["offset"])] = env
    finally:
        consumer.close()
    return found


def test_bad_records_at_the_kafka_door_are_parked_with_reasons_and_valid_ones_all_delivered(
    settings, tmp_path, fuzz_settings, fuzz_budget
):
    bad = sample(fuzz_settings, fuzz_budget.broker_sample, bad_records())
    # Kafka cannot carry a record with neither key nor value; a keyed tombstone is the door's version of it.
    bad = [dataclasses.replace(r, key=b"FZ-TOMB") if r.key is None and r.value is None else r for r in bad]
    assert {r.kind for r in bad} >= set(BAD_KINDS)
    run_door(settings, tmp_path, bad, dossiers=30)


def test_records_near_the_one_megabyte_limit_are_parked_and_do_not_cost_valid_ones(settings, tmp_path, fuzz_settings):
    bad = sample(fuzz_settings, 3, huge())
    run_door(settings, tmp_path, bad, dossiers=10)


def run_door(settings, tmp_path, bad: list[RawRecord], dossiers: int) -> None:
    """Interleave ``bad`` with a synthetic stream on the real stack; check parking, reasons and delivery."""
    settings = settings.replace(quiet_hours="")  # deliver now whatever the time of day
    valid = events(GeneratorOptions(dossiers=dossiers, seed=3, start=now_vn() - timedelta(days=75), no_phone_ratio=0.0))
    expected = expected_notifications(valid, settings.pseudonym_key, settings=settings).tracking_ids
    stack = Stack(settings, tmp_path, "")
    stack.start(lambda _msg: None)
    topic = stack.topics.dossier_events.name
    try:
        # Valid events keep their order (per dossier); bad records are sprinkled between them at random.
        rng = random.Random(5)
        slots = sorted(rng.randrange(len(valid) + 1) for _ in bad)
        producer = KafkaProducer(**kafka_python(settings), acks="all", max_request_size=1_048_576, linger_ms=5)
        sent: dict[tuple[int, int], RawRecord] = {}
        futures = []
        b = 0
        for i in range(len(valid) + 1):
            while b < len(bad) and slots[b] == i:
                futures.append((bad[b], producer.send(topic, key=bad[b].key, value=bad[b].value)))
                b += 1
            if i < len(valid):
                key, value = Publisher.prepare(valid[i])
                producer.send(topic, key=key, value=value)
        producer.flush(60)
        for record, future in futures:
            meta = future.get(timeout=30)
            sent[(meta.partition, meta.offset)] = record
        producer.close()

        deadline = time.monotonic() + 90
        with httpx.Client(base_url=stack.simulator_url, timeout=10) as http:
            while True:
                stack.check_alive()  # the worker (and dispatcher) never stop
                counts = orjson.loads(http.get("/_sim/tracking-ids").content)["counts"]
                if expected <= counts.keys() or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        missing = expected - counts.keys()
        assert not missing, f"{len(missing)} of {len(expected)} notifications of valid events never reached Zalo"

        parked = read_invalid(settings, stack.topics.dossier_events_invalid.name, len(sent), timeout=60)
        assert set(sent) <= set(parked), f"{len(set(sent) - set(parked))} bad records were not parked"
        unclear = []
        for source, record in sent.items():
            problems = [Problem(p["path"], p["message"]) for p in parked[source]["problems"]]
            why = reason_problem(record, problems)
            if why is not None:
                unclear.append(f"{record.kind}: {why}")
        assert not unclear, unclear[:5]
        stack.check_alive()
        print(
            f"\nkafka door: {len(sent)} bad records parked {dict(Counter(r.kind for r in sent.values()))}, "
            f"{len(valid)} valid events, {len(expected)} notifications delivered"
        )
    finally:
        stack.stop(delete_topics=True)
