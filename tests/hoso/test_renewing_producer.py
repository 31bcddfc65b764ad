"""A producer the broker stopped accepting is replaced, so retried sends go through (``hoso.kafka.producer``)."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest
from aiokafka.errors import KafkaTimeoutError, OutOfOrderSequenceNumber

from hoso.kafka.producer import RenewingProducer


class FakeProducer:
    """Fails every send with ``error`` (as aiokafka does after OutOfOrderSequenceNumber), if given one."""

    made: ClassVar[list[FakeProducer]] = []

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.started = self.stopped = False
        self.sent: list[bytes | None] = []
        FakeProducer.made.append(self)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic, value=None, key=None, partition=None, headers=None) -> asyncio.Future:
        await asyncio.sleep(0)  # a real send yields to the loop: concurrent senders all hold this producer
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        if self.error is not None:
            fut.set_exception(self.error)
        else:
            self.sent.append(value)
            fut.set_result(len(self.sent))
        return fut

    async def send_and_wait(self, topic, value=None, key=None, partition=None, headers=None):
        return await (await self.send(topic, value, key, partition, headers))


def factory(*errors: Exception | None):
    """Producers failing with ``errors[i]`` in turn, then healthy ones."""
    queue = list(errors)
    FakeProducer.made = []
    return lambda: FakeProducer(queue.pop(0) if queue else None)


async def test_a_send_refused_for_its_sequence_number_raises_and_the_retry_goes_through_a_new_producer():
    producer = RenewingProducer(factory(OutOfOrderSequenceNumber()), name="sent-log")
    await producer.start()
    with pytest.raises(OutOfOrderSequenceNumber):
        await producer.send_and_wait("sent-log", b"n00001")
    assert await producer.send_and_wait("sent-log", b"n00001") == 1
    first, second = FakeProducer.made
    assert first.stopped and second.sent == [b"n00001"] and producer.renewals == 1


async def test_concurrent_failures_renew_once():
    producer = RenewingProducer(factory(OutOfOrderSequenceNumber()), name="sent-log")
    await producer.start()
    results = await asyncio.gather(
        *(producer.send_and_wait("sent-log", f"n{i}".encode()) for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, OutOfOrderSequenceNumber) for r in results)
    assert producer.renewals == 1 and len(FakeProducer.made) == 2


async def test_a_failure_seen_only_on_the_future_of_send_renews_too():
    producer = RenewingProducer(factory(OutOfOrderSequenceNumber()), name="gateway")
    await producer.start()
    fut = await producer.send("dossier-events", b"e1")
    with pytest.raises(OutOfOrderSequenceNumber):
        await fut
    for _ in range(10):
        await asyncio.sleep(0)
    assert producer.renewals == 1
    assert await (await producer.send("dossier-events", b"e1")) == 1


async def test_other_errors_keep_the_producer():
    producer = RenewingProducer(factory(KafkaTimeoutError()), name="sent-log")
    await producer.start()
    with pytest.raises(KafkaTimeoutError):
        await producer.send_and_wait("sent-log", b"n00001")
    assert producer.renewals == 0 and len(FakeProducer.made) == 1


async def test_sending_before_start_is_a_clear_error():
    with pytest.raises(RuntimeError, match="not started"):
        await RenewingProducer(factory(), name="sent-log").send_and_wait("t", b"x")
