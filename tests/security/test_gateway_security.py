"""The ingest gateway refuses callers without a valid key, keys of another agency, oversized and slow bodies.

Runs the real aiohttp app on a loopback socket (Kafka replaced by an in-memory sink): slow-client checks need
a real connection that can dribble bytes.
"""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from producers.gateway.app import create_app
from producers.gateway.auth import DEMO_KEYS_FILE, KeyRing
from producers.gateway.routes import Context, Limits
from tests.factories import event

QN = {"Authorization": "Bearer hoso-demo-quangninh"}
TH = {"Authorization": "Bearer hoso-demo-thanhhoa"}
OPERATOR = {"Authorization": "Bearer hoso-demo-operator"}
READ_TIMEOUT_S = 1.0
MAX_BODY = 50_000


class MemorySink:
    def __init__(self) -> None:
        self.events: list = []

    async def publish(self, events) -> None:
        self.events.extend(events)

    def close(self) -> None:
        pass


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
async def client(sink):
    app = create_app(Context(KeyRing.from_file(DEMO_KEYS_FILE), sink, None, Limits(MAX_BODY, 50, READ_TIMEOUT_S)))
    async with TestClient(TestServer(app)) as c:
        yield c


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer hoso-demo-quangninh-but-longer"},
        {"Authorization": "Bearer HOSO-DEMO-QUANGNINH"},
        {"Authorization": "Basic aG9zbzpkZW1v"},
        {"Authorization": "hoso-demo-quangninh"},
    ],
    ids=["missing", "empty", "wrong", "wrong-case", "basic-scheme", "no-scheme"],
)
async def test_a_missing_or_wrong_key_gets_401_and_nothing_is_published(client, sink, headers):
    r = await client.post("/v1/dossier-events", json=event(), headers=headers)
    assert r.status == 401
    assert r.headers.get("WWW-Authenticate") == "Bearer"
    assert (await r.json())["error"] == "unauthorized"
    assert sink.events == []


async def test_an_unknown_caller_is_refused_before_its_body_is_read(client, sink):
    r = await client.post(
        "/v1/dossier-events", data=b"x" * (MAX_BODY * 4), headers={"Content-Type": "application/json"}
    )
    assert r.status == 401


async def test_a_key_cannot_publish_events_of_another_agency(client, sink):
    e = event()  # a Quảng Ninh event, sent with Thanh Hóa's key
    r = await client.post("/v1/dossier-events", json=[e], headers=TH)
    assert r.status == 403
    reply = await r.json()
    assert {x["path"] for x in reply["rejected"]} == {
        "source_system",
        "data.don_vi_tiep_nhan.ma_dinh_danh",
        "data.ma_ho_so",
    }
    assert sink.events == []


async def test_an_operator_key_cannot_publish_dossier_events(client, sink):
    r = await client.post("/v1/dossier-events", json=event(), headers=OPERATOR)
    assert r.status == 403
    assert sink.events == []


async def test_an_agency_key_cannot_send_area_alerts(client):
    r = await client.post("/v1/broadcasts", json={"title": "x"}, headers=QN)
    assert r.status == 403


async def test_a_declared_oversized_body_is_refused_with_413(client, sink):
    body = orjson.dumps([event()]) + b" " * MAX_BODY
    r = await client.post("/v1/dossier-events", data=body, headers={**QN, "Content-Type": "application/json"})
    assert r.status == 413
    assert sink.events == []


async def test_an_undeclared_chunked_oversized_body_is_refused_with_413(client, sink):
    async def chunks():
        for _ in range(10):
            yield b" " * (MAX_BODY // 4)

    r = await client.post("/v1/dossier-events", data=chunks(), headers={**QN, "Content-Type": "application/json"})
    assert r.status == 413
    assert sink.events == []


async def test_a_slow_client_is_cut_off_by_the_read_timeout(client, sink):
    body = orjson.dumps(event())
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    head = (
        "POST /v1/dossier-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: {QN['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body[:10])
    await writer.drain()
    started = time.monotonic()

    async def dribble() -> None:
        for b in body[10:]:
            await asyncio.sleep(0.2)
            writer.write(bytes([b]))
            await writer.drain()

    trickle = asyncio.create_task(dribble())
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=READ_TIMEOUT_S + 5)
    finally:
        trickle.cancel()
        writer.close()
    assert b" 408 " in status_line, status_line
    assert time.monotonic() - started < READ_TIMEOUT_S + 2
    assert sink.events == []
