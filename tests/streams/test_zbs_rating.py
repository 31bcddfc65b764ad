"""A rating given through the ZBS survey template: matched to its invitation, mapped to the national scale."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import pytest

from producers.webhook.events import build_event
from schemas.codec import dumps
from schemas.common import VN_TZ
from schemas.notification import Addressee, Kind, Notification, Priority, SendChannel
from schemas.rating import RatingChannel, RatingInvite, RatingLevel
from streams.ratings import invite_for, invite_lapsed, invite_record, level_from_stars, zbs_rating

K, H, R = RatingLevel.KHONG_HAI_LONG, RatingLevel.HAI_LONG, RatingLevel.RAT_HAI_LONG
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=VN_TZ)
CODE = "000.00.49.H22-261101-0007"
TRACKING = "5f0c3b6f1d2e4a8b9c0d1e2f3a4b5c6d"


def survey(channel: SendChannel = SendChannel.ZBS_PHONE, kind: Kind = Kind.SURVEY) -> Notification:
    zbs = channel is SendChannel.ZBS_PHONE
    return Notification(
        tracking_id=TRACKING,
        kind=kind,
        priority=Priority.SURVEY,
        created_at=NOW,
        occurred_at=NOW,
        oa_id="4321",
        channel=channel,
        to=Addressee(subscriber_id="p:abc123", phone="84912345678" if zbs else None, zalo_user_id=None if zbs else "9"),
        template_id="hoso-survey-invited" if zbs else None,
        text="Mời Ông/Bà đánh giá",
        ma_ho_so=CODE,
    )


def invite() -> bytes:
    made = invite_for(survey(), "000.00.49.H22", NOW)
    assert made is not None
    return invite_record(made)[1]


def callback(message: dict, *, raw: bytes | None = None, received_at: datetime = NOW) -> tuple:
    payload = {
        "sender": {"id": "4321"},
        "recipient": {"id": "84912345678"},
        "event_name": "user_feedback",
        "message": message,
        "app_id": "777",
        "timestamp": "1763605800000",
    }
    body = raw or orjson.dumps(payload)
    return build_event(orjson.loads(body), body, zns=True, variant="app_id", received_at=received_at), body


def test_only_a_survey_sent_as_a_zbs_template_leaves_an_invitation_keyed_by_its_tracking_id():
    made = invite_for(survey(), "000.00.49.H22", NOW)
    assert made is not None
    key, value = invite_record(made)
    assert key == TRACKING.encode()
    assert RatingInvite.model_validate_json(value) == made
    assert (made.ma_ho_so, made.subscriber_id, made.agency, made.oa_id) == (CODE, "p:abc123", "000.00.49.H22", "4321")
    assert invite_for(survey(SendChannel.OA_TEXT), "000.00.49.H22", NOW) is None  # answered in chat instead
    assert invite_for(survey(kind=Kind.DOSSIER_UPDATE), "000.00.49.H22", NOW) is None
    assert invite_for(survey(), "unknown", NOW) is None


@pytest.mark.parametrize(("stars", "level"), [(1, K), (2, K), (3, H), (4, H), (5, R)])
def test_five_stars_fold_onto_the_three_national_levels(stars, level):
    assert level_from_stars(stars) is level


def test_a_rating_callback_becomes_the_citizens_rating_of_the_invited_dossier():
    event, _ = callback(
        {
            "msg_id": "a1b2c3",
            "tracking_id": TRACKING,
            "rate": 5,
            "note": "Cán bộ nhiệt tình",
            "feedbacks": ["Đúng hẹn", " ", 7],
            "submit_time": "1763605790000",
        }
    )

    result = zbs_rating(event, invite())

    assert result.outcome == "rated" and result.problem is None
    rating = result.rating
    assert rating is not None
    assert (rating.ma_ho_so, rating.subscriber_id, rating.agency, rating.oa_id) == (
        CODE,
        "p:abc123",
        "000.00.49.H22",
        "4321",
    )
    assert rating.muc_do is R and rating.channel is RatingChannel.ZBS_RATING
    assert rating.noi_dung == "Cán bộ nhiệt tình; Đúng hẹn"
    assert rating.rated_at == datetime.fromtimestamp(1763605790, VN_TZ)
    assert rating.key == f"{CODE}|p:abc123"


@pytest.mark.parametrize(("rate", "level"), [("4", H), (" 2 ", K), (3.0, H), (1, K)])
def test_stars_sent_as_strings_or_floats_are_read(rate, level):
    event, _ = callback({"msg_id": "a1", "tracking_id": TRACKING, "rate": rate})
    result = zbs_rating(event, invite())
    assert result.rating is not None and result.rating.muc_do is level
    assert result.rating.noi_dung is None and result.rating.rated_at == NOW  # no submit_time: when it arrived


@pytest.mark.parametrize("rate", [0, 6, -1, "", "năm", None, True, 4.5, [5]])
def test_stars_outside_one_to_five_are_refused_with_the_reason(rate):
    event, _ = callback({"msg_id": "a1", "tracking_id": TRACKING, "rate": rate})
    result = zbs_rating(event, invite())
    assert result.outcome == "invalid" and result.rating is None
    assert result.problem is not None and result.problem.path == "message.rate"


def test_a_callback_that_names_no_invitation_is_unmatched_never_guessed():
    event, _ = callback({"msg_id": "a1", "tracking_id": TRACKING, "rate": 5})
    result = zbs_rating(event, None)
    assert result.outcome == "unmatched" and result.rating is None
    assert result.problem is not None and "no survey invitation" in result.problem.message

    no_tracking, _ = callback({"msg_id": "a1", "tracking_id": "", "rate": 5})
    result = zbs_rating(no_tracking, invite())
    assert result.outcome == "unmatched" and result.problem is not None


def test_zalo_retrying_one_rating_is_one_answer_but_rating_again_is_a_new_one():
    message = {"msg_id": "a1", "tracking_id": TRACKING, "rate": 2, "submit_time": "1763605790000"}
    first, body = callback(message)
    retried, _ = callback(message, raw=body)
    again, _ = callback({**message, "rate": 5, "submit_time": "1763605999000"})

    assert first.event_id == retried.event_id != again.event_id
    assert first.tracking_id == TRACKING and first.oa_id == "4321"
    r1, r2, r3 = (zbs_rating(e, invite()).rating for e in (first, retried, again))
    assert r1 is not None and r2 is not None and r3 is not None
    assert r1.sync_id == r2.sync_id != r3.sync_id
    assert r1.key == r3.key  # the later rating replaces the earlier one on the compacted topic


def test_a_damaged_invitation_is_reported_not_raised():
    event, _ = callback({"msg_id": "a1", "tracking_id": TRACKING, "rate": 5})
    result = zbs_rating(event, b"{not json")
    assert result.outcome == "invalid" and result.problem is not None


def test_an_oa_id_only_at_the_top_level_is_still_the_oa():
    body = orjson.dumps(
        {"oa_id": "4321", "event_name": "user_feedback", "message": {"tracking_id": TRACKING}, "timestamp": "1"}
    )
    event = build_event(orjson.loads(body), body, zns=True, variant="app_id", received_at=NOW)
    assert event.oa_id == "4321"
    assert dumps(event)


def test_a_rating_after_the_invitations_life_is_refused_not_recorded_and_not_parked():
    """Zalo sent it correctly; the survey is over. A reply cannot go back: the OA writes to a phone only with an
    approved template, and the callback names no Zalo user to answer in chat."""
    message = {"msg_id": "a1", "tracking_id": TRACKING, "rate": 5, "note": "tot"}
    in_time, _ = callback(message, received_at=NOW + timedelta(days=29, hours=23))
    assert zbs_rating(in_time, invite(), ttl=timedelta(days=30)).outcome == "rated"
    late, _ = callback(message, received_at=NOW + timedelta(days=30))
    refused = zbs_rating(late, invite(), ttl=timedelta(days=30))
    assert (refused.outcome, refused.rating, refused.problem) == ("expired", None, None)
    short, _ = callback(message, received_at=NOW + timedelta(days=2))
    assert zbs_rating(short, invite(), ttl=timedelta(days=1)).outcome == "expired", "the life is a setting"
    assert zbs_rating(short, invite()).outcome == "rated", "30 days unless configured"


def test_an_invitation_is_purged_once_its_life_is_over_and_a_damaged_one_at_once():
    ttl = timedelta(days=30)
    assert not invite_lapsed(invite(), NOW + timedelta(days=29), ttl)
    assert invite_lapsed(invite(), NOW + timedelta(days=30), ttl)
    assert invite_lapsed(b"{not json", NOW, ttl) and invite_lapsed(b"{}", NOW, ttl)
    assert not invite_lapsed(None, NOW, ttl) and not invite_lapsed(b"", NOW, ttl)
