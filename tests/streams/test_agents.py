"""The Faust agents under Faust's test context: bytes in, table state and notification records out."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import orjson
import pytest
from faust.types import TP, RecordMetadata

from hoso import metrics
from hoso.settings import Settings
from streams.agents.timers import tick_record
from streams.app import build
from tests.factories import DOSSIER, event
from tests.streams.engine_helpers import DAY
from tests.streams.fake_producer import use_producer


class RecordingProducer:
    """Stands in for Faust's Kafka producer: records what the agents publish."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []

    async def send(self, topic: str, key: Any, value: Any, partition: int | None = None, **_: Any) -> asyncio.Future:
        self.sent.append((topic, key, value))
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        fut.set_result(RecordMetadata(topic, partition or 0, TP(topic, partition or 0), len(self.sent), 0.0, 0))
        return fut

    def on(self, topic: str) -> list[tuple[bytes | None, bytes | None]]:
        return [(k, v) for t, k, v in self.sent if t == topic]

    # The batch interface of aiokafka's producer, which broadcast fan-outs use (streams.bulk_produce).

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def create_batch(self) -> RecordingBatch:
        return RecordingBatch()

    async def send_batch(self, batch: RecordingBatch, topic: str, *, partition: int) -> asyncio.Future:
        self.sent.extend((topic, k, v) for k, v in batch.records)
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


