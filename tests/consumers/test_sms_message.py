"""What the SMS fallback texts, to whom, and when it stays silent (pure; no broker, no provider)."""

from __future__ import annotations

from datetime import datetime

import pytest

from consumers.sms.message import plan, sms_text, unaccent
from consumers.sms.providers import ProviderRegistry, SmsProvider
from schemas.codec import check_event
from schemas.notification import Addressee, Kind, Notification, Priority, SendChannel
from streams import followers as fol
from streams import template_catalogue as cat
from streams.notify import NOTIFY, notifications_for
from tests.factories import event

PROVIDER = SmsProvider(name="qn", url="http://sms.test", api_key="k", brandname="UBND-QNINH", oa_ids=("oa-qn",))
PROVIDERS = ProviderRegistry(providers={"qn": PROVIDER})

TEXT = (
    "Kính gửi Nguyễn Thị Lan,\n"
    "Hồ sơ 000.00.49.H22-261128-0001 (Cấp giấy phép xây dựng): Yêu cầu bổ sung, hoàn thiện hồ sơ.\n"
    "Cần bổ sung: Bản vẽ thiết kế; Bản sao CCCD. Hạn bổ sung: 05/12/2026.\n"
    "Đơn vị đang xử lý: Sở Xây dựng Quảng Ninh.\n"
    "Tra cứu: https://dichvucong.quangninh.gov.vn/tra-cuu?mhs=000.00.49.H22-261128-0001"
)


def failure(*, code: int = -118, consent: bool | None = True, phone: str | None = "84999000118", **kw) -> dict:
    n = Notification(
        tracking_id="abc123",
        kind=kw.pop("kind", Kind.DOSSIER_UPDATE),
        priority=Priority.DOSSIER,
        created_at=datetime.fromisoformat("2026-11-28T09:00:00+07:00"),
        occurred_at=datetime.fromisoformat("2026-11-28T09:00:00+07:00"),
        oa_id=kw.pop("oa_id", "oa-qn"),
        channel=SendChannel.ZBS_PHONE if phone else SendChannel.OA_TEXT,
        to=Addressee(subscriber_id="p:x1", phone=phone, zalo_user_id=None if phone else "u1", dong_y_sms=consent),
        template_id="hoso-received" if phone else None,
        text=TEXT,
    )
    return {
        "notification": n.model_dump(mode="json", exclude_none=True),
        "outcome": "permanent_failure",
        "code": code,
        "reason": "no Zalo account",
        **kw,
    }


def test_the_text_keeps_the_facts_and_the_link_drops_the_greeting_and_the_accents():
    text = sms_text(TEXT, 459)
    assert text.startswith("Ho so 000.00.49.H22-261128-0001 (Cap giay phep xay dung): Yeu cau bo sung")
    assert "Ban ve thiet ke; Ban sao CCCD" in text and "So Xay dung Quang Ninh" in text
    assert text.endswith("\nTra cuu: https://dichvucong.quangninh.gov.vn/tra-cuu?mhs=000.00.49.H22-261128-0001")
    assert "Kinh gui" not in text and text.isascii()


def test_a_long_text_is_shortened_in_the_middle_but_the_lookup_link_stays_whole():
    text = sms_text(TEXT, 160)
    assert len(text) <= 160
    assert text.endswith("tra-cuu?mhs=000.00.49.H22-261128-0001")
    assert "..." in text


def test_accented_providers_get_the_vietnamese_as_written():
    assert "Yêu cầu bổ sung" in sms_text(TEXT, 459, accents=True)


def test_unaccent_handles_d_with_stroke_and_stacked_marks():
    assert unaccent("Đường Hạ Long, phường Hồng Gai, đợt 2") == "Duong Ha Long, phuong Hong Gai, dot 2"


def test_a_consenting_phone_that_zalo_cannot_reach_is_texted_through_its_oa_provider():
    p = plan(failure(), PROVIDERS)
    assert not isinstance(p, str)
    assert (p.phone, p.provider.name, p.tracking_id, p.oa_id) == ("84999000118", "qn", "abc123", "oa-qn")


@pytest.mark.parametrize("consent", [None, False])
def test_nobody_is_texted_without_sms_consent(consent):
    assert plan(failure(consent=consent), PROVIDERS) == "no_consent"


def test_a_zalo_user_without_a_phone_cannot_be_texted():
    assert plan(failure(phone=None, code=-230), PROVIDERS) == "no_phone"


@pytest.mark.parametrize("code", [-111, -117, -131, None, "-118"])
def test_failures_that_do_not_mean_unreachable_are_not_texted(code):
    assert plan(failure(code=code), PROVIDERS) == "not_fallback"


def test_invalid_records_and_other_outcomes_are_not_texted():
    assert plan(failure(outcome="invalid"), PROVIDERS) == "not_fallback"
    assert plan({"outcome": "permanent_failure", "code": -118, "notification": {"to": {}}}, PROVIDERS) == "invalid"
    assert plan(None, PROVIDERS) == "not_fallback"
    assert plan("", PROVIDERS) == "not_fallback"


def test_chat_replies_and_survey_invitations_are_not_worth_a_paid_text():
    assert plan(failure(kind=Kind.REPLY), PROVIDERS) == "not_fallback"
    assert plan(failure(kind=Kind.SURVEY), PROVIDERS) == "not_fallback"


def test_an_oa_without_a_provider_has_no_fallback_unless_a_default_is_configured():
    assert plan(failure(oa_id="oa-quangtri"), PROVIDERS) == "no_provider"
    with_default = ProviderRegistry(providers={"qn": PROVIDER}, default="qn")
    assert not isinstance(plan(failure(oa_id="oa-quangtri"), with_default), str)


def test_sms_consent_in_the_agency_record_reaches_the_rendered_notification():
    recipients = [
        {"ho_ten_hien_thi": "Lan", "phone": "0912345678", "dong_y_zalo": True, "dong_y_sms": True},
        {"ho_ten_hien_thi": "Minh", "phone": "0987654321", "dong_y_zalo": True},
    ]
    e, problems = check_event(event("RECEIVED", recipients=recipients))
    assert e is not None, problems
    followers: fol.Followers = {}
    for change in fol.consent_changes(e, "key"):
        followers = fol.apply(followers, change)
    notes = notifications_for(e, followers, oa_id="oa-qn", now=e.occurred_at, catalogue=cat.load(None, NOTIFY))
    consent = {n.to.phone: n.to.dong_y_sms for n in notes}
    assert consent == {"84912345678": True, "84987654321": None}
