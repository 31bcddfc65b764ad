"""The chat flow's decisions, one step at a time, without Kafka: who is followed, who is told what, who may
see what, and what a stranger cannot do."""

from __future__ import annotations

from datetime import timedelta

import orjson

from schemas.chat_command import CitizenAction, DossierAction
from schemas.codec import decode_event
from schemas.common import now_vn, pseudonym
from schemas.notification import SendChannel
from schemas.subscription import Disclosure
from schemas.zalo_event import ZaloEvent
from streams import chat_flow as flow
from streams import followers as fol
from streams import proofs
from streams.followers import consent_changes
from tests.factories import DOSSIER, event
from tests.factories import dossier_state as state

KEY = "test-key"
USER = "5830000000000000001"
STRANGER = "5830000000000000999"
SID = pseudonym(KEY, "z", USER)
STRANGER_SID = pseudonym(KEY, "z", STRANGER)
PHONE_SID = pseudonym(KEY, "p", "84912345678")
POLICY = flow.ChatPolicy(pseudonym_key=KEY, default_oa_id="oa", proof_key="agency-key", lookups_per_hour=3)
NOW = now_vn()


def zalo(name: str, payload: dict, **fields) -> ZaloEvent:
    return ZaloEvent(
        event_id=fields.pop("event_id", f"{name}:1"),
        event_name=name,
        server=fields.pop("server", "OA"),
        zalo_user_id=fields.pop("user", USER),
        oa_id="oa",
        received_at=NOW,
        signature_variant="app_id",
        payload=payload,
        **fields,
    )


def chat(text: str, contact=None, dossiers=None, user: str = USER, policy=POLICY) -> flow.ChatResult:
    ev = zalo("user_send_text", {"message": {"msg_id": "1", "text": text}}, user=user)
    return flow.on_zalo_event(ev, contact=contact, dossiers=dossiers or [], policy=policy, now=NOW)


def dossier_command(text: str, **kw):
    return chat(text, **kw).dossier_commands[0]


def owner_followers() -> fol.Followers:
    parsed, _ = decode_event(orjson.dumps(event("RECEIVED")))
    assert parsed is not None
    current: fol.Followers = {}
    for change in consent_changes(parsed, KEY):
        current = fol.apply(current, change)
    return current


def test_dk_is_rekeyed_to_the_dossier_and_indexed_for_the_citizen():
    result = chat(f"dk {DOSSIER}")
    [cmd] = result.dossier_commands
    assert (cmd.action, cmd.ma_ho_so, cmd.subscriber_ids, cmd.reply_to) == (DossierAction.FOLLOW, DOSSIER, [SID], USER)
    assert result.dossiers == [DOSSIER] and result.replies == []


def test_anything_else_gets_help_in_the_formal_register():
    [note] = chat("alo").replies
    assert note.channel.value == "OA_TEXT" and note.kind.value == "REPLY"
    assert note.to.zalo_user_id == USER and note.key == SID and "DK <mã hồ sơ>" in note.text
    assert "Ông/Bà" in note.text and "bạn" not in note.text.lower()


def test_huy_stops_every_indexed_dossier_and_a_proven_phone():
    result = chat("Hủy tất cả", contact={"proven_phone_sid": PHONE_SID}, dossiers=[DOSSIER, "B-1"])
    assert [(c.ma_ho_so, c.subscriber_ids, c.reply_to) for c in result.dossier_commands] == [
        (DOSSIER, [SID, PHONE_SID], None),
        ("B-1", [SID, PHONE_SID], None),
    ]
    [phone] = result.citizen_commands
    assert (phone.action, phone.subscriber_id) == (CitizenAction.UNFOLLOW_ALL, PHONE_SID)
    assert result.dossiers == [] and len(result.replies) == 1


