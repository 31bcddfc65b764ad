"""The batch pipeline: messages acknowledged before state, state written before the offset is released,
later batches computed on top of earlier ones still in flight, a refused send stops the worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from faust.types import TP, RecordMetadata

from hoso.settings import Settings
from schemas.topics import DOSSIER_HOLD_TABLE, DOSSIER_STATE_TABLE, changelog_name
from streams.app import build
from tests.factories import DOSSIER, event
from tests.streams.engine_helpers import DAY
from tests.streams.fake_producer import use_producer

KEY = DOSSIER.encode()


class GatedProducer:
    """A producer whose acknowledgements the test releases (or refuses) by hand."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.pending: list[asyncio.Future] = []
        self.yielding = False

    async def send(self, topic: str, key: Any, value: Any, partition: int | None = None, **_: Any) -> asyncio.Future:
        if self.yielding:
            await asyncio.sleep(0)
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self.sent.append((topic, key, value, partition))
        self.pending.append(fut)
        fut.meta = RecordMetadata(topic, partition or 0, TP(topic, partition or 0), len(self.sent), 0.0, 0)  # type: ignore[attr-defined]
        return fut

    def acknowledge(self) -> None:
        for fut in self.pending:
            if not fut.done():
                fut.set_result(fut.meta)  # type: ignore[attr-defined]
        self.pending.clear()

    def refuse(self) -> None:
        for fut in self.pending:
            if not fut.done():
                fut.set_exception(RuntimeError("NOT_ENOUGH_REPLICAS"))
        self.pending.clear()

    def on(self, topic: str) -> list[tuple[bytes | None, bytes | None, int | None]]:
        return [(k, v, p) for t, k, v, p in self.sent if t == topic]


@pytest.fixture
def streams(tmp_path):
    app = build(Settings.from_env({"HOSO_STATE_DIR": str(tmp_path)}), store="memory://")
    app.clock = lambda: DAY
    producer = GatedProducer()

    use_producer(app, producer)
    return app, producer


