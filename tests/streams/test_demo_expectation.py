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