def test_a_typed_phone_links_nothing_and_cannot_stop_the_owners_notices():
    ev = zalo("user_submit_info", {"sender": {"id": STRANGER}, "info": {"phone": "0912 345 678"}}, user=STRANGER)
    result = flow.on_zalo_event(ev, contact=None, dossiers=[], policy=POLICY, now=NOW)
    assert result.contact is None and "không được dùng để xác thực" in result.replies[0].text
    # A contact linked that way before the fix is not trusted either.
    stop = chat("HUY", contact={"phone_sid": PHONE_SID}, dossiers=[DOSSIER], user=STRANGER)
    assert stop.citizen_commands == []
    assert all(PHONE_SID not in c.subscriber_ids for c in stop.dossier_commands)
    assert stop.contact is None or "phone_sid" not in stop.contact


def test_an_oa_unfollow_ends_chat_only():
    ev = zalo("unfollow", {"follower": {"id": USER}})
    result = flow.on_zalo_event(ev, contact={"proven_phone_sid": PHONE_SID}, dossiers=[DOSSIER], policy=POLICY, now=NOW)
    assert [c.subscriber_ids for c in result.dossier_commands] == [[SID]]
    assert result.citizen_commands == [] and result.contact is not None and result.contact["follows_oa"] is False


def test_a_zns_receipt_becomes_a_delivery_status_row():
    payload = {
        "event_name": "user_received_message",
        "message": {"msg_id": "m", "delivery_time": "17", "tracking_id": "t1"},
    }
    ev = zalo("user_received_message", payload, server="ZNS", user=None, tracking_id="t1")
    result = flow.on_zalo_event(ev, contact=None, dossiers=[], policy=POLICY, now=NOW)
    assert result.delivery is not None and result.delivery["tracking_id"] == "t1"
    assert result.delivery["delivery_time_ms"] == "17"


def test_dk_before_the_first_sync_waits_and_is_confirmed_with_the_status_when_the_dossier_arrives():
    result = flow.on_dossier_command(dossier_command(f"DK {DOSSIER}"), None, {}, policy=POLICY, now=NOW)
    assert result.outcome == "pending" and result.changes == []
    assert "sẽ gửi thông báo khi hồ sơ được cập nhật" in result.replies[0].text
    assert result.pending is not None and SID in result.pending
    [waiting] = result.citizen_commands
    assert (waiting.action, waiting.subscriber_id) == (CitizenAction.PENDING_ADD, SID)
    [confirm] = flow.pending_confirmations(DOSSIER, result.pending, now=NOW, default_oa_id="oa")
    done = flow.on_dossier_command(confirm, state(ma_ho_so=DOSSIER), {}, policy=POLICY, now=NOW)
    [change] = done.changes
    assert change.subscriber_id == SID and change.disclosure is Disclosure.PUBLIC
    assert done.outcome == "pending_confirmed" and "Tình trạng: Cần bổ sung hồ sơ" in done.replies[0].text
    assert done.citizen_commands[0].action is CitizenAction.PENDING_DONE


def test_a_waiting_follow_lapses_after_its_time():
    pending = fol.add_pending({}, SID, zalo_user_id=USER, oa_id="oa", now=NOW, ttl=timedelta(days=14))
    assert pending is not None
    assert flow.pending_confirmations(DOSSIER, pending, now=NOW + timedelta(days=15), default_oa_id="oa") == []


def test_a_citizen_waits_on_a_bounded_number_of_unsynced_codes():
    waiting = {f"X-{i}00001": (NOW + timedelta(days=1)).isoformat() for i in range(POLICY.pending_per_citizen)}
    cmd = dossier_command(f"DK {DOSSIER}", contact={"pending": waiting})
    assert cmd.may_wait is False
    result = flow.on_dossier_command(cmd, None, {}, policy=POLICY, now=NOW)
    assert result.refusal == "pending_limit" and result.pending is None


