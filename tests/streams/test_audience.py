"""Who an area broadcast reaches in the OA audience, and how policy news is paced for one citizen."""

from __future__ import annotations

from datetime import timedelta

from hoso.quiet_hours import QuietHours
from schemas.broadcast import Broadcast
from streams import audience as aud
from streams.areas import built_in
from tests.streams.engine_helpers import DAY

AREAS = built_in()
QN_OA, NATIONAL_OA = "oa-quang-ninh", "oa-chung"
SERVED = {QN_OA: ("22",)}


def bc(code: str, kind: str = "EMERGENCY", bid: str = "bc-1") -> Broadcast:
    return Broadcast.model_validate(
        {
            "broadcast_id": bid,
            "area_level": "PROVINCE" if len(code) == 2 else "COMMUNE",
            "area_code": code,
            "text": "Thông báo",
            "issued_by": "UBND",
            "issued_at": DAY.isoformat(),
            "priority": kind,
        }
    )


def reaches(entry: dict, code: str) -> bool:
    return aud.reaches(entry, bc(code), province_of=AREAS.province_of, oa_provinces=lambda oa: SERVED.get(oa, ()))


def follower(oa: str = QN_OA) -> dict:
    return aud.followed(None, user="u1", oa=oa, now=DAY)


def test_an_oa_follower_who_never_said_where_is_placed_in_the_oas_provinces_and_by_province_only() -> None:
    assert reaches(follower(), "22")
    assert not reaches(follower(), "01")
    assert not reaches(follower(), "06658"), "a commune's alert does not go to a whole province's followers"
    assert reaches(follower(NATIONAL_OA), "01"), "an OA serving no listed province stands for every province"


def test_chosen_areas_replace_the_oas_provinces() -> None:
    bai_chay = aud.with_areas(follower(), [AREAS.by_code["06658"]], user="u1", oa=QN_OA, now=DAY)
    assert reaches(bai_chay, "06658") and reaches(bai_chay, "22")
    assert not reaches(bai_chay, "06652"), "another commune of the province"
    whole = aud.with_areas(None, [AREAS.by_code["22"]], user="u1", oa=QN_OA, now=DAY)
    assert reaches(whole, "06652") and reaches(whole, "22") and not reaches(whole, "15859")


def test_stopping_area_news_keeps_the_oa_follow_and_a_row_with_nothing_left_goes() -> None:
    both = aud.with_areas(follower(), [AREAS.by_code["06658"]], user="u1", oa=QN_OA, now=DAY)
    kept = aud.without_areas(both, None, now=DAY)
    assert kept is not None and kept["areas"] == {} and kept["follows_oa"]
    only_area = aud.with_areas(None, [AREAS.by_code["06658"]], user="u1", oa=QN_OA, now=DAY)
    assert aud.without_areas(only_area, [AREAS.by_code["06658"]], now=DAY) is None


QUIET = QuietHours.parse("21:00-07:00")


def news(bid: str) -> dict:
    return {"broadcast_id": bid, "kind": "POLICY", "to": {"subscriber_id": "z:1"}}


def test_the_daily_cap_counts_per_vietnam_day_and_resets_the_next_day() -> None:
    row = None
    sent = []
    for n, when in enumerate([DAY, DAY + timedelta(hours=1), DAY + timedelta(hours=2), DAY + timedelta(days=1)]):
        paced = aud.on_news(row, news(f"b{n}"), now=when, quiet=QUIET, per_day=2)
        row = paced.pacing or row
        sent += [m["broadcast_id"] for m in paced.send]
    assert sent == ["b0", "b1", "b3"]


def test_a_night_message_waits_and_is_released_within_the_next_days_cap() -> None:
    night = DAY.replace(hour=23)
    paced = aud.on_news(None, news("b0"), now=night, quiet=QUIET, per_day=1)
    assert paced.send == [] and paced.outcomes == ["deferred_quiet_hours"]
    row = paced.pacing
    assert aud.on_news(row, news("b0"), now=night, quiet=QUIET, per_day=1).outcomes == ["duplicate"]
    assert aud.on_news(row, news("b1"), now=night, quiet=QUIET, per_day=1).outcomes == ["dropped_daily_limit"]
    morning = (DAY + timedelta(days=1)).replace(hour=7)
    assert not aud.due(aud.encode(row), morning - timedelta(seconds=1))
    assert aud.due(aud.encode(row), morning)
    released = aud.on_tick(row, at=morning, per_day=1)
    assert [m["broadcast_id"] for m in released.send] == ["b0"] and released.outcomes == ["released"]
    assert released.pacing is not None and released.pacing["waiting"] == []


def test_a_cap_of_zero_sends_no_policy_news() -> None:
    assert aud.on_news(None, news("b0"), now=DAY, quiet=None, per_day=0).send == []