async def deliver(ctx: Any, value: dict[str, Any], partition: int = 0, key: bytes = KEY) -> Any:
    """Hand a record to the agent as Faust's conductor does: one reference per subscribed stream (the test
    context's own ``put`` skips that, so every event would look finally acknowledged at its first ack)."""
    message = ctx.to_message(key, orjson.dumps(value), partition=partition, offset=ctx.sent_offset)
    ctx.sent_offset += 1
    message.incref(1)
    channel = ctx.stream().channel
    record = await channel.decode(message)
    await channel.put(record)
    return record


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def acknowledge_until(producer: GatedProducer, check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Acknowledge everything sent (messages and changelog records) until ``check`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        producer.acknowledge()
        await asyncio.sleep(0.01)


def changelog(app: Any, table: str) -> str:
    return changelog_name(app.settings.app_id, table)


async def test_state_is_written_and_the_offset_released_only_after_the_messages_are_acknowledged(streams):
    app, producer = streams
    notifications = app.topics.notifications.name
    async with app.agents["join_dossier_events"].test_context() as ctx:
        record = await deliver(ctx, event("RECEIVED", sequence=1))
        await until(lambda: len(producer.on(notifications)) == 1)
        await asyncio.sleep(0.1)  # time enough for anything that would wrongly run early
        assert KEY not in app.tables["dossier_state"], "state written before Kafka acknowledged the message"
        assert not record.message.acked, "offset released before the batch was complete"
        await acknowledge_until(producer, lambda: KEY in app.tables["dossier_state"])
        await until(lambda: record.message.acked)
        producer.acknowledge()  # the state's changelog record


async def hold_a_transferred(app: Any, producer: GatedProducer, ctx: Any) -> Any:
    """RECEIVED applied and settled, then a TRANSFERRED whose messages are acknowledged and whose hold's
    changelog record is sent but not yet acknowledged (that event is returned)."""
    hold_log, state_log = changelog(app, DOSSIER_HOLD_TABLE), changelog(app, DOSSIER_STATE_TABLE)
    await deliver(ctx, event("RECEIVED", sequence=1))
    await acknowledge_until(producer, lambda: bool(producer.on(state_log)))
    producer.acknowledge()
    record = await deliver(ctx, event("TRANSFERRED", sequence=2))
    await acknowledge_until(producer, lambda: len(producer.on(hold_log)) == 1)  # its messages, then the hold
    return record


async def test_the_handled_marker_is_written_only_after_the_events_other_writes_are_acknowledged(streams):
    """A held TRANSFERRED is recorded in the hold table, and the event marked handled in the dossier state.
    If the state reached its changelog and the hold did not, a worker restoring from the changelogs would
    take the re-read event for done and the message would be lost: so the state waits for the hold's ack."""
    app, producer = streams
    state_log = changelog(app, DOSSIER_STATE_TABLE)
    async with app.agents["join_dossier_events"].test_context() as ctx:
        record = await hold_a_transferred(app, producer, ctx)
        await asyncio.sleep(0.1)  # time enough for anything that would wrongly run early
        assert KEY in app.tables[DOSSIER_HOLD_TABLE]
        assert len(producer.on(state_log)) == 1, "the state was sent before the hold was acknowledged"
        assert b'"sequence":1' in app.tables[DOSSIER_STATE_TABLE][KEY]
        assert not record.message.acked
        producer.acknowledge()  # the hold's changelog record
        await until(lambda: len(producer.on(state_log)) == 2)
        assert b'"sequence":2' in app.tables[DOSSIER_STATE_TABLE][KEY]
        await until(lambda: record.message.acked)
        producer.acknowledge()


async def test_a_refused_changelog_record_stops_the_worker_before_the_handled_marker_is_written(streams, exits):
    app, producer = streams
    state_log = changelog(app, DOSSIER_STATE_TABLE)
    async with app.agents["join_dossier_events"].test_context() as ctx:
        record = await hold_a_transferred(app, producer, ctx)
        producer.refuse()
        await until(lambda: bool(exits))
        await asyncio.sleep(0.05)
        assert len(producer.on(state_log)) == 1
        assert not record.message.acked
        app.pipeline._in_flight.clear()  # the process would be gone; let the test context stop cleanly
        app.pipeline._empty.set()
    assert exits == ["a table write failed"]


async def test_a_later_batch_is_computed_on_top_of_an_earlier_one_still_in_flight(streams):
    app, producer = streams
    notifications = app.topics.notifications.name
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await deliver(ctx, event("RECEIVED", sequence=1))
        await until(lambda: len(producer.on(notifications)) == 1)
        # Sequence 2 is announced at once only if the join sees sequence 1 applied (else it is held for
        # the reorder window), though sequence 1's state is not in the table yet.
        await deliver(ctx, event("SUPPLEMENT_REQUESTED", sequence=2))
        await until(lambda: len(producer.on(notifications)) == 2)
        assert KEY not in app.tables["dossier_state"]
        await acknowledge_until(
            producer, lambda: KEY in app.tables["dossier_state"] and b'"sequence":2' in app.tables["dossier_state"][KEY]
        )
        producer.acknowledge()
    statuses = [orjson.loads(v)["trang_thai"] for _, v, _ in producer.on(notifications)]
    assert statuses == ["RECEIVED", "SUPPLEMENT_REQUESTED"]
    state = orjson.loads(app.tables["dossier_state"][KEY])
    assert state["sequence"] == 2


async def test_a_refused_message_stops_the_worker_before_any_state_is_written(streams, exits):
    app, producer = streams
    async with app.agents["join_dossier_events"].test_context() as ctx:
        record = await deliver(ctx, event("RECEIVED", sequence=1))
        await until(lambda: len(producer.pending) >= 1)
        producer.refuse()
        await until(lambda: bool(exits))
        await asyncio.sleep(0.05)
        assert KEY not in app.tables["dossier_state"]
        assert not record.message.acked
        app.pipeline._in_flight.clear()  # the process would be gone; let the test context stop cleanly
        app.pipeline._empty.set()
    assert exits == ["Kafka did not acknowledge this batch's records"]


async def test_two_agents_writing_one_table_never_overwrite_each_others_changes(streams):
    """The join (agency consent) and the follow agent (chat) both rewrite a dossier's followers; whichever
    computes second must see the other's change even while the first is still being sent."""
    app, producer = streams
    producer.yielding = True  # each send gives the event loop a turn, as a real producer does
    dossiers = [f"000.00.01.H29-261128-{i:04d}" for i in range(30)]

    async def release_acks() -> None:
        while True:
            producer.acknowledge()
            await asyncio.sleep(0.005)

    releaser = asyncio.ensure_future(release_acks())
    try:
        async with (
            app.agents["join_dossier_events"].test_context() as join,
            app.agents["apply_subscription_changes"].test_context() as follow,
        ):
            for i, code in enumerate(dossiers):
                follow_request = {
                    "ma_ho_so": code,
                    "subscriber_id": f"z:chat{i}",
                    "zalo_user_id": f"99{i:08d}",
                    "source": "CHAT",
                    "updated_at": "2026-11-28T08:00:00+07:00",
                }
                await deliver(join, event("RECEIVED", sequence=1, dossier=code), key=code.encode())
                await deliver(follow, follow_request, key=code.encode())
            table = app.tables["followers"]
            await until(lambda: all(c.encode() in table for c in dossiers) and not app.pipeline._in_flight, 10)
    finally:
        releaser.cancel()
    for code in dossiers:
        followers = orjson.loads(app.tables["followers"][code.encode()])
        assert len(followers) == 2, (code, sorted(followers))
