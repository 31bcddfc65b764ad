"""The ingest gateway over HTTP: keys and agencies, per-item replies, limits and error shapes.

Kafka is replaced here by an in-memory sink so each HTTP rule is checked on its own; the same app on the real
broker is covered in test_gateway_broker.py.
"""

from __future__ import annotations

import asyncio
import copy

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from hoso.errors import ConfigurationError, PublishError
from producers.gateway.app import create_app
from producers.gateway.auth import DEMO_KEYS_FILE, KeyRing, hash_key
from producers.gateway.routes import Context, Limits
from tests.factories import event

QN = {"Authorization": "Bearer hoso-demo-quangninh"}
TH = {"Authorization": "Bearer hoso-demo-thanhhoa"}
OPERATOR = {"Authorization": "Bearer hoso-demo-operator"}


class MemorySink:
    """Records what would have been published; can be told to fail like an unreachable broker."""

    def __init__(self) -> None:
        self.events: list = []
        self.fail = False

    async def publish(self, events) -> None:
        if self.fail:
            raise PublishError("broker down")
        self.events.extend(events)

    def close(self) -> None:
        pass


class BroadcastMemory:
    def __init__(self) -> None:
        self.sent: list = []

    async def __call__(self, broadcast) -> None:
        self.sent.append(broadcast)


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def alerts() -> BroadcastMemory:
    return BroadcastMemory()


@pytest.fixture
async def client(sink, alerts):
    app = create_app(Context(KeyRing.from_file(DEMO_KEYS_FILE), sink, alerts, Limits(20_000, 5, 0.5)))
    async with TestClient(TestServer(app)) as c:
        yield c


def thanh_hoa_event(**kw) -> dict:
    e = event(**{"dossier": "000.00.12.H56-261128-0001", **kw})
    e["source_system"] = "000.00.12.H56"
    e["data"]["don_vi_tiep_nhan"]["ma_dinh_danh"] = "000.00.12.H56"
    return e


async def test_one_valid_event_is_accepted_after_it_is_published(client, sink):
    e = event()
    r = await client.post("/v1/dossier-events", json=e, headers=QN)
    assert r.status == 200
    assert await r.json() == {"accepted": 1, "rejected": []}
    assert [str(x.event_id) for x in sink.events] == [e["event_id"]]


async def test_a_batch_accepts_the_valid_items_and_returns_each_rejected_one_with_index_path_reason(client, sink):
    bad_phone = event(sequence=2, recipients=[{"ho_ten_hien_thi": "Lan", "phone": "12345", "dong_y_zalo": True}])
    no_reason = event("STOPPED", sequence=3)
    no_reason["data"].pop("ly_do")
    batch = [event(sequence=1), bad_phone, no_reason, event(sequence=4)]
    r = await client.post("/v1/dossier-events", json=batch, headers=QN)
    assert r.status == 207
    reply = await r.json()
    assert reply["accepted"] == 2
    assert [(x["index"], x["path"]) for x in reply["rejected"]] == [
        (1, "data.nguoi_nhan_thong_bao[0].phone"),
        (2, "data.ly_do"),
    ]
    assert all(x["reason"] for x in reply["rejected"])
    assert [x.sequence for x in sink.events] == [1, 4]


async def test_a_batch_with_only_invalid_items_is_422_and_publishes_nothing(client, sink):
    r = await client.post("/v1/dossier-events", json=[{"event_id": "x"}], headers=QN)
    assert r.status == 422
    assert {x["index"] for x in (await r.json())["rejected"]} == {0}
    assert sink.events == []


async def test_a_replayed_event_is_accepted_again(client, sink):
    e = event()
    for _ in range(2):
        r = await client.post("/v1/dossier-events", json=e, headers=QN)
        assert r.status == 200
    assert [x.event_id for x in sink.events] == [sink.events[0].event_id] * 2  # the streams drop the copy


