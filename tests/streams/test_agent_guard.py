"""Every agent handles its records one at a time behind a guard: a record that cannot be handled goes to the
invalid topic with its reason, and the agent keeps going (before: the exception ended the agent, the worker
exited, re-read the same record after its restart and crash-looped)."""

from __future__ import annotations

from datetime import timedelta

import orjson

from streams.agents.timers import tick_record
from tests.factories import DOSSIER, event
from tests.streams.engine_helpers import DAY
from tests.streams.test_agents import put, streams  # noqa: F401 - the fixture


async def test_a_tick_whose_release_raises_is_parked_and_the_next_tick_still_releases(streams):  # noqa: F811
    app, producer = streams
    async with app.agents["join_dossier_events"].test_context() as ctx:
        await put(ctx, event("TRANSFERRED", sequence=1))
    async with app.agents["apply_lifecycle_ticks"].test_context() as ticks:
        # A time without a zone: comparing it with the hold's due times raises inside release().
        await ticks.put(key=DOSSIER.encode(), value=orjson.dumps({"kind": "release", "at": "2026-12-01T10:00:00"}))
        await ticks.put(key=DOSSIER.encode(), value=b"\x00 not a tick")
        await ticks.put(key=DOSSIER.encode(), value=tick_record("release", DAY + timedelta(minutes=1)))
    parked = [orjson.loads(v) for _, v in producer.on(app.topics.dossier_events_invalid.name)]
    assert [p["problems"][0]["message"].split(":")[0] for p in parked] == [
        "internal error while processing",
        "not a tick",
    ]
    assert parked[0]["source"]["topic"] == app.topics.lifecycle_ticks.name
    statuses = [orjson.loads(v)["trang_thai"] for _, v in producer.on(app.topics.notifications.name)]
    assert statuses == ["TRANSFERRED"]


async def test_a_bad_subscription_change_is_parked_with_its_reason(streams):  # noqa: F811
    app, producer = streams
    async with app.agents["apply_subscription_changes"].test_context() as ctx:
        await ctx.put(key=DOSSIER.encode(), value=b'{"ma_ho_so": 12}')
    parked = [orjson.loads(v) for _, v in producer.on(app.topics.dossier_events_invalid.name)]
    assert len(parked) == 1 and parked[0]["problems"]
