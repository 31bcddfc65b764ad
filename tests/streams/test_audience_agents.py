"""OA followers and area news through the Faust agents: webhook follow, chat THEO DOI, EMERGENCY and POLICY.

Faust's test context with a simulated clock (``app.clock``) and release ticks from the future, like the
quiet-hours test of the dossier flow; one partition, so every table row is on the broadcast's partition.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest

from hoso import metrics
from hoso.settings import Settings
from schemas.common import pseudonym
from streams.agents.policy_news import tick_record
from streams.app import build
from tests.factories import event
from tests.streams.engine_helpers import DAY
from tests.streams.fake_producer import use_producer
from tests.streams.test_agents import RecordingProducer

NIGHT = DAY.replace(hour=22)  # quiet hours are 21:00-07:00 by default
MORNING = (DAY + timedelta(days=1)).replace(hour=7)
LAN = "5830000000000000001"  # follows two dossiers in Quảng Ninh by chat, and asks for the province's news
MINH = "5830000000000000002"  # follows the OA only: no dossier at all


@pytest.fixture
def streams(tmp_path):
    settings = Settings.from_env({"HOSO_STATE_DIR": str(tmp_path), "HOSO_PARTITIONS": "1"})
    app = build(settings, store="memory://")
    app.clock = lambda: DAY
    producer = RecordingProducer()

    use_producer(app, producer)
    app.fanout_producer = producer
    return app, producer


def sid(app, user: str) -> str:
    return pseudonym(app.settings.pseudonym_key, "z", user)


def zalo(app, user: str, name: str, text: str | None = None) -> tuple[bytes, bytes]:
    payload: dict[str, Any] = {"event_name": name, "follower": {"id": user}, "oa_id": "hoso-demo-oa"}
    if text is not None:
        payload = {"event_name": name, "sender": {"id": user}, "message": {"msg_id": uuid.uuid4().hex, "text": text}}
    record = {
        "event_id": uuid.uuid4().hex,
        "event_name": name,
        "server": "OA",
        "zalo_user_id": user,
        "oa_id": "hoso-demo-oa",
        "received_at": "2026-12-01T10:00:00+07:00",
        "signature_variant": "app_id",
        "payload": payload,
    }
    return sid(app, user).encode(), orjson.dumps(record)


def broadcast(kind: str | None, bid: str, area: str = "22") -> bytes:
    body = {
        "broadcast_id": bid,
        "area_level": "PROVINCE" if len(area) == 2 else "COMMUNE",
        "area_code": area,
        "text": "Từ 01/01/2027, người dân nộp hồ sơ trực tuyến được giảm 50% lệ phí."
        if kind == "POLICY"
        else "Bão số 9 đổ bộ Quảng Ninh đêm nay. Đề nghị người dân không ra khơi.",
        "issued_by": "UBND tỉnh Quảng Ninh",
        "issued_at": "2026-12-01T09:00:00+07:00",
    }
    if kind is not None:
        body["priority"] = kind
    return orjson.dumps(body)


async def chat_in(app, *events: tuple[bytes, bytes]) -> None:
    async with app.agents["chat_zalo_events"].test_context() as ctx:
        for key, value in events:
            await ctx.put(key=key, value=value)


async def dossiers_followed_by_chat(app, user: str, codes: list[str]) -> None:
    async with app.agents["join_dossier_events"].test_context() as ctx:
        for code in codes:
            await ctx.put(key=code.encode(), value=orjson.dumps(event("RECEIVED", dossier=code, recipients=[])))
    async with app.agents["apply_subscription_changes"].test_context() as ctx:
        for code in codes:
            follow = {
                "ma_ho_so": code,
                "subscriber_id": sid(app, user),
                "zalo_user_id": user,
                "source": "CHAT",
                "updated_at": "2026-11-28T08:00:00+07:00",
            }
            await ctx.put(key=code.encode(), value=orjson.dumps(follow))


async def fan_out(app, value: bytes) -> None:
    async with app.agents["fan_out_broadcasts"].test_context() as ctx:
        await ctx.put(key=b"bc", value=value, partition=0)


async def pace(app, records: list[tuple[bytes | None, bytes | None]]) -> None:
    async with app.agents["pace_policy_news"].test_context() as ctx:
        for key, value in records:
            await ctx.put(key=key, value=value)


def sent_for(app, producer: RecordingProducer, bid: str) -> list[dict]:
    values = [orjson.loads(v) for _, v in producer.on(app.topics.notifications.name)]
    return [v for v in values if v.get("broadcast_id") == bid]


async def test_follow_records_an_oa_follower_and_unfollow_removes_it(streams):
    app, _producer = streams
    await chat_in(app, zalo(app, MINH, "follow"))
    row = orjson.loads(app.tables["oa_audience"][sid(app, MINH).encode()])
    assert row["follows_oa"] is True and row["zalo_user_id"] == MINH and row["areas"] == {}
    await chat_in(app, zalo(app, MINH, "unfollow"))
    assert sid(app, MINH).encode() not in app.tables["oa_audience"]


async def test_theo_doi_as_typed_places_the_citizen_and_bo_theo_doi_stops_it(streams):
    app, producer = streams
    await chat_in(app, zalo(app, LAN, "user_send_text", "theo doi phuong bai chay a"))
    row = orjson.loads(app.tables["oa_audience"][sid(app, LAN).encode()])
    assert row["areas"] == {"06658": "22"}
    [answer] = [orjson.loads(v) for _, v in producer.on(app.topics.notifications.name)]
    assert "phường Bãi Cháy" in answer["text"] and "Ông/Bà" in answer["text"]
    await chat_in(app, zalo(app, LAN, "user_send_text", "Bỏ theo dõi"))
    assert sid(app, LAN).encode() not in app.tables["oa_audience"], "no OA follow and no area left: row gone"


async def test_an_unknown_area_gets_a_polite_answer_and_changes_nothing(streams):
    app, producer = streams
    await chat_in(app, zalo(app, LAN, "user_send_text", "THEO DOI xom Bai Chayy"))
    assert sid(app, LAN).encode() not in app.tables["oa_audience"]
    [answer] = [orjson.loads(v)["text"] for _, v in producer.on(app.topics.notifications.name)]
    assert answer.startswith("Chưa xác định được địa phương Ông/Bà muốn nhận tin.")
    assert "THEO DOI <tên xã, phường hoặc tỉnh, thành phố>" in answer


async def test_theo_doi_with_a_dossier_code_is_still_a_dossier_follow(streams):
    app, producer = streams
    await chat_in(app, zalo(app, LAN, "user_send_text", "theo doi 000.00.49.H22-261128-0001"))
    assert sid(app, LAN).encode() not in app.tables["oa_audience"]
    commands = producer.on(app.topics.dossier_commands.name)
    assert [orjson.loads(v)["action"] for _, v in commands] == ["FOLLOW"]


async def test_an_emergency_at_night_goes_at_once_to_an_oa_follower_without_a_dossier(streams):
    app, producer = streams
    app.clock = lambda: NIGHT
    await chat_in(app, zalo(app, MINH, "follow"))
    await fan_out(app, broadcast("EMERGENCY", "bao-so-9"))
    [alert] = sent_for(app, producer, "bao-so-9")
    assert alert["to"] == {"subscriber_id": sid(app, MINH), "zalo_user_id": MINH}
    assert (alert["kind"], alert["priority"], alert["channel"]) == ("ALERT", 0, "OA_TEXT")
    assert producer.on(app.topics.policy_news.name) == []


async def test_a_policy_broadcast_at_22_waits_until_7_in_the_morning(streams):
    app, producer = streams
    await chat_in(app, zalo(app, MINH, "follow"))
    app.clock = lambda: NIGHT
    await fan_out(app, broadcast("POLICY", "giam-le-phi"))
    assert sent_for(app, producer, "giam-le-phi") == []
    [(key, news)] = producer.on(app.topics.policy_news.name)
    assert key == sid(app, MINH).encode() and orjson.loads(news)["kind"] == "POLICY"

    deferred = metrics.POLICY_NEWS.labels("deferred_quiet_hours")._value.get()
    await pace(app, [(key, news)])
    assert sent_for(app, producer, "giam-le-phi") == [], "22:00 is inside quiet hours"
    assert metrics.POLICY_NEWS.labels("deferred_quiet_hours")._value.get() == deferred + 1
    await pace(app, [(key, tick_record(MORNING - timedelta(minutes=1)))])
    assert sent_for(app, producer, "giam-le-phi") == [], "06:59 is still quiet"
    await pace(app, [(key, tick_record(MORNING))])
    [news_sent] = sent_for(app, producer, "giam-le-phi")
    assert news_sent["to"]["zalo_user_id"] == MINH and news_sent["priority"] == 3


async def test_a_person_with_two_dossiers_and_an_area_follow_gets_one_emergency(streams):
    app, producer = streams
    codes = ["000.00.49.H22-261128-0001", "000.00.49.H22-261128-0002"]
    await dossiers_followed_by_chat(app, LAN, codes)
    await chat_in(app, zalo(app, LAN, "user_send_text", "Theo dõi tỉnh Quảng Ninh"), zalo(app, MINH, "follow"))
    await fan_out(app, broadcast(None, "lu-quet"))  # no priority: EMERGENCY, as before kinds existed
    alerts = sent_for(app, producer, "lu-quet")
    assert sorted(a["to"]["zalo_user_id"] for a in alerts) == sorted([LAN, MINH])


async def test_policy_news_reaches_each_person_once_and_at_most_the_daily_cap(streams):
    app, producer = streams
    await chat_in(app, zalo(app, LAN, "user_send_text", "theo doi Quang Ninh"))
    for n in range(3):
        await fan_out(app, broadcast("POLICY", f"chinh-sach-{n}"))
    news = producer.on(app.topics.policy_news.name)
    assert len(news) == 3
    dropped = metrics.POLICY_NEWS.labels("dropped_daily_limit")._value.get()
    duplicates = metrics.POLICY_NEWS.labels("duplicate")._value.get()
    await pace(app, [news[0], news[0], news[1], news[2]])  # the first one twice: another partition
    sent = [b for b in ("chinh-sach-0", "chinh-sach-1", "chinh-sach-2") if sent_for(app, producer, b)]
    assert sent == ["chinh-sach-0", "chinh-sach-1"], "HOSO_POLICY_NEWS_PER_DAY is 2"
    assert len(sent_for(app, producer, "chinh-sach-0")) == 1
    assert metrics.POLICY_NEWS.labels("duplicate")._value.get() == duplicates + 1
    assert metrics.POLICY_NEWS.labels("dropped_daily_limit")._value.get() == dropped + 1


async def test_policy_news_does_not_reach_people_who_only_follow_a_dossier(streams):
    app, producer = streams
    await dossiers_followed_by_chat(app, LAN, ["000.00.49.H22-261128-0001"])
    await fan_out(app, broadcast("POLICY", "tin-chinh-sach"))
    assert producer.on(app.topics.policy_news.name) == []
    await fan_out(app, broadcast("EMERGENCY", "canh-bao"))
    assert [a["to"]["zalo_user_id"] for a in sent_for(app, producer, "canh-bao")] == [LAN]


async def test_an_oa_follower_who_proved_their_phone_is_one_person_with_that_phone(streams):
    app, producer = streams
    phone_sid = pseudonym(app.settings.pseudonym_key, "p", "84912345678")  # the factory's consenting phone
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await ctx.put(key=b"000.00.49.H22-261128-0001", value=orjson.dumps(event("RECEIVED")))
    await chat_in(app, zalo(app, LAN, "follow"))
    link = {
        "command_id": "proof-1/link_phone",
        "action": "LINK_PHONE",
        "subscriber_id": sid(app, LAN),
        "oa_id": "hoso-demo-oa",
        "requested_at": "2026-12-01T10:00:00+07:00",
        "linked_id": phone_sid,
    }
    async with app.agents["chat_citizen_commands"].test_context() as ctx:
        await ctx.put(key=sid(app, LAN).encode(), value=orjson.dumps(link))
    await fan_out(app, broadcast("EMERGENCY", "bao-so-10"))
    [alert] = sent_for(app, producer, "bao-so-10")
    assert alert["to"]["subscriber_id"] == phone_sid and alert["channel"] == "ZBS_PHONE"