async def test_a_key_of_one_agency_cannot_publish_for_another(client, sink):
    r = await client.post("/v1/dossier-events", json=[event(), thanh_hoa_event()], headers=TH)
    assert r.status == 207
    reply = await r.json()
    assert reply["accepted"] == 1
    assert [(x["index"], x["path"]) for x in reply["rejected"]] == [
        (0, "source_system"),
        (0, "data.don_vi_tiep_nhan.ma_dinh_danh"),
        (0, "data.ma_ho_so"),
    ]
    assert [x.source_system for x in sink.events] == ["000.00.12.H56"]
    only_foreign = await client.post("/v1/dossier-events", json=event(), headers=TH)
    assert only_foreign.status == 403
    assert (await only_foreign.json())["rejected"][0]["index"] == 0


async def test_receiving_agency_code_is_checked_too(client, sink):
    e = event()
    e["data"]["don_vi_tiep_nhan"]["ma_dinh_danh"] = "000.00.12.H56"
    r = await client.post("/v1/dossier-events", json=e, headers=QN)
    assert r.status == 403
    assert [x["path"] for x in (await r.json())["rejected"]] == ["data.don_vi_tiep_nhan.ma_dinh_danh"]


async def test_dvcqg_payload_for_another_agencys_code_is_forbidden(client, sink):
    payload = {"madonvi": "000.00.12.H56", "isUpdating": "False", "data": [{"MaHoSo": "x"}]}
    r = await client.post("/v1/dvcqg/DongBoHoSoMC", json=payload, headers=QN)
    assert r.status == 403 and (await r.json())["error"] == "forbidden"
    assert sink.events == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic aG9zbzpkZW1v"}, {"Authorization": "Bearer"}],
)
async def test_requests_without_a_known_key_are_401_and_the_body_is_not_read(client, sink, headers):
    r = await client.post("/v1/dossier-events", json=event(), headers=headers)
    assert r.status == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert (await r.json())["error"] == "unauthorized"
    assert sink.events == []


async def test_operator_only_key_cannot_publish_dossier_events(client):
    r = await client.post("/v1/dossier-events", json=event(), headers=OPERATOR)
    assert r.status == 403


async def test_a_wrong_content_type_is_415(client):
    r = await client.post(
        "/v1/dossier-events", data=orjson.dumps(event()), headers={**QN, "Content-Type": "text/plain"}
    )
    assert r.status == 415 and (await r.json())["error"] == "unsupported_media_type"


async def test_malformed_json_is_400_with_a_clear_reason(client):
    r = await client.post(
        "/v1/dossier-events", data=b'{"event_id": ', headers={**QN, "Content-Type": "application/json"}
    )
    assert r.status == 400
    body = await r.json()
    assert body["error"] == "malformed_json" and "not valid JSON" in body["reason"]


async def test_an_empty_batch_is_400(client):
    r = await client.post("/v1/dossier-events", json=[], headers=QN)
    assert r.status == 400


async def test_a_declared_oversized_body_is_413(client):
    r = await client.post("/v1/dossier-events", data=b" " * 30_000, headers={**QN, "Content-Type": "application/json"})
    assert r.status == 413 and (await r.json())["error"] == "payload_too_large"


async def test_an_undeclared_chunked_oversized_body_is_413(client):
    async def chunks():
        for _ in range(30):
            yield b" " * 1000

    r = await client.post("/v1/dossier-events", data=chunks(), headers={**QN, "Content-Type": "application/json"})
    assert r.status == 413


async def test_more_items_than_the_batch_limit_is_413(client, sink):
    r = await client.post("/v1/dossier-events", json=[event(sequence=i) for i in range(6)], headers=QN)
    assert r.status == 413 and (await r.json())["error"] == "too_many_items"
    assert sink.events == []


