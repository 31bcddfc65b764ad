"""The lifecycle rules on the pure engine: order, dedupe, throttling, collapse, quiet hours, survey, flags."""

from __future__ import annotations

from datetime import datetime, timedelta

from streams.dossier_state import overdue
from streams.engine import Engine
from streams.hold import Hold
from streams.rules import FINISHED
from tests.streams.engine_helpers import DAY, Run, engine, parsed

T0 = DAY - timedelta(days=3)  # event time: the dossier's history happened before "now" (DAY)


def test_duplicates_and_stale_events_are_dropped_counted_and_never_announced():
    run = Run(engine())
    first = parsed("RECEIVED", sequence=1, at=T0)
    run.receive(first, DAY)
    run.receive(parsed("RESULT_READY", sequence=2, at=T0 + timedelta(days=1)), DAY)
    run.receive(first, DAY)
    run.receive(parsed("PAID", sequence=2, at=T0 + timedelta(hours=2)), DAY)
    assert run.verdicts == ["applied", "applied", "duplicate", "stale"]
    assert run.statuses() == ["RECEIVED", "RESULT_READY"]


def test_an_event_after_a_gap_waits_and_is_applied_in_order_when_the_gap_fills():
    run = Run(engine())
    run.receive(parsed("RECEIVED", sequence=1, at=T0), DAY)
    run.receive(parsed("RESULT_READY", sequence=3, at=T0 + timedelta(days=2)), DAY)
    assert run.verdicts[-1] == "held" and run.statuses() == ["RECEIVED"]
    run.receive(parsed("PAYMENT_REQUESTED", sequence=2, at=T0 + timedelta(days=1)), DAY)
    assert run.statuses() == ["RECEIVED", "PAYMENT_REQUESTED", "RESULT_READY"]
    assert run.state is not None and run.state.sequence == 3


def test_a_gap_that_never_fills_is_skipped_after_the_hold_and_the_late_event_is_stale():
    run = Run(engine())
    run.receive(parsed("RECEIVED", sequence=1, at=T0), DAY)
    run.receive(parsed("RESULT_READY", sequence=3, at=T0 + timedelta(days=2)), DAY)
    run.tick(DAY + timedelta(seconds=4))
    assert run.statuses() == ["RECEIVED"], "still within the hold"
    run.tick(DAY + timedelta(seconds=6))
    assert run.statuses() == ["RECEIVED", "RESULT_READY"]
    run.receive(parsed("PAYMENT_REQUESTED", sequence=2, at=T0 + timedelta(days=1)), DAY + timedelta(seconds=7))
    assert run.verdicts[-1] == "stale" and run.statuses() == ["RECEIVED", "RESULT_READY"]


def test_low_value_transitions_are_throttled_to_one_a_day_per_dossier():
    run = Run(engine())
    run.receive(parsed("RECEIVED", sequence=1, at=T0), DAY)
    run.receive(parsed("TRANSFERRED", sequence=2, at=T0 + timedelta(hours=1)), DAY)
    run.receive(parsed("IN_PROCESS", sequence=3, at=T0 + timedelta(hours=3)), DAY)
    run.receive(parsed("TRANSFERRED", sequence=4, at=T0 + timedelta(hours=30)), DAY)
    run.drain(DAY + timedelta(minutes=1))
    assert run.statuses() == ["RECEIVED", "TRANSFERRED", "TRANSFERRED"]
    assert "throttled" in run.suppressed


def test_rapid_flips_collapse_to_the_latest_state():
    run = Run(engine())
    run.receive(parsed("RECEIVED", sequence=1, at=T0), DAY)
    run.receive(parsed("TRANSFERRED", sequence=2, at=T0 + timedelta(hours=1)), DAY)
    run.receive(parsed("IN_PROCESS", sequence=3, at=T0 + timedelta(hours=1, minutes=2)), DAY)
    run.drain(DAY + timedelta(minutes=1))
    assert run.statuses() == ["RECEIVED", "IN_PROCESS"]
    assert run.suppressed.count("collapsed") == 1


def test_a_low_value_message_is_held_until_its_collapse_window_closes_in_real_time():
    now = T0 + timedelta(hours=1)  # live: the event happens now
    run = Run(engine())
    run.receive(parsed("TRANSFERRED", sequence=1, at=now), now)
    run.tick(now + timedelta(minutes=9))
    assert run.sent == []
    run.tick(now + timedelta(minutes=10))
    assert run.statuses() == ["TRANSFERRED"]