def test_a_strangers_lookup_shows_only_status_agency_and_appointment():
    cmd = dossier_command(f"TC {DOSSIER}", user=STRANGER)
    text = flow.on_dossier_command(cmd, state(ma_ho_so=DOSSIER), owner_followers(), policy=POLICY, now=NOW)
    answer = text.replies[0].text
    assert "Tình trạng: Cần bổ sung hồ sơ" in answer and "Sở Xây dựng Quảng Ninh" in answer and "05/12/2026" in answer
    for private in ("Bản vẽ thiết kế", "Cấp giấy phép xây dựng", "Nguyễn", "Phòng Quản lý"):
        assert private not in answer


def test_dk_without_proof_follows_at_the_public_level():
    cmd = dossier_command(f"DK {DOSSIER}", user=STRANGER)
    result = flow.on_dossier_command(cmd, state(ma_ho_so=DOSSIER), owner_followers(), policy=POLICY, now=NOW)
    [change] = result.changes
    assert change.disclosure is Disclosure.PUBLIC and "Bản vẽ thiết kế" not in result.replies[0].text


def test_xn_sends_a_one_time_code_to_the_registered_phone_only():
    cmd = dossier_command(f"XN {DOSSIER}", user=STRANGER)
    result = flow.on_dossier_command(
        cmd, state(ma_ho_so=DOSSIER), owner_followers(), policy=POLICY, now=NOW, new_otp=lambda: "482913"
    )
    otp, answer = result.replies
    assert otp.channel is SendChannel.ZBS_PHONE and otp.to.phone == "84912345678"
    assert otp.template_id == "hoso-otp" and otp.template_data == {"otp": "482913", "ma_ho_so": DOSSIER}
    assert "482913" not in otp.text and "482913" not in answer.text
    assert answer.to.zalo_user_id == STRANGER and "0912" not in answer.text


def test_the_owner_who_types_the_code_back_gets_full_notices_and_links_the_phone():
    asked = flow.on_dossier_command(
        dossier_command(f"XN {DOSSIER}"),
        state(ma_ho_so=DOSSIER),
        owner_followers(),
        policy=POLICY,
        now=NOW,
        new_otp=lambda: "482913",
    )
    waiting = chat(f"XN {DOSSIER}").contact
    assert waiting is not None and waiting["proving"]["code"] == DOSSIER
    typed = chat("482913", contact=waiting).dossier_commands[0]
    assert (typed.action, typed.secret) == (DossierAction.PROVE, "482913")
    proven = flow.on_dossier_command(
        typed, state(ma_ho_so=DOSSIER), owner_followers(), policy=POLICY, now=NOW, proofs=asked.proofs
    )
    assert proven.outcome == "proven_otp"
    [change] = proven.changes
    assert change.disclosure is Disclosure.FULL and change.subscriber_id == SID
    [link] = proven.citizen_commands
    assert (link.action, link.subscriber_id, link.linked_id) == (CitizenAction.LINK_PHONE, SID, PHONE_SID)
    assert "Bản vẽ thiết kế" in proven.replies[0].text


def test_a_bare_code_long_after_the_request_is_not_taken_as_a_proof():
    waiting = chat(f"XN {DOSSIER}").contact
    late = flow.on_zalo_event(
        zalo("user_send_text", {"message": {"msg_id": "2", "text": "482913"}}),
        contact=waiting,
        dossiers=[],
        policy=POLICY,
        now=NOW + POLICY.otp_ttl + timedelta(seconds=1),
    )
    assert late.dossier_commands == [] and late.outcome == "no_proof_pending"


def test_strangers_cannot_flood_the_owners_phone_with_codes():
    proof_state: dict = {}
    sent = 0
    for i in range(10):
        cmd = dossier_command(f"XN {DOSSIER}", user=f"58300000000000{i:05d}")
        result = flow.on_dossier_command(
            cmd, state(ma_ho_so=DOSSIER), owner_followers(), policy=POLICY, now=NOW, proofs=proof_state
        )
        sent += sum(1 for r in result.replies if r.channel is SendChannel.ZBS_PHONE)
        proof_state = result.proofs if result.proofs is not None else proof_state
    assert sent == proofs.OTPS_PER_HOUR


