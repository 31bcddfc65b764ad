"""The demo's independent replay of the rules agrees with the engine on synthetic traffic, so its
reconciliation stays exact (a disagreement means one of the two is wrong)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import orjson
import pytest

from hoso.settings import Settings
from hosoctl.reconcile import expected_notifications
from hosoctl.synthetic import GeneratorOptions, events
from schemas import decode_event
from streams import template_catalogue as catalogue
from streams.engine import Engine
from streams.notify import NOTIFY
from streams.rules import Rules
from tests.factories import event
from tests.streams.engine_helpers import DAY, Run


@pytest.mark.parametrize("days_back", [75, 21])  # all in the past / lifecycles running past "now"
def test_demo_expectation_equals_what_the_engine_sends(days_back):
    settings = Settings.from_env({})
    traffic = events(GeneratorOptions(dossiers=150, seed=5, start=DAY - timedelta(days=days_back), no_phone_ratio=0.0))
    expected = expected_notifications(traffic, settings.pseudonym_key, settings=settings, now=DAY)
    engine = Engine(Rules.from_settings(settings), catalogue.load(None, NOTIFY))
    by_dossier = defaultdict(list)
    for e in traffic:
        by_dossier[e["data"]["ma_ho_so"]].append(e)
    sent = set()
    for dossier_events in by_dossier.values():
        run = Run(engine)
        for e in dossier_events:
            parsed, problems = decode_event(orjson.dumps(e))
            assert parsed is not None, problems
            run.receive(parsed, DAY)
        run.tick(DAY + timedelta(seconds=10))
        sent |= {n.tracking_id for n in run.sent}
    assert sent == expected.tracking_ids | expected.permanent
    assert len(sent) > 150


def test_an_agency_invitation_arriving_after_the_settle_wait_may_be_replaced_by_ours_and_either_counts():
    """Replayed events are past every due time, so the worker holds our survey invitation only
    ``HOSO_SETTLE_S`` of wall-clock time after RESULT_RETURNED. An agency invitation that occurred earlier but
    arrives after that wait finds ours sent and is suppressed: the citizen still gets exactly one, and the
    reconciliation must count it, while a dossier that got neither is still short of one."""
    settings = Settings.from_env({})
    traffic = [event("RECEIVED", sequence=1), event("RESULT_RETURNED", sequence=2), event("SURVEY_INVITED", sequence=3)]
    expected = expected_notifications(traffic, settings.pseudonym_key, settings=settings, now=DAY)
    engine = Engine(Rules.from_settings(settings), catalogue.load(None, NOTIFY))

    def deliveries(agency_invitation_late: bool) -> dict[str, int]:
        run = Run(engine)
        for e in traffic:
            parsed, problems = decode_event(orjson.dumps(e))
            assert parsed is not None, problems
            now = DAY
            if agency_invitation_late and e["event_type"] == "SURVEY_INVITED":
                now = DAY + timedelta(minutes=1)
                run.tick(now)  # the settle wait ended first: our invitation goes
            run.receive(parsed, now)
        run.tick(DAY + timedelta(minutes=2))
        return {n.tracking_id: 1 for n in run.sent}

    on_time, late = deliveries(False), deliveries(True)
    assert on_time.keys() != late.keys(), "the engine's choice depends on when the agency's event arrives"
    assert expected.met(on_time) == expected.tracking_ids
    assert expected.met(late) == expected.tracking_ids
    assert not late.keys() - expected.allowed()
    surveys = set(expected.stand_ins) | set(expected.stand_ins.values())
    neither = {t: 1 for t in on_time.keys() | late.keys() if t not in surveys}
    assert expected.met(neither) == expected.tracking_ids - set(expected.stand_ins)
    assert expected.stand_ins