async def test_a_client_that_stalls_mid_body_gets_408(client):
    reader, writer = await asyncio.open_connection(client.host, client.port)
    head = (
        "POST /v1/dossier-events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer hoso-demo-quangninh\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    )
    writer.write(head.encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert b" 408 " in status_line


async def test_kafka_not_acknowledging_is_503_and_nothing_is_claimed(client, sink):
    sink.fail = True
    r = await client.post("/v1/dossier-events", json=event(), headers=QN)
    assert r.status == 503 and (await r.json())["error"] == "kafka_unavailable"


async def test_unknown_paths_and_methods_answer_in_the_error_shape(client):
    r = await client.get("/v1/nothing")
    assert r.status == 404 and set(await r.json()) == {"error", "reason"}
    r = await client.get("/v1/dossier-events")
    assert r.status == 405 and "POST" in r.headers["Allow"]


async def test_health_needs_no_key(client):
    r = await client.get("/healthz")
    assert r.status == 200 and (await r.json())["status"] == "ok"


DVCQG_ITEM = {
    "MaHoSo": "000.00.49.H22-251120-0001",
    "MaTTHC": "1.005129",
    "TenTTHC": "Cấp giấy phép xây dựng",
    "KenhThucHien": "1",
    "ChuHoSo": "Trần Văn Minh",
    "SoDienThoai": "0987654321",
    "NgayTiepNhan": "20251120083000",
    "TrangThaiHoSo": "2",
}


async def test_dvcqg_reply_has_the_national_success_code_and_item_paths(client, sink):
    bad = {**DVCQG_ITEM, "TrangThaiHoSo": "12"}
    payload = {"madonvi": "000.00.49.H22", "isUpdating": "False", "data": [DVCQG_ITEM, bad]}
    r = await client.post("/v1/dvcqg/DongBoHoSoMC", json=payload, headers=QN)
    assert r.status == 207
    reply = await r.json()
    assert reply["error_code"] == "01" and reply["accepted"] == 1
    assert [(x["index"], x["path"]) for x in reply["rejected"]] == [(1, "data[1].TrangThaiHoSo")]
    ok = await client.post("/v1/dvcqg/DongBoHoSoMC", json={**payload, "data": [DVCQG_ITEM]}, headers=QN)
    assert (await ok.json())["error_code"] == "00"


async def test_dvcqg_landline_is_accepted_with_a_warning(client, sink):
    payload = {"madonvi": "000.00.49.H22", "data": [{**DVCQG_ITEM, "SoDienThoai": "0203 3123456"}]}
    r = await client.post("/v1/dvcqg/DongBoHoSoMC", json=payload, headers=QN)
    assert r.status == 200
    assert [w["path"] for w in (await r.json())["warnings"]] == ["data[0].SoDienThoai"]


async def test_dvcqg_bad_envelope_is_400_naming_the_field(client):
    r = await client.post("/v1/dvcqg/CapNhatTienDoHoSoMC", json={"data": [DVCQG_ITEM]}, headers=QN)
    assert r.status == 400 and "madonvi" in (await r.json())["reason"]


async def test_dvcqg_consent_default_comes_from_the_agency_profile(client, sink):
    item = {**DVCQG_ITEM, "MaHoSo": "000.00.12.H56-251120-0001"}
    await client.post("/v1/dvcqg/DongBoHoSoMC", json={"madonvi": "000.00.12.H56", "data": [item]}, headers=TH)
    await client.post("/v1/dvcqg/DongBoHoSoMC", json={"madonvi": "000.00.49.H22", "data": [DVCQG_ITEM]}, headers=QN)
    thanh_hoa, quang_ninh = sink.events
    assert thanh_hoa.data.nguoi_nhan_thong_bao[0].dong_y_zalo is True  # consents recorded at intake there
    assert quang_ninh.data.nguoi_nhan_thong_bao[0].dong_y_zalo is False


ALERT = {"broadcast_id": "bao-13", "area_level": "PROVINCE", "area_code": "22", "text": "Bão số 13 đổ bộ chiều nay."}


async def test_an_operator_broadcast_is_validated_and_published(client, alerts):
    r = await client.post("/v1/broadcasts", json=ALERT, headers=OPERATOR)
    assert r.status == 200
    assert await r.json() == {"accepted": 1, "rejected": [], "broadcast_id": "bao-13"}
    [sent] = alerts.sent
    assert (sent.area_code, sent.issued_by) == ("22", "operator-demo")


async def test_an_agency_key_cannot_broadcast(client, alerts):
    r = await client.post("/v1/broadcasts", json=ALERT, headers=QN)
    assert r.status == 403 and alerts.sent == []


async def test_an_invalid_broadcast_is_422_with_its_path(client, alerts):
    r = await client.post("/v1/broadcasts", json={**ALERT, "area_code": "123"}, headers=OPERATOR)
    assert r.status == 422
    assert (await r.json())["rejected"][0]["index"] == 0
    assert alerts.sent == []


def test_keyring_compares_digests_and_never_needs_the_plain_key():
    raw = orjson.loads(DEMO_KEYS_FILE.read_bytes())
    assert "hoso-demo-quangninh" not in DEMO_KEYS_FILE.read_text()
    assert hash_key("hoso-demo-quangninh") in {k["sha256"] for k in raw["keys"]}
    ring = KeyRing.from_mapping(raw)
    assert ring.authenticate("Bearer hoso-demo-quangninh").agency.id == "quang-ninh"
    assert ring.authenticate("bearer  hoso-demo-operator ").operator is True
    assert ring.authenticate("Bearer hoso-demo-quangninh2") is None


def test_agency_code_rules_are_exact_or_prefix():
    ring = KeyRing.from_file(DEMO_KEYS_FILE)
    thanh_hoa = ring.authenticate("Bearer hoso-demo-thanhhoa").agency
    assert thanh_hoa.allows("000.00.12.H56") and not thanh_hoa.allows("000.00.49.H22")
    quang_ninh = ring.authenticate("Bearer hoso-demo-quangninh").agency
    assert quang_ninh.allows("000.00.49.H22") and not quang_ninh.allows("000.00.49.H22X")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["keys"][0].update(sha256="abc"), "keys[0].sha256"),
        (lambda d: d["keys"][0].update(agency="nowhere"), "unknown agency"),
        (lambda d: d["agencies"]["quang-ninh"].update(codes=[]), "agencies.quang-ninh.codes"),
        (lambda d: d["agencies"]["quang-ninh"]["dvcqg"].pop("tinh"), "missing tinh"),
        (lambda d: d.pop("keys"), "expected"),
    ],
)
def test_a_bad_keys_file_fails_at_start_with_a_clear_message(change, message):
    raw = orjson.loads(DEMO_KEYS_FILE.read_bytes())
    broken = copy.deepcopy(raw)
    change(broken)
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        KeyRing.from_mapping(broken)