class RecordingBatch:
    """A batch builder that holds ten records, so that fan-outs in these tests fill several."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes]] = []
        self.closed = False

    def append(self, *, timestamp: float | None, key: bytes, value: bytes) -> object | None:
        if self.closed or len(self.records) >= 10:
            self.closed = True
            return None
        self.records.append((key, value))
        return object()

    def record_count(self) -> int:
        return len(self.records)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def streams(tmp_path):
    app = build(Settings.from_env({"HOSO_STATE_DIR": str(tmp_path)}), store="memory://")
    app.clock = lambda: DAY  # daytime, so quiet hours do not defer what these tests look at
    producer = RecordingProducer()

    use_producer(app, producer)
    app.fanout_producer = producer
    return app, producer


async def put(ctx, record: dict[str, Any] | bytes, key: bytes | None = DOSSIER.encode()) -> None:
    value = record if isinstance(record, bytes) else orjson.dumps(record)
    await ctx.put(key=key, value=value)


async def test_a_consenting_recipient_gets_one_notification_per_announced_event(streams):
    app, producer = streams
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await put(ctx, event("RECEIVED", sequence=1))
        await put(ctx, event("SUPPLEMENT_REQUESTED", sequence=2))
    sent = producer.on(app.topics.notifications.name)
    assert len(sent) == 2
    second = orjson.loads(sent[1][1])
    assert second["trang_thai"] == "SUPPLEMENT_REQUESTED"
    assert "Bản vẽ thiết kế" in second["template_data"]["noi_dung"]
    assert second["to"]["phone"] == "84912345678"
    assert sent[0][0] == sent[1][0], "one recipient's messages share a key"


async def test_duplicate_and_stale_events_are_not_announced_again(streams):
    app, producer = streams
    first = event("RECEIVED", sequence=1)
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await put(ctx, first)
        await put(ctx, event("RESULT_READY", sequence=2))
        await put(ctx, first)  # redelivered
        await put(ctx, event("PAID", sequence=2))  # another event claiming an applied sequence
    statuses = [orjson.loads(v)["trang_thai"] for _, v in producer.on(app.topics.notifications.name)]
    assert statuses == ["RECEIVED", "RESULT_READY"]
    state = orjson.loads(app.tables["dossier_state"][DOSSIER.encode()])
    assert state["sequence"] == 2 and state["trang_thai"] == "RESULT_READY"


async def test_a_late_event_within_the_hold_is_applied_in_sequence_order(streams):
    app, producer = streams
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await put(ctx, event("RECEIVED", sequence=1))
        await put(ctx, event("RESULT_READY", sequence=3))
        await put(ctx, event("PAYMENT_REQUESTED", sequence=2))  # arrives late, fills the gap
    statuses = [orjson.loads(v)["trang_thai"] for _, v in producer.on(app.topics.notifications.name)]
    assert statuses == ["RECEIVED", "PAYMENT_REQUESTED", "RESULT_READY"]


async def test_a_tick_releases_a_held_low_value_message_and_empties_the_hold(streams):
    app, producer = streams
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await put(ctx, event("TRANSFERRED", sequence=1))
    assert producer.on(app.topics.notifications.name) == []
    assert DOSSIER.encode() in app.tables["dossier_hold"]
    async with app.agents["apply_lifecycle_ticks"].test_context() as ticks:
        await ticks.put(key=DOSSIER.encode(), value=tick_record("release", DAY + timedelta(minutes=1)))
    statuses = [orjson.loads(v)["trang_thai"] for _, v in producer.on(app.topics.notifications.name)]
    assert statuses == ["TRANSFERRED"]
    assert DOSSIER.encode() not in app.tables["dossier_hold"]


async def test_quiet_hours_defer_to_seven_in_the_morning(streams):
    app, producer = streams
    app.clock = lambda: DAY.replace(hour=23)
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await put(ctx, event("RECEIVED", sequence=1))
    assert producer.on(app.topics.notifications.name) == []
    async with app.agents["apply_lifecycle_ticks"].test_context() as ticks:
        await ticks.put(key=DOSSIER.encode(), value=tick_record("release", DAY.replace(hour=23, minute=30)))
        assert producer.on(app.topics.notifications.name) == []
        await ticks.put(key=DOSSIER.encode(), value=tick_record("release", (DAY + timedelta(days=1)).replace(hour=7)))
    assert len(producer.on(app.topics.notifications.name)) == 1


async def test_an_overdue_tick_raises_the_internal_overdue_state_once(streams):
    app, _producer = streams
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await put(ctx, event("RECEIVED", sequence=1))  # appointment 2026-12-05 17:00
    before = metrics.OVERDUE_DOSSIERS.labels("000.00.49.H22")._value.get()
    async with app.agents["apply_lifecycle_ticks"].test_context() as ticks:
        for _ in range(2):
            await ticks.put(key=DOSSIER.encode(), value=tick_record("overdue", DAY + timedelta(days=7)))
    state = orjson.loads(app.tables["dossier_state"][DOSSIER.encode()])
    assert state["overdue_since"]
    assert metrics.OVERDUE_DOSSIERS.labels("000.00.49.H22")._value.get() == before + 1


async def test_withdrawn_consent_stops_messages(streams):
    app, producer = streams
    person = {"ho_ten_hien_thi": "Trần Văn Minh", "phone": "0987654321"}
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await put(ctx, event("RECEIVED", sequence=1, recipients=[{**person, "dong_y_zalo": True}]))
        await put(ctx, event("TRANSFERRED", sequence=2, recipients=[{**person, "dong_y_zalo": False}]))
        await put(ctx, event("RESULT_READY", sequence=3, recipients=[]))
    assert len(producer.on(app.topics.notifications.name)) == 1


async def test_invalid_records_go_to_the_invalid_topic_and_processing_continues(streams):
    app, producer = streams
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await put(ctx, b"\xff not json")
        await put(ctx, event("RECEIVED", sequence=1), key=b"wrong-key")
        await put(ctx, event("RECEIVED", sequence=1))
    invalid = producer.on(app.topics.dossier_events_invalid.name)
    assert len(invalid) == 2
    reasons = [orjson.loads(v)["problems"][0] for _, v in invalid]
    assert reasons[0]["message"] == "not valid UTF-8"
    assert reasons[1]["path"] == "key"
    assert len(producer.on(app.topics.notifications.name)) == 1


async def test_chat_subscriptions_join_agency_consent(streams):
    app, producer = streams
    follow = {
        "ma_ho_so": DOSSIER,
        "subscriber_id": "z:abc123",
        "zalo_user_id": "1234567890",
        "source": "CHAT",
        "updated_at": "2026-11-28T08:00:00+07:00",
    }
    async with app.agents["apply_subscription_changes"].test_context() as sub_ctx:
        await sub_ctx.put(key=DOSSIER.encode(), value=orjson.dumps(follow))
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await put(ctx, event("RECEIVED", sequence=1))
    channels = sorted(orjson.loads(v)["channel"] for _, v in producer.on(app.topics.notifications.name))
    assert channels == ["OA_TEXT", "ZBS_PHONE"]


async def test_follows_waiting_in_vain_for_a_first_sync_are_purged_once_lapsed(streams):
    from schemas.chat_command import DossierAction, DossierCommand
    from schemas.common import now_vn

    app, _producer = streams
    code = "000.00.49.H22-261129-99999"  # never synced
    follow = DossierCommand(
        command_id="cmd-never-synced",
        action=DossierAction.FOLLOW,
        ma_ho_so=code,
        subscriber_ids=["zu-waiting-citizen"],
        reply_to="8123456789012345678",
        reply_subscriber_id="zu-waiting-citizen",
        oa_id="hoso-demo-oa",
        requested_at=now_vn(),
    )
    async with app.agents["chat_dossier_commands"].test_context() as ctx:
        await ctx.put(key=code.encode(), value=follow.model_dump_json().encode())
    assert code.encode() in app.tables["pending_follows"]
    async with app.agents["apply_lifecycle_ticks"].test_context() as ticks:
        await ticks.put(key=code.encode(), value=tick_record("purge", now_vn() + timedelta(days=13)))
        assert code.encode() in app.tables["pending_follows"], "still within the waiting time"
        await ticks.put(key=code.encode(), value=tick_record("purge", now_vn() + timedelta(days=15)))
    assert code.encode() not in app.tables["pending_follows"]
