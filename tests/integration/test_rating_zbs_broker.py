"""A citizen rates the ZBS survey template in Zalo, end to end on the real broker.

Dossier events → Faust worker (a process) → the survey invitation as a ZBS template → dispatcher → Zalo
simulator → the simulated citizen gives stars (``POST /_sim/rate``) → the simulator's signed ``user_feedback``
callback → webhook receiver → ``zalo-events.v1`` → worker, matched through the tracking id the dispatcher
sent → one rating on ``ratings.v1`` → rating sync → the agency's endpoint, and the satisfaction counter moves.
A second rating replaces the first; Zalo retrying a callback changes nothing; a callback for a message that
was no survey is parked, not guessed at.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import orjson
import pytest

from consumers.ratings.sync import RatingSync
from hoso import metrics
from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from tests.factories import DOSSIER, event
from tests.integration.agency_system import endpoints
from tests.integration.dispatching import run_until
from tests.integration.test_citizen_chat_broker import PHONE_RECIPIENT, read
from tests.integration.workers import start_worker, wait_for
from tests.integration.zalo_stack import ZBS, zalo_stack

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

AGENCY = "000.00.49.H22"


def latest_ratings(settings) -> dict[str, dict]:
    """The live rating per key, as compaction will leave it."""
    out: dict[str, dict] = {}
    for r in read(settings, "ratings"):
        out[r.key.decode()] = orjson.loads(r.value)
    return out


async def test_a_citizen_rating_the_zbs_survey_template_reaches_the_ratings_topic_and_the_agency(
    settings,
    agency,
    tmp_path: Path,
):
    create_topics(kafka_python(settings), settings.topics)
    before = {level: metrics.RATINGS.labels(AGENCY, level)._value.get() for level in ("hai_long", "rat_hai_long")}
    async with zalo_stack(
        settings,
        quiet_hours="",
        survey_delay_s=0.0,  # the invitation right after the result (once settled)
        settle_s=0.5,
        ratings_sync_group=f"{settings.topic_prefix}-ratings",
    ) as stack:
        settings, sim = stack.settings, stack.sim
        worker = start_worker(settings, tmp_path / "worker.log")
        try:
            stack.publisher.publish(event("RECEIVED", sequence=1, recipients=PHONE_RECIPIENT))
            stack.publisher.publish(event("RESULT_RETURNED", sequence=2, recipients=PHONE_RECIPIENT))

            def zbs(template_id: str) -> list:
                return [m for m in sim.state.messages if m.endpoint == ZBS and m.template_id == template_id]

            await wait_for(  # the worker needs a while to join the group
                lambda: bool(zbs("hoso-survey-invited")),
                120,
                lambda: f"no survey invitation; Zalo got {[(m.endpoint, m.template_id) for m in sim.state.messages]}",
                worker,
            )
            [invitation] = zbs("hoso-survey-invited")
            [received] = zbs("hoso-received")
            assert invitation.recipient == "84912345678"

            async with httpx.AsyncClient(timeout=30) as http:

                async def rate(message: str, stars: int, **extra: object) -> dict:
                    answer = await http.post(f"{sim.url}/_sim/rate", json={"message": message, "rate": stars, **extra})
                    assert answer.status_code == 200, answer.text
                    return answer.json()

                first = await rate(invitation.tracking_id, 4, feedbacks=["Cán bộ nhiệt tình"])
                assert first["webhook_status"] == 200
                await wait_for(lambda: bool(latest_ratings(settings)), 60, "no rating on the topic", worker, every=0.5)
                [(key, rating)] = latest_ratings(settings).items()
                assert (rating["ma_ho_so"], rating["muc_do"], rating["noi_dung"], rating["agency"]) == (
                    DOSSIER,
                    2,
                    "Cán bộ nhiệt tình",
                    AGENCY,
                )
                assert rating["channel"] == "ZBS_RATING" and key == f"{DOSSIER}|{rating['subscriber_id']}"

                # Zalo retries the same callback: nothing new. The citizen rates again: it replaces the first.
                poster, oa = sim.simulator.receipts, sim.simulator.tokens.oas["hoso-demo-oa"].config
                assert poster is not None
                resent = orjson.dumps(first["event"])
                assert await poster.post_event(oa, resent, first["event"]["timestamp"]) == 200
                await asyncio.sleep(1)
                assert (await rate(invitation.tracking_id, 5, note="Rất nhanh"))["webhook_status"] == 200
                # A rating of a message that was no survey invitation has nothing to attach to.
                assert (await rate(received.tracking_id, 1))["webhook_status"] == 200
                async with asyncio.timeout(60):
                    while latest_ratings(settings)[key]["muc_do"] != 3:
                        await asyncio.sleep(0.5)
                await asyncio.sleep(2)
        finally:
            worker.stop()

    records = [orjson.loads(r.value) for r in read(settings, "ratings")]
    assert [(r["muc_do"], r["noi_dung"]) for r in records] == [(2, "Cán bộ nhiệt tình"), (3, "Rất nhanh")]
    parked = [orjson.loads(r.value) for r in read(settings, "dossier_events_invalid")]
    assert any("no survey invitation" in str(p) for p in parked), parked

    sync = RatingSync(settings, endpoints=endpoints(agency.url), backoff_s=(0.05,))
    await run_until(sync, lambda: sync.handled >= len(records))
    assert [(r["MaHoSo"], r["DanhGia"], r["NoiDungDanhGia"]) for r in agency.received] == [
        (DOSSIER, 2, "Cán bộ nhiệt tình"),
        (DOSSIER, 3, "Rất nhanh"),
    ]
    assert metrics.RATINGS.labels(AGENCY, "hai_long")._value.get() == before["hai_long"] + 1
    assert metrics.RATINGS.labels(AGENCY, "rat_hai_long")._value.get() == before["rat_hai_long"] + 1