def test_messages_created_in_quiet_hours_wait_until_seven_and_are_not_dropped():
    night = DAY.replace(hour=22)
    run = Run(engine())
    run.receive(parsed("RECEIVED", sequence=1, at=night), night)
    assert run.sent == [] and run.suppressed == ["quiet_hours_deferred"]
    run.tick(night + timedelta(hours=8, minutes=59))  # 06:59
    assert run.sent == []
    run.tick((night + timedelta(days=1)).replace(hour=7, minute=0))
    assert run.statuses() == ["RECEIVED"]
    assert run.hold.is_empty()


def test_a_survey_invitation_follows_the_returned_result_once():
    run = Run(engine())
    returned_at = T0 + timedelta(days=1)
    run.receive(parsed("RECEIVED", sequence=1, at=T0), DAY)
    run.receive(parsed("RESULT_RETURNED", sequence=2, at=returned_at), DAY)
    run.drain(DAY + timedelta(minutes=1))
    assert run.statuses() == ["RECEIVED", "RESULT_RETURNED", "SURVEY_INVITED"]
    survey = run.sent[-1]
    assert survey.kind.value == "SURVEY" and "đánh giá" in survey.text
    assert run.state is not None and run.state.survey_invited_at is not None
    invited_at = run.state.survey_invited_at
    assert DAY <= datetime.fromisoformat(invited_at) <= DAY + timedelta(minutes=1), "processing time, not the agency's"
    run.receive(parsed("SURVEY_INVITED", sequence=3, at=returned_at + timedelta(days=1)), DAY + timedelta(days=1))
    assert run.statuses()[-1] == "SURVEY_INVITED" and len(run.sent) == 3, "the agency's invitation is not a second"
    assert run.state.survey_invited_at == invited_at, "the survey's life counts from the one invitation"


def test_the_agencys_own_survey_invitation_replaces_ours():
    run = Run(engine())
    run.receive(parsed("RESULT_RETURNED", sequence=1, at=T0), DAY)
    run.receive(parsed("SURVEY_INVITED", sequence=2, at=T0 + timedelta(minutes=30)), DAY)
    run.drain(DAY + timedelta(minutes=1))
    assert run.statuses() == ["RESULT_RETURNED", "SURVEY_INVITED"]
    assert run.state is not None and run.state.survey_invited_at == DAY.isoformat()
    assert run.sent[-1].event_id != run.sent[0].event_id


def test_survey_waits_for_its_delay_in_real_time():
    run = Run(engine(survey_delay=timedelta(hours=2)))
    now = T0
    run.receive(parsed("RESULT_RETURNED", sequence=1, at=now), now)
    run.tick(now + timedelta(hours=1, minutes=59))
    assert run.statuses() == ["RESULT_RETURNED"]
    run.tick(now + timedelta(hours=2))
    assert run.statuses() == ["RESULT_RETURNED", "SURVEY_INVITED"]


def test_a_second_extension_and_a_second_supplement_request_are_flagged():
    run = Run(engine())
    run.receive(parsed("SUPPLEMENT_REQUESTED", sequence=1, at=T0), DAY)
    run.receive(parsed("SUPPLEMENT_RECEIVED", sequence=2, at=T0 + timedelta(hours=1)), DAY)
    run.receive(parsed("SUPPLEMENT_REQUESTED", sequence=3, at=T0 + timedelta(hours=2)), DAY)
    run.receive(parsed("DUE_DATE_EXTENDED", sequence=4, at=T0 + timedelta(hours=3)), DAY)
    run.receive(parsed("DUE_DATE_EXTENDED", sequence=5, at=T0 + timedelta(hours=4)), DAY)
    assert run.flags == ["SECOND_SUPPLEMENT_REQUEST", "SECOND_EXTENSION"]
    flagged = [n.flags for n in run.sent if n.flags]
    assert flagged == [["SECOND_SUPPLEMENT_REQUEST"], ["SECOND_EXTENSION"]]
    apology = run.sent[-1].template_data["noi_dung"]
    assert "05/12/2026" in apology and "12/12/2026" in apology, "the apology carries old and new dates"


def test_overdue_is_raised_once_for_an_unfinished_dossier_past_its_appointment():
    run = Run(engine())
    run.receive(parsed("RECEIVED", sequence=1, at=T0), DAY)  # appointment 2026-12-05 17:00
    assert run.state is not None
    assert overdue(run.state, DAY, FINISHED) is None
    raised = overdue(run.state, DAY + timedelta(days=5), FINISHED)
    assert raised is not None and raised.overdue_since
    assert overdue(raised, DAY + timedelta(days=6), FINISHED) is None, "raised once"
    run.receive(parsed("RESULT_READY", sequence=2, at=T0 + timedelta(days=1)), DAY)
    assert overdue(run.state, DAY + timedelta(days=5), FINISHED) is None, "finished dossiers are never late"


def test_an_empty_hold_has_nothing_due():
    assert Hold().is_empty() and Hold().next_due() is None
    assert isinstance(engine(), Engine)