def test_a_missing_keys_file_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="gateway keys file"):
        KeyRing.from_file(tmp_path / "none.json")


async def test_a_key_cannot_publish_for_a_dossier_whose_code_belongs_to_another_agency(client, sink):
    """The dossier code (the Kafka key) names its agency; naming yourself as the source is not enough."""
    thanh_hoa_dossier = event(dossier="000.00.12.H56-261128-0007")
    r = await client.post("/v1/dossier-events", json=thanh_hoa_dossier, headers=QN)
    assert r.status == 403
    [rejected] = (await r.json())["rejected"]
    assert rejected["path"] == "data.ma_ho_so" and "000.00.12.H56" in rejected["reason"]
    no_prefix = event(dossier="HS2026-0001")  # careless sender: a code without the agency part
    assert (await client.post("/v1/dossier-events", json=no_prefix, headers=QN)).status == 403
    assert sink.events == []


async def test_dvcqg_item_for_another_agencys_dossier_under_our_madonvi_is_forbidden(client, sink):
    foreign = {**DVCQG_ITEM, "MaHoSo": "000.00.12.H56-251120-0001"}
    payload = {"madonvi": "000.00.49.H22", "isUpdating": "False", "data": [DVCQG_ITEM, foreign]}
    r = await client.post("/v1/dvcqg/DongBoHoSoMC", json=payload, headers=QN)
    assert r.status == 207
    reply = await r.json()
    assert [(x["index"], x["path"]) for x in reply["rejected"]] == [(1, "data[1].MaHoSo")]
    assert [e.data.ma_ho_so for e in sink.events] == [DVCQG_ITEM["MaHoSo"]]


async def test_a_broadcasts_issuer_and_time_come_from_the_key_and_the_server_clock(client, alerts):
    spoofed = {**ALERT, "issued_by": "Bộ Công an", "issued_at": "2020-01-01T00:00:00+07:00"}
    r = await client.post("/v1/broadcasts", json=spoofed, headers=OPERATOR)
    assert r.status == 200
    [sent] = alerts.sent
    assert sent.issued_by == "operator-demo"
    assert sent.issued_at.year >= 2026
