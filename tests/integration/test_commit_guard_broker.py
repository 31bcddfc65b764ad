"""A worker never commits past a record that no agent finished, and never stalls on an offset holding no record.

Real broker, a one-agent Faust worker as a process (``tests.integration.guard_app``). One record goes missing inside
the worker the first time it is fetched, in each of the two ways Faust loses one (see ``streams.commit_guard``).
With Faust's own consumer the group's offset then passes the record and a restart would never read it: the loss
seen once in ``hoso chaos``. With hoso's guarded consumer the commit stops below it, the broker confirms the record
exists, the partition is read again and the agent finishes it. Transaction markers, offsets that hold no record,
are crossed without stalling.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.structs import TopicPartition

from tests.integration.workers import wait_for

pytestmark = [pytest.mark.broker]

ROOT = Path(__file__).resolve().parents[2]
RECORDS = 20
LOST = 5


def _topic(settings, name: str) -> str:
    topic = f"{settings.topic_prefix}.{name}"
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()
    return topic


def _committed(settings, group: str, topic: str) -> int | None:
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return consumer.committed(TopicPartition(topic, 0))
    finally:
        consumer.close()


class Worker:
    def __init__(self, settings, tmp_path: Path, topic: str, consumer: str, lose: str) -> None:
        self.group = f"{settings.app_id}-{consumer}-{lose}"
        self.out = tmp_path / f"{consumer}-{lose}.offsets"
        self.log = tmp_path / f"{consumer}-{lose}.log"
        self.out.touch()
        args = [settings.bootstrap, topic, self.group, str(tmp_path / "data"), str(self.out), consumer, lose]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.guard_app", *args],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "HOSO_TEST_LOSE_OFFSET": str(LOST)},
            cwd=ROOT,
        )

    def finished(self) -> set[int]:
        return {int(line) for line in self.out.read_text().split()}

    def tail(self) -> str:
        return self.log.read_text()[-3000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _publish(settings, topic: str, count: int) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap)
    for i in range(count):
        producer.send(topic, key=b"k", value=b"%d" % i)
    producer.flush()
    producer.close()


async def _settled(settings, worker: Worker, topic: str, until: int, timeout: float = 90) -> int | None:
    """Wait until the group's offset reaches ``until``; return the committed offset."""
    await wait_for(
        lambda: (_committed(settings, worker.group, topic) or 0) >= until,
        timeout,
        lambda: (
            f"committed {_committed(settings, worker.group, topic)}, finished {sorted(worker.finished())}; "
            f"log:\n{worker.tail()}"
        ),
    )
    return _committed(settings, worker.group, topic)


def _losing_one(settings, tmp_path: Path, consumer: str, lose: str) -> tuple[str, Worker]:
    """A topic of RECORDS records, and a worker with ``consumer`` that loses record LOST once, as ``lose`` says."""
    topic = _topic(settings, f"{consumer}-{lose}")
    _publish(settings, topic, RECORDS)
    return topic, Worker(settings, tmp_path, topic, consumer, lose)


@pytest.mark.parametrize("lose", ["dropped", "skipped"])
async def test_faust_alone_commits_past_a_record_its_agent_never_finished(settings, tmp_path: Path, lose: str):
    """The defect the guard exists for, reproduced: the group's offset passes the lost record."""
    topic, worker = _losing_one(settings, tmp_path, "faust", lose)
    try:
        assert await _settled(settings, worker, topic, RECORDS) == RECORDS
        await asyncio.sleep(3)  # nothing comes back for it
        assert LOST not in worker.finished()
        assert worker.finished() == set(range(RECORDS)) - {LOST}
    finally:
        worker.stop()


@pytest.mark.parametrize("lose", ["dropped", "skipped"])
async def test_the_guard_holds_the_commit_below_a_lost_record_and_reads_it_again(settings, tmp_path: Path, lose: str):
    topic, worker = _losing_one(settings, tmp_path, "guarded", lose)
    try:
        seen_below = []

        def finished_or_held() -> bool:
            committed = _committed(settings, worker.group, topic)
            if committed is not None and LOST not in worker.finished():
                seen_below.append(committed)
            return LOST in worker.finished()

        await wait_for(finished_or_held, 90, lambda: f"never read again; log:\n{worker.tail()}")
        assert all(c <= LOST for c in seen_below), f"committed past the lost record unfinished: {seen_below}"
        assert await _settled(settings, worker, topic, RECORDS) == RECORDS
        assert worker.finished() == set(range(RECORDS))
        assert "no agent finished record" in worker.tail()
    finally:
        worker.stop()


async def test_offsets_holding_no_record_are_crossed_without_stalling(settings, tmp_path: Path):
    """Each committed transaction leaves a marker: an offset no consumer is given. The commit crosses them once
    the broker says they hold no record, and nothing is read again for them."""
    topic = _topic(settings, "transactional")
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, transactional_id=f"{settings.app_id}-tx")
    producer.init_transactions()
    for batch in range(3):
        producer.begin_transaction()
        for i in range(5):
            producer.send(topic, key=b"k", value=b"%d-%d" % (batch, i))
        producer.commit_transaction()
    producer.close()
    records = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16]  # a marker after each transaction: 5, 11, 17
    worker = Worker(settings, tmp_path, topic, "guarded", "none")
    try:
        assert await _settled(settings, worker, topic, records[-1] + 1) >= records[-1] + 1
        assert worker.finished() == set(records)
        assert "hold no record" in worker.tail()
        assert "no agent finished record" not in worker.tail()
    finally:
        worker.stop()
