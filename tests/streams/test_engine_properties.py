"""Property: any permutation and duplication of one dossier's events yields the same final state and the same
set of citizen messages.

Precisely: take the events of one dossier (distinct ``event_id``, ``sequence`` 1..n, any statuses, any gaps in
event time, consent given and withdrawn along the way). Deliver them once each in sequence order (the
reference), or in any order with any event repeated up to three times (the shuffle), every arrival within the
reorder hold of the first; then let time pass until nothing is held. Both runs end with the same
``DossierState`` and emit the same *set* of messages, where a message is compared by everything the
citizen and Zalo see (tracking id, recipient, channel, template and parameters, text, status, flags) and not
by ``created_at`` (the time it was rendered). "The same set" is taken *after* the rules: throttled
and collapsed low-value messages are absent from both, because those rules are decided in event time
(``occurred_at``), which arrival order cannot change. Each message also appears exactly once in each run.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.dossier_state import DossierState
from tests.streams.engine_helpers import DAY, Run, content, engine, parsed

STATUSES = [
    "RECEIVED",
    "TRANSFERRED",
    "IN_PROCESS",
    "SUPPLEMENT_REQUESTED",
    "SUPPLEMENT_RECEIVED",
    "PAYMENT_REQUESTED",
    "PAID",
    "DUE_DATE_EXTENDED",
    "RESULT_READY",
    "RESULT_RETURNED",
    "SURVEY_INVITED",
]
LAN = {"ho_ten_hien_thi": "Nguyễn Thị Lan", "phone": "0912345678", "dong_y_zalo": True}
MINH = {"ho_ten_hien_thi": "Trần Văn Minh", "phone": "0987654321", "dong_y_zalo": True}
RECIPIENTS = [[LAN], [LAN, MINH], [{**MINH, "dong_y_zalo": False}], []]
GAPS = [timedelta(minutes=2), timedelta(minutes=9), timedelta(minutes=30), timedelta(hours=5), timedelta(days=1)]


@st.composite
def histories(draw: st.DrawFn) -> list:
    n = draw(st.integers(min_value=1, max_value=8))
    at = DAY - timedelta(days=10)
    events = []
    for seq in range(1, n + 1):
        at += draw(st.sampled_from(GAPS))
        status = draw(st.sampled_from(STATUSES))
        recipients = draw(st.sampled_from(RECIPIENTS))
        events.append(parsed(status, sequence=seq, at=at, recipients=recipients))
    return events


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list, list]:
    events = draw(histories())
    copies = [e for e in events for _ in range(draw(st.integers(min_value=1, max_value=3)))]
    return events, draw(st.permutations(copies))


def play(arrivals: list) -> Run:
    run = Run(engine())
    for i, e in enumerate(arrivals):
        run.receive(e, DAY + timedelta(milliseconds=100 * i))  # all within the 5 s reorder hold
    run.drain(DAY + timedelta(minutes=1))
    return run


def same_facts(state: DossierState | None) -> DossierState | None:
    """The state without ``survey_invited_at``: when the worker sent the invitation depends on when the events
    arrived (processing time, on purpose: the survey's life must not start at an agency's back-dated time);
    that one was sent, and once, is what must not depend on their order."""
    if state is None:
        return None
    assert (state.survey_invited_at is not None) == state.survey_invited
    return replace(state, survey_invited_at=None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
def test_any_permutation_and_duplication_yields_the_same_state_and_messages(case: tuple[list, list]) -> None:
    events, arrivals = case
    reference, shuffled = play(events), play(arrivals)
    assert same_facts(shuffled.state) == same_facts(reference.state)
    ref_msgs = [content(n) for n in reference.sent]
    got_msgs = [content(n) for n in shuffled.sent]
    assert set(got_msgs) == set(ref_msgs)
    assert len(got_msgs) == len(set(got_msgs)) and len(ref_msgs) == len(set(ref_msgs)), "nobody is told twice"
    assert shuffled.hold.is_empty() and reference.hold.is_empty()