def test_a_wrong_code_is_refused_and_too_many_lock_the_dossier_for_everyone():
    proof_state: dict = {}
    for i in range(POLICY.proof_failures_per_dossier):
        cmd = dossier_command(f"XN {DOSSIER} {100000 + i}", user=f"58300000000000{i:05d}")
        result = flow.on_dossier_command(
            cmd, state(ma_ho_so=DOSSIER), owner_followers(), policy=POLICY, now=NOW, proofs=proof_state
        )
        assert result.refusal == "proof_wrong" and result.changes == []
        proof_state = result.proofs or {}
    right = proofs.id_hash("agency-key", DOSSIER, "001234")
    cmd = dossier_command(f"XN {DOSSIER} 001234")
    locked = flow.on_dossier_command(
        cmd, state(ma_ho_so=DOSSIER, xac_thuc_hash=right), {}, policy=POLICY, now=NOW, proofs=proof_state
    )
    assert locked.refusal == "proof_locked"


def test_the_id_documents_last_digits_prove_ownership_against_the_agencys_keyed_hash():
    right = proofs.id_hash("agency-key", DOSSIER, "022186001234")
    cmd = dossier_command(f"XN {DOSSIER} 001234")
    result = flow.on_dossier_command(cmd, state(ma_ho_so=DOSSIER, xac_thuc_hash=right), {}, policy=POLICY, now=NOW)
    assert result.outcome == "proven_id" and result.changes[0].disclosure is Disclosure.FULL
    assert result.citizen_commands == []  # no phone was proven


def test_lookups_per_user_are_rate_limited_and_counted():
    contact = None
    for _ in range(POLICY.lookups_per_hour):
        result = chat(f"TC {DOSSIER}", contact=contact)
        assert result.refusal is None and result.dossier_commands
        contact = result.contact
    refused = chat(f"TC {DOSSIER}", contact=contact)
    assert refused.refusal == "lookup_rate" and refused.dossier_commands == []
    assert "thử lại sau" in refused.replies[0].text


def test_huy_of_one_dossier_removes_even_a_follow_not_yet_applied():
    result = flow.on_dossier_command(
        dossier_command(f"HUY {DOSSIER}"), state(ma_ho_so=DOSSIER), {}, policy=POLICY, now=NOW
    )
    assert [(c.subscriber_id, c.active) for c in result.changes] == [(SID, False)]


def test_huy_also_cancels_a_waiting_follow():
    pending = fol.add_pending({}, SID, zalo_user_id=USER, oa_id="oa", now=NOW, ttl=timedelta(days=14))
    result = flow.on_dossier_command(
        dossier_command(f"HUY {DOSSIER}"), None, {}, policy=POLICY, now=NOW, pending=pending
    )
    assert result.pending == {}


def test_agency_consent_still_creates_subscriptions_and_is_indexed_for_stop_all():
    raw = orjson.dumps(event("RECEIVED"))
    parsed, _ = decode_event(raw)
    assert parsed is not None
    [consent] = consent_changes(parsed, KEY)
    assert consent.active and consent.subscriber_id == PHONE_SID
    [index] = flow.consent_index(parsed, pseudonym_key=KEY, oa_id="oa", now=NOW)
    assert (index.subscriber_id, index.ma_ho_so) == (PHONE_SID, DOSSIER)


def test_stop_all_for_a_proven_phone_fans_out_to_its_indexed_dossiers():
    parsed, _ = decode_event(orjson.dumps(event("RECEIVED")))
    assert parsed is not None
    [index] = flow.consent_index(parsed, pseudonym_key=KEY, oa_id="oa", now=NOW)
    dossiers, _ = flow.on_citizen_command(index, [])
    assert dossiers == [DOSSIER]
    stop = chat("HUY", contact={"proven_phone_sid": PHONE_SID}).citizen_commands[0]
    cleared, commands = flow.on_citizen_command(stop, dossiers)
    assert cleared == [] and [(c.ma_ho_so, c.subscriber_ids) for c in commands] == [(DOSSIER, [PHONE_SID])]
