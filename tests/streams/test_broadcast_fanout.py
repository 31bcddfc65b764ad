"""The fast alert fan-out writes exactly the records the one-model-per-person path would write."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2 as kafka_murmur2

from schemas.broadcast import Broadcast
from schemas.codec import dumps
from schemas.common import now_vn
from schemas.subscription import Subscription
from streams import template_catalogue as cat
from streams.dossier_state import DossierState
from streams.fanout import NAME_CACHE, alert_records, followers_in_area, murmur2, partition_of
from streams.notify import NOTIFY, alert_for

OA = "hoso-demo-oa"


def follower(sid: str, **fields: object) -> dict:
    """A follower as the table stores it: a validated subscription, dumped."""
    sub = Subscription(
        ma_ho_so="000.00.49.H22-261128-0001", subscriber_id=sid, source="AGENCY_CONSENT", updated_at=now_vn(), **fields
    )
    return sub.model_dump(mode="json", exclude_none=True)


def broadcast(**extra: object) -> Broadcast:
    return Broadcast.model_validate(
        {
            "broadcast_id": "bc-test-1",
            "area_level": "PROVINCE",
            "area_code": "22",
            "text": "Bão số 3 sắp đổ bộ, người dân chủ động phòng tránh.",
            "issued_by": "Ban Chỉ huy phòng chống thiên tai",
            "issued_at": (now_vn() - timedelta(minutes=3)).isoformat(),
            **extra,
        }
    )


def state_bytes(area: dict[str, str]) -> bytes:
    """A dossier's state row, handled in ``area`` (province and commune)."""
    state = DossierState(
        ma_ho_so="000.00.49.H22-261128-0001",
        sequence=1,
        trang_thai="RECEIVED",
        trang_thai_label_vi="Đã tiếp nhận",
        trang_thai_dvcqg=2,
        ten_tthc="Cấp giấy phép xây dựng",
        don_vi_xu_ly="UBND",
        phong_ban=None,
        ma_tinh=area["ma_tinh"],
        ma_xa=area["ma_xa"],
        ngay_hen_tra=None,
        giay_to_bo_sung=[],
        supplement_requests=0,
        extensions=0,
        updated_at=now_vn().isoformat(),
    )
    return state.to_bytes()


CHOSEN = {
    "sid-a": follower("sid-a", phone="84912345678", ho_ten_hien_thi="Nguyễn Thị Lan"),
    "sid-b": follower("sid-b", phone="84912345679"),
    "sid-c": follower("sid-c", zalo_user_id="7766554433", ho_ten_hien_thi="Trần Văn Bình"),
    "sid-d": follower("sid-d", phone="84912345670", zalo_user_id="123", ho_ten_hien_thi="Nguyễn Thị Lan"),
    "sid-e": follower("sid-e", phone="84912345671", ho_ten_hien_thi="Tôn Nữ Hoàng Phương Thảo Anh"),
}


@pytest.mark.parametrize("extra", [{}, {"template_id": "tpl-alert-9", "template_data": {"noi_dung": "Sơ tán ngay"}}])
def test_each_record_is_byte_for_byte_what_alert_for_renders(extra: dict) -> None:
    b, now, catalogue = broadcast(**extra), now_vn(), cat.load(None, NOTIFY)
    fast = list(alert_records(b, CHOSEN, oa_id=OA, now=now, catalogue=catalogue))
    slow = [
        (sid.encode(), dumps(alert_for(b, sid, f, oa_id=OA, now=now, catalogue=catalogue)))
        for sid, f in sorted(CHOSEN.items())
    ]
    assert fast == slow


def test_many_distinct_names_still_render_each_persons_own_name() -> None:
    b, now, catalogue = broadcast(), now_vn(), cat.load(None, NOTIFY)
    chosen = {
        f"sid-{i:06d}": follower(f"sid-{i:06d}", phone=f"849{i:08d}", ho_ten_hien_thi=f"Người dân {i}")
        for i in range(NAME_CACHE + 5)
    }
    records = dict(alert_records(b, chosen, oa_id=OA, now=now, catalogue=catalogue))
    last = f"sid-{NAME_CACHE + 4:06d}"
    assert records[last.encode()] == dumps(alert_for(b, last, chosen[last], oa_id=OA, now=now, catalogue=catalogue))
    assert len(records) == NAME_CACHE + 5


@given(st.binary(max_size=80))
def test_the_partition_of_a_key_is_the_one_kafkas_default_partitioner_gives(key: bytes) -> None:
    assert murmur2(key) == kafka_murmur2(key) & 0xFFFFFFFF
    assert partition_of(key, 8) == (kafka_murmur2(key) & 0x7FFFFFFF) % 8


def test_a_person_following_several_dossiers_in_the_area_is_one_recipient_and_an_opt_out_none() -> None:
    b = broadcast()
    state = {"ma_tinh": "22", "ma_xa": "06652"}
    elsewhere = {"ma_tinh": "01", "ma_xa": "00004"}
    tables = {
        b"D1": (state, {"sid-a": CHOSEN["sid-a"], "sid-b": {**CHOSEN["sid-b"], "active": False}}),
        b"D2": (state, {"sid-a": CHOSEN["sid-a"], "sid-c": CHOSEN["sid-c"]}),
        b"D3": (elsewhere, {"sid-d": CHOSEN["sid-d"]}),
    }
    dossiers = [(key, state_bytes(s)) for key, (s, _) in tables.items()]
    seen = {"sid-c"}  # already reached through another audience
    got = list(followers_in_area(dossiers, lambda key: orjson.dumps(tables[key][1]), b, seen))
    assert [sid for sid, _ in got] == ["sid-a"]
    assert seen == {"sid-a", "sid-c"}
