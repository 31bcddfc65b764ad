"""Followers: an opt-out sticks until a new act of consent, and no reader ever sees an opted-out person."""

from __future__ import annotations

from datetime import datetime

import orjson

from schemas import decode_event
from schemas.common import VN_TZ
from schemas.subscription import Subscription, SubscriptionSource
from streams import followers as fol
from tests.factories import DOSSIER, event

KEY = "k"
PERSON = {"ho_ten_hien_thi": "Lê Thị Hoa", "phone": "0912000111"}


def agency_event(sequence: int, **consent):
    e, problems = decode_event(
        orjson.dumps(event("TRANSFERRED", sequence=sequence, recipients=[{**PERSON, **consent}]))
    )
    assert not problems
    return e


def followers_after(*events, start=None):
    current = start or {}
    for e in events:
        for change in fol.consent_changes(e, KEY, current):
            current = fol.apply(current, change)
    return current


def opt_out(current, at="2026-11-28T10:00:00+07:00"):
    sid = fol.subscriber_id(KEY, "84912000111", None)
    change = Subscription(
        ma_ho_so=DOSSIER, subscriber_id=sid, source=SubscriptionSource.CHAT, active=False, updated_at=at
    )
    return fol.apply(current, change), sid


def test_an_opt_out_survives_the_agencys_standing_consent_flag():
    subscribed = followers_after(agency_event(1, dong_y_zalo=True))
    opted_out, sid = opt_out(subscribed)
    after = followers_after(agency_event(2, dong_y_zalo=True), start=opted_out)
    assert sid not in fol.active(after)
    assert fol.decode(fol.encode(after)) == {}


def test_consent_given_after_the_opt_out_reactivates():
    opted_out, sid = opt_out(followers_after(agency_event(1, dong_y_zalo=True)))
    later = datetime(2026, 11, 29, 9, 0, tzinfo=VN_TZ).isoformat()
    after = followers_after(agency_event(2, dong_y_zalo=True, dong_y_luc=later), start=opted_out)
    assert sid in fol.active(after)


def test_consent_dated_before_the_opt_out_does_not_reactivate():
    opted_out, sid = opt_out(followers_after(agency_event(1, dong_y_zalo=True)))
    earlier = datetime(2026, 11, 27, 9, 0, tzinfo=VN_TZ).isoformat()
    after = followers_after(agency_event(2, dong_y_zalo=True, dong_y_luc=earlier), start=opted_out)
    assert sid not in fol.active(after)


def test_the_citizens_own_follow_reactivates():
    opted_out, sid = opt_out(followers_after(agency_event(1, dong_y_zalo=True)))
    follow = Subscription(
        ma_ho_so=DOSSIER,
        subscriber_id=sid,
        zalo_user_id="12345",
        source=SubscriptionSource.CHAT,
        active=True,
        updated_at="2026-11-28T11:00:00+07:00",
    )
    assert sid in fol.active(fol.apply(opted_out, follow))


def test_withdrawn_agency_consent_is_also_a_marker_not_a_recipient():
    current = followers_after(agency_event(1, dong_y_zalo=True), agency_event(2, dong_y_zalo=False))
    assert fol.active(current) == {} and len(current) == 1


def test_agency_consent_is_told_everything_and_a_chat_follow_only_public_facts_unless_proven():
    from schemas.subscription import Disclosure
    from streams.followers import disclosure

    assert disclosure({"source": "AGENCY_CONSENT"}) is Disclosure.FULL
    assert disclosure({"source": "CHAT"}) is Disclosure.PUBLIC
    assert disclosure({"source": "CHAT", "disclosure": "FULL"}) is Disclosure.FULL


def test_waiting_follows_are_bounded_per_dossier_and_lapse():
    from datetime import timedelta

    from schemas.common import now_vn
    from streams.followers import PENDING_PER_DOSSIER, add_pending, live_pending

    now, ttl = now_vn(), timedelta(days=14)
    pending: dict = {}
    for i in range(PENDING_PER_DOSSIER):
        added = add_pending(pending, f"z:{i:03d}", zalo_user_id=str(i), oa_id="oa", now=now, ttl=ttl)
        assert added is not None
        pending = added
    assert add_pending(pending, "z:new", zalo_user_id="new", oa_id="oa", now=now, ttl=ttl) is None
    assert add_pending(pending, "z:000", zalo_user_id="0", oa_id="oa", now=now, ttl=ttl) is not None  # renewal
    later = now + ttl + timedelta(seconds=1)
    assert live_pending(pending, later) == {}
    assert add_pending(pending, "z:new", zalo_user_id="new", oa_id="oa", now=later, ttl=ttl) is not None
