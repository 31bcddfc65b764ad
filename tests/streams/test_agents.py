"""The Faust agents under Faust's test context: bytes in, table state and notification records out."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from faust.types import TP, RecordMetadata

from hoso.settings import Settings
from streams.app import build
from tests.factories import DOSSIER, event


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


@pytest.fixture
def streams(tmp_path):
    app = build(Settings.from_env({"HOSO_STATE_DIR": str(tmp_path)}), store="memory://")
    producer = RecordingProducer()

    async def fake_producer() -> RecordingProducer:
        return producer

    app.app.maybe_start_producer = fake_producer
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
        await put(ctx, event("TRANSFERRED", sequence=3))
        await put(ctx, first)  # redelivered
        await put(ctx, event("IN_PROCESS", sequence=2))  # arrives late
    statuses = [orjson.loads(v)["trang_thai"] for _, v in producer.on(app.topics.notifications.name)]
    assert statuses == ["RECEIVED", "TRANSFERRED"]
    state = orjson.loads(app.tables["dossier_state"][DOSSIER.encode()])
    assert state["sequence"] == 3 and state["trang_thai"] == "TRANSFERRED"


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
