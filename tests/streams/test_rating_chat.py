"""A survey answered in the OA chat: the answer goes to the citizen's dossiers; a finished one records it."""

from __future__ import annotations

from datetime import timedelta

import orjson

from schemas.chat_command import DossierAction
from schemas.common import VN_TZ, now_vn, pseudonym
from schemas.rating import RatingChannel, RatingLevel
from schemas.zalo_event import ZaloEvent
from streams import chat_flow as flow
from streams.dossier_state import DossierState
from streams.ratings import rating_record

KEY = "test-key"
USER = "5830000000000000001"
SID = pseudonym(KEY, "z", USER)
CODE = "000.00.49.H22-261128-0001"
OTHER = "000.00.49.H22-261128-0002"


def state(code: str = CODE, **changes) -> DossierState:
    base = dict(
        ma_ho_so=code,
        sequence=7,
        trang_thai="RESULT_RETURNED",
        trang_thai_label_vi="Đã trả kết quả",
        trang_thai_dvcqg=10,
        ten_tthc="Cấp giấy phép xây dựng",
        don_vi_xu_ly="Sở Xây dựng Quảng Ninh",
        phong_ban=None,
        ma_tinh="22",
        ma_xa=None,
        ngay_hen_tra=None,
        giay_to_bo_sung=[],
        supplement_requests=0,
        extensions=0,
        updated_at="2026-11-28T10:00:00+07:00",
        source_system="000.00.49.H22",
        survey_invited=True,
    )
    return DossierState(**{**base, **changes})


POLICY = flow.ChatPolicy(pseudonym_key=KEY, default_oa_id="oa")


def chat(text: str, dossiers: list[str], msg: str = "msg-1") -> flow.ChatResult:
    ev = ZaloEvent(
        event_id=msg,
        event_name="user_send_text",
        server="OA",
        zalo_user_id=USER,
        oa_id="oa",
        received_at=now_vn(),
        signature_variant="app_id",
        payload={"message": {"msg_id": "1", "text": text}},
    )
    return flow.on_zalo_event(ev, contact=None, dossiers=dossiers, policy=POLICY, now=now_vn())


FOLLOWING = {SID: {"subscriber_id": SID, "zalo_user_id": USER, "source": "CHAT"}}


def test_an_answer_is_sent_to_every_followed_dossier_with_the_level_and_comment():
    result = chat("Rat hai long, can bo nhiet tinh", [CODE, OTHER])
    assert result.replies == [] and result.command == "RATE"
    assert [(c.action, c.ma_ho_so, c.muc_do, c.noi_dung) for c in result.dossier_commands] == [
        (DossierAction.RATE, CODE, 3, "can bo nhiet tinh"),
        (DossierAction.RATE, OTHER, 3, "can bo nhiet tinh"),
    ]


def test_without_followed_dossiers_a_digit_is_an_ordinary_message():
    result = chat("2", [])
    assert result.command != "RATE" and result.dossier_commands == []


def test_commands_still_work_for_a_citizen_with_dossiers():
    [cmd] = chat(f"TC {CODE}", [CODE]).dossier_commands
    assert cmd.action is DossierAction.LOOKUP


def test_a_finished_surveyed_dossier_records_the_rating_and_thanks_the_citizen():
    [cmd, _] = chat("1 phải đi lại nhiều lần", [CODE, OTHER]).dossier_commands
    result = flow.on_dossier_command(cmd, state(), FOLLOWING, policy=POLICY, now=now_vn())
    [rating] = result.ratings
    assert (rating.ma_ho_so, rating.subscriber_id, rating.agency) == (CODE, SID, "000.00.49.H22")
    assert (rating.muc_do, rating.noi_dung, rating.channel) == (
        RatingLevel.KHONG_HAI_LONG,
        "phải đi lại nhiều lần",
        RatingChannel.ZALO_CHAT,
    )
    [thanks] = result.replies
    assert thanks.to.zalo_user_id == USER and "Không hài lòng" in thanks.text and CODE in thanks.text
    key, value = rating_record(rating)
    assert key == f"{CODE}|{SID}".encode() and orjson.loads(value)["muc_do"] == 1


def test_a_dossier_still_in_process_or_not_followed_takes_no_rating_and_stays_silent():
    [cmd] = chat("3", [CODE]).dossier_commands
    in_process = state(trang_thai="IN_PROCESS", trang_thai_dvcqg=4, survey_invited=False)
    for st, followers in ((in_process, FOLLOWING), (state(), {}), (None, FOLLOWING)):
        result = flow.on_dossier_command(cmd, st, followers, policy=POLICY, now=now_vn())
        assert (result.outcome, result.ratings, result.replies) == ("not_rated", [], [])


def test_a_later_answer_is_a_new_version_of_the_same_rating():
    [first] = chat("1", [CODE], msg="msg-1").dossier_commands
    [second] = chat("3", [CODE], msg="msg-2").dossier_commands
    a = flow.on_dossier_command(first, state(), FOLLOWING, policy=POLICY, now=now_vn()).ratings[0]
    b = flow.on_dossier_command(second, state(), FOLLOWING, policy=POLICY, now=now_vn()).ratings[0]
    assert a.key == b.key and a.sync_id != b.sync_id


def test_the_same_answer_processed_again_after_a_crash_is_the_same_version():
    [cmd] = chat("3", [CODE], msg="msg-9").dossier_commands
    [again] = chat("3", [CODE], msg="msg-9").dossier_commands
    a = flow.on_dossier_command(cmd, state(), FOLLOWING, policy=POLICY, now=now_vn()).ratings[0]
    b = flow.on_dossier_command(again, state(), FOLLOWING, policy=POLICY, now=now_vn()).ratings[0]
    assert a.sync_id == b.sync_id


def test_an_answer_after_the_survey_closed_is_refused_politely_and_records_nothing():
    invited = now_vn() - timedelta(days=31)
    [cmd] = chat("Rat hai long", [CODE]).dossier_commands
    old = state(survey_invited_at=invited.isoformat())
    result = flow.on_dossier_command(cmd, old, FOLLOWING, policy=POLICY, now=now_vn())
    assert (result.outcome, result.ratings) == ("survey_closed", [])
    [refusal] = result.replies
    closed = (invited + timedelta(days=30)).astimezone(VN_TZ).strftime("%d/%m/%Y")
    assert refusal.to.zalo_user_id == USER
    assert refusal.text.startswith(f"Thời hạn đánh giá việc giải quyết hồ sơ số {CODE} đã kết thúc ngày {closed}")
    assert "không được ghi nhận" in refusal.text and refusal.text.endswith("Trân trọng cảm ơn Ông/Bà.")


def test_the_surveys_life_is_the_setting_and_counts_from_the_invitation_not_the_agencys_dates():
    [cmd] = chat("2", [CODE]).dossier_commands
    invited = now_vn() - timedelta(days=6)
    week = flow.ChatPolicy(pseudonym_key=KEY, default_oa_id="oa", rating_ttl=timedelta(days=7))
    back_dated = state(survey_invited_at=invited.isoformat(), updated_at="2020-01-01T08:00:00+07:00")
    assert flow.on_dossier_command(cmd, back_dated, FOLLOWING, policy=week, now=now_vn()).outcome == "rated"
    later = now_vn() + timedelta(days=1, minutes=1)
    assert flow.on_dossier_command(cmd, back_dated, FOLLOWING, policy=week, now=later).outcome == "survey_closed"
    unknown_time = state(survey_invited_at=None)  # invited before the time was kept: no limit
    assert flow.on_dossier_command(cmd, unknown_time, FOLLOWING, policy=week, now=later).outcome == "rated"
