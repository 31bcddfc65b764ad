"""The chat flow's decisions, one step at a time, without Kafka: who is followed, who is told what."""

from __future__ import annotations

import orjson

from schemas.chat_command import CitizenAction, DossierAction
from schemas.codec import decode_event
from schemas.common import now_vn, pseudonym
from schemas.zalo_event import ZaloEvent
from streams import chat_flow as flow
from streams.followers import consent_changes
from tests.factories import DOSSIER, event
from tests.streams.test_chat_commands import state

KEY = "test-key"
USER = "5830000000000000001"
SID = pseudonym(KEY, "z", USER)
PHONE_SID = pseudonym(KEY, "p", "84912345678")


def zalo(name: str, payload: dict, **fields) -> ZaloEvent:
    return ZaloEvent(
        event_id=fields.pop("event_id", f"{name}:1"),
        event_name=name,
        server=fields.pop("server", "OA"),
        zalo_user_id=fields.pop("user", USER),
        oa_id="oa",
        received_at=now_vn(),
        signature_variant="app_id",
        payload=payload,
        **fields,
    )


def chat(text: str, contact=None, dossiers=None) -> flow.ChatResult:
    ev = zalo("user_send_text", {"message": {"msg_id": "1", "text": text}})
    return flow.on_zalo_event(
        ev, contact=contact, dossiers=dossiers or [], pseudonym_key=KEY, default_oa_id="oa", now=now_vn()
    )


def test_dk_is_rekeyed_to_the_dossier_and_indexed_for_the_citizen():
    result = chat(f"dk {DOSSIER}")
    [cmd] = result.dossier_commands
    assert (cmd.action, cmd.ma_ho_so, cmd.subscriber_ids, cmd.reply_to) == (DossierAction.FOLLOW, DOSSIER, [SID], USER)
    assert result.dossiers == [DOSSIER] and result.replies == []


def test_anything_else_gets_help_as_an_oa_text_reply():
    [note] = chat("alo").replies
    assert note.channel.value == "OA_TEXT" and note.kind.value == "REPLY"
    assert note.to.zalo_user_id == USER and note.key == SID and "DK <mã hồ sơ>" in note.text


def test_huy_stops_every_indexed_dossier_and_the_linked_phone():
    result = chat("HUY", contact={"phone_sid": PHONE_SID}, dossiers=[DOSSIER, "B-1"])
    assert [(c.ma_ho_so, c.subscriber_ids, c.reply_to) for c in result.dossier_commands] == [
        (DOSSIER, [SID, PHONE_SID], None),
        ("B-1", [SID, PHONE_SID], None),
    ]
    [phone] = result.citizen_commands
    assert (phone.action, phone.subscriber_id) == (CitizenAction.UNFOLLOW_ALL, PHONE_SID)
    assert result.dossiers == [] and len(result.replies) == 1


def test_a_shared_phone_is_linked_by_pseudonym_only():
    ev = zalo("user_submit_info", {"sender": {"id": USER}, "info": {"name": "Lan", "phone": "0912 345 678"}})
    result = flow.on_zalo_event(ev, contact=None, dossiers=[], pseudonym_key=KEY, default_oa_id="oa", now=now_vn())
    assert result.contact is not None and result.contact["phone_sid"] == PHONE_SID
    assert "0912" not in orjson.dumps(result.contact).decode() and "84912" not in orjson.dumps(result.contact).decode()


def test_a_zns_receipt_becomes_a_delivery_status_row():
    payload = {
        "event_name": "user_received_message",
        "message": {"msg_id": "m", "delivery_time": "17", "tracking_id": "t1"},
    }
    ev = zalo("user_received_message", payload, server="ZNS", user=None, tracking_id="t1")
    result = flow.on_zalo_event(ev, contact=None, dossiers=[], pseudonym_key=KEY, default_oa_id="oa", now=now_vn())
    assert result.delivery is not None and result.delivery["tracking_id"] == "t1"
    assert result.delivery["delivery_time_ms"] == "17"


def dossier_command(text: str):
    return chat(text).dossier_commands[0]


def test_an_unknown_dossier_is_never_followed():
    result = flow.on_dossier_command(dossier_command(f"DK {DOSSIER}"), None, {}, now=now_vn())
    assert result.changes == [] and "Không tìm thấy" in result.replies[0].text


def test_dk_on_a_known_dossier_subscribes_by_zalo_user_and_confirms_with_the_status():
    result = flow.on_dossier_command(dossier_command(f"DK {DOSSIER}"), state(ma_ho_so=DOSSIER), {}, now=now_vn())
    [change] = result.changes
    assert (change.subscriber_id, change.zalo_user_id, change.active) == (SID, USER, True)
    assert "Cần bổ sung hồ sơ" in result.replies[0].text


def test_huy_of_one_dossier_removes_even_a_follow_not_yet_applied():
    result = flow.on_dossier_command(dossier_command(f"HUY {DOSSIER}"), state(ma_ho_so=DOSSIER), {}, now=now_vn())
    assert [(c.subscriber_id, c.active) for c in result.changes] == [(SID, False)]


def test_agency_consent_still_creates_subscriptions_and_is_indexed_for_stop_all():
    raw = orjson.dumps(event("RECEIVED"))
    parsed, _ = decode_event(raw)
    assert parsed is not None
    [consent] = consent_changes(parsed, KEY)
    assert consent.active and consent.subscriber_id == PHONE_SID
    [index] = flow.consent_index(parsed, pseudonym_key=KEY, oa_id="oa", now=now_vn())
    assert (index.subscriber_id, index.ma_ho_so) == (PHONE_SID, DOSSIER)


def test_stop_all_for_a_phone_fans_out_to_its_indexed_dossiers():
    parsed, _ = decode_event(orjson.dumps(event("RECEIVED")))
    assert parsed is not None
    [index] = flow.consent_index(parsed, pseudonym_key=KEY, oa_id="oa", now=now_vn())
    dossiers, _ = flow.on_citizen_command(index, [])
    assert dossiers == [DOSSIER]
    stop = chat("HUY", contact={"phone_sid": PHONE_SID}).citizen_commands[0]
    cleared, commands = flow.on_citizen_command(stop, dossiers)
    assert cleared == [] and [(c.ma_ho_so, c.subscriber_ids) for c in commands] == [(DOSSIER, [PHONE_SID])]
