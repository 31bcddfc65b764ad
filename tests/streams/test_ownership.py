"""Trust boundaries in the engine: a dossier belongs to the agency of its first accepted event, and a sequence
that leaps far ahead is parked for review instead of silencing every later real event."""

from __future__ import annotations

from datetime import timedelta

from streams.engine import FOREIGN, REVIEW
from tests.streams.engine_helpers import DAY, Run, engine, parsed

T0 = DAY - timedelta(days=3)
THANH_HOA = "000.00.12.H56"


def foreign(status: str, *, sequence: int, **kw):
    e = parsed(status, sequence=sequence, at=T0 + timedelta(hours=sequence), **kw)
    return e.model_copy(update={"source_system": THANH_HOA})


def test_an_event_from_another_agency_changes_nothing_about_the_dossier():
    run = Run(engine())
    run.receive(parsed("RECEIVED", sequence=1, at=T0), DAY)
    state, followers, sent = run.state, dict(run.followers), len(run.sent)
    withdrawn = [{"ho_ten_hien_thi": "Kẻ giả mạo", "phone": "0912345678", "dong_y_zalo": False}]
    for e in (
        foreign("RESULT_READY", sequence=2),
        foreign("STOPPED", sequence=2, recipients=withdrawn),  # consent withdrawn by a stranger
        foreign(
            "RECEIVED",
            sequence=3,
            recipients=[{"ho_ten_hien_thi": "Người lạ", "phone": "0987000111", "dong_y_zalo": True}],
        ),
    ):
        out = run.receive(e, DAY)
        assert out.verdict == FOREIGN and not out.state_changed and not out.followers_changed
    assert run.state == state and run.followers == followers and len(run.sent) == sent
    run.receive(parsed("RESULT_READY", sequence=2, at=T0 + timedelta(days=1)), DAY)
    assert run.verdicts[-1] == "applied" and run.statuses()[-1] == "RESULT_READY"


def test_the_owner_is_bound_even_while_the_first_event_waits_in_the_reorder_hold():
    run = Run(engine())
    run.receive(parsed("PAID", sequence=2, at=T0), DAY)  # seq 1 not seen yet: held
    assert run.verdicts == ["held"]
    assert run.receive(foreign("RECEIVED", sequence=1), DAY).verdict == FOREIGN


def test_a_huge_sequence_is_held_for_review_and_later_real_events_still_apply():
    run = Run(engine(max_sequence_jump=1000))
    run.receive(parsed("RECEIVED", sequence=1, at=T0), DAY)
    out = run.receive(parsed("RESULT_READY", sequence=2**63 - 1, at=T0 + timedelta(hours=1)), DAY)
    assert out.verdict == REVIEW and not out.state_changed and out.notifications == []
    assert run.state is not None and run.state.sequence == 1
    run.receive(parsed("SUPPLEMENT_REQUESTED", sequence=2, at=T0 + timedelta(hours=2)), DAY)
    assert run.verdicts[-1] == "applied" and run.statuses()[-1] == "SUPPLEMENT_REQUESTED"
    assert run.receive(parsed("IN_PROCESS", sequence=1002, at=T0 + timedelta(hours=3)), DAY).verdict == "held"


def test_a_first_event_with_a_huge_sequence_is_held_for_review_too():
    run = Run(engine(max_sequence_jump=1000))
    assert run.receive(parsed("RECEIVED", sequence=2**63 - 1, at=T0), DAY).verdict == REVIEW
    assert run.state is None and run.hold.is_empty()


def test_clock_derived_sequences_are_not_leaps():
    """The national adapter's sequence is epoch ms x 100 + status code; minutes apart means millions apart."""
    run = Run(engine(max_sequence_jump=1000, reorder_hold=timedelta(0)))
    received = 1_764_300_000_000 * 100 + 2
    run.receive(parsed("RECEIVED", sequence=received, at=T0), DAY)
    run.receive(parsed("RESULT_READY", sequence=received + 3 * 86_400_000 * 100 + 7, at=T0 + timedelta(days=3)), DAY)
    assert run.verdicts == ["applied", "applied"]
    assert run.receive(parsed("PAID", sequence=2**63 - 1, at=T0 + timedelta(days=4)), DAY).verdict == REVIEW
