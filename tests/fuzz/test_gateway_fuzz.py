"""Fuzzing the ingest gateway over HTTP, in process (Kafka replaced by an in-memory sink).

Generated batches mix valid events with items damaged in every way the Kafka-door fuzzer knows, plus items of
another agency. Each bad item must be rejected with its index and a reason, each valid one accepted and
published, in order; bodies that are not JSON, not UTF-8 or too large are refused as a whole with an HTTP
error and a reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.gateway.app import create_app
from producers.gateway.auth import DEMO_KEYS_FILE, KeyRing
from producers.gateway.routes import Context, Limits
from tests.fuzz.records import (
    extra_field,
    invalid_utf8,
    malformed_json,
    missing_field,
    null_field,
    random_bytes,
    unknown_schema_version,
    unknown_status,
    valid_events,
    wrong_type,
)

QN = {"Authorization": "Bearer hoso-demo-quangninh"}
MAX_BODY = 200_000
MAX_BATCH = 20


class MemorySink:
    """What would have been published."""

    def __init__(self) -> None:
        self.events: list = []

    async def publish(self, events) -> None:
        self.events.extend(events)

    def close(self) -> None:
        pass


class Gateway:
    """A gateway app on a private event loop, driven synchronously from hypothesis examples."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.sink = MemorySink()
        app = create_app(Context(KeyRing.from_file(DEMO_KEYS_FILE), self.sink, None, Limits(MAX_BODY, MAX_BATCH, 2.0)))
        self.client = TestClient(TestServer(app), loop=self.loop)
        self.loop.run_until_complete(self.client.start_server())

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
        async def go() -> tuple[int, dict]:
            r = await self.client.post(
                "/v1/dossier-events", data=body, headers={"Content-Type": "application/json", **QN, **(headers or {})}
            )
            return r.status, await r.json()

        return self.loop.run_until_complete(go())

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.close()


def _foreign(e: dict) -> dict:
    e["source_system"] = "000.00.12.H56"
    e["data"]["don_vi_tiep_nhan"]["ma_dinh_danh"] = "000.00.12.H56"
    return e


ITEM_DAMAGE = [wrong_type(), missing_field(), null_field(), extra_field(), unknown_status(), unknown_schema_version()]


@st.composite
def items(draw: st.DrawFn) -> tuple[str, object]:
    """("valid", event), ("forbidden", event of another agency) or (kind, damaged event as JSON)."""
    choice = draw(st.integers(0, 9))
    if choice < 4:
        return "valid", draw(valid_events())
    if choice == 4:
        return "forbidden", _foreign(draw(valid_events()))
    damaged = draw(st.sampled_from(ITEM_DAMAGE))
    record = draw(damaged)
    return record.kind, orjson.loads(record.value)


def test_every_bad_item_is_rejected_with_a_reason_and_every_valid_one_published_in_order(gateway, fuzz_budget):
    requests = max(50, fuzz_budget.bad // 20)
    seen = {"requests": 0, "items": 0}

    @settings(max_examples=requests, deadline=None, derandomize=True, database=None)
    @given(st.lists(items(), min_size=1, max_size=MAX_BATCH))
    def check(batch: list[tuple[str, object]]) -> None:
        seen["requests"] += 1
        seen["items"] += len(batch)
        before = len(gateway.sink.events)
        status, reply = gateway.post(orjson.dumps([item for _, item in batch]))
        valid = [i for i, (kind, _) in enumerate(batch) if kind == "valid"]
        bad = [i for i, (kind, _) in enumerate(batch) if kind != "valid"]
        assert status == (
            200 if not bad else 207 if valid else 403 if all(batch[i][0] == "forbidden" for i in bad) else 422
        )
        assert reply["accepted"] == len(valid)
        rejected = {r["index"] for r in reply["rejected"]}
        assert rejected == set(bad), f"rejected {sorted(rejected)}, bad {bad}: {reply['rejected'][:3]}"
        assert all(r["reason"].strip() for r in reply["rejected"])
        published = [str(e.event_id) for e in gateway.sink.events[before:]]
        assert published == [batch[i][1]["event_id"] for i in valid]  # type: ignore[index]

    started = time.perf_counter()
    check()
    print(f"\ngateway fuzz: {seen['requests']} requests, {seen['items']} items in {time.perf_counter() - started:.1f}s")
    assert seen["requests"] >= requests


def test_bodies_that_are_not_json_or_not_utf8_are_refused_whole_with_a_reason(gateway, fuzz_budget):
    before = len(gateway.sink.events)

    @settings(max_examples=max(50, fuzz_budget.bad // 25), deadline=None, derandomize=True, database=None)
    @given(st.one_of(malformed_json(), invalid_utf8(), random_bytes()))
    def check(record) -> None:
        status, reply = gateway.post(record.value or b"")
        if status in (200, 207):  # random bytes can be valid JSON that is an object or array: judged per item
            raise AssertionError(f"accepted {record.value!r}: {reply}")
        assert status in (400, 403, 413, 422)
        assert reply.get("reason") or reply.get("rejected"), reply

    check()
    assert len(gateway.sink.events) == before


@pytest.mark.parametrize("size", [MAX_BODY + 1, 3 * MAX_BODY])
def test_a_body_over_the_limit_is_refused_with_413_and_nothing_published(gateway, size):
    before = len(gateway.sink.events)
    body = orjson.dumps([{"pad": "x" * size}])
    status, reply = gateway.post(body)
    assert status == 413 and "limit" in reply["reason"]
    assert len(gateway.sink.events) == before


def test_more_items_than_the_batch_limit_are_refused_whole(gateway):
    status, reply = gateway.post(orjson.dumps([{"x": i} for i in range(MAX_BATCH + 1)]))
    assert status == 413 and str(MAX_BATCH) in reply["reason"]
