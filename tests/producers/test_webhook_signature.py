"""The webhook signature as zalo-api.md §6.2 states it, and the event identity / key derived from a body."""

from __future__ import annotations

import hashlib

import orjson

from hoso.settings import Settings
from producers.webhook.events import build_event, record_key
from producers.webhook.recent import RecentIds
from producers.webhook.signature import SignatureConfig, clean_header, sign, verify
from schemas.common import now_vn, pseudonym

BODY = b'{"app_id":"app-1","event_name":"user_send_text","timestamp":"1764300000000"}'
CONFIG = SignatureConfig(
    ids={"app_id": ("app-1",), "oa_id": ("oa-9",)}, secrets=("s3cret",), variants=("app_id", "oa_id")
)


def test_signature_is_plain_sha256_of_id_body_timestamp_secret():
    expected = hashlib.sha256(b"app-1" + BODY + b"1764300000000" + b"s3cret").hexdigest()
    assert sign("app-1", BODY, "1764300000000", "s3cret") == expected


def test_either_configured_variant_verifies_and_is_reported():
    assert verify(CONFIG, BODY, sign("app-1", BODY, "1764300000000", "s3cret"), "1764300000000") == "app_id"
    assert verify(CONFIG, BODY, sign("oa-9", BODY, "1764300000000", "s3cret"), "1764300000000") == "oa_id"
    only_app = SignatureConfig(ids=CONFIG.ids, secrets=CONFIG.secrets, variants=("app_id",))
    assert verify(only_app, BODY, sign("oa-9", BODY, "1764300000000", "s3cret"), "1764300000000") is None


def test_mac_prefix_case_and_spaces_are_tolerated():
    sig = sign("app-1", BODY, "1764300000000", "s3cret")
    assert verify(CONFIG, BODY, f"  mac={sig.upper()} ", "1764300000000") == "app_id"
    assert clean_header("MAC=abc") == "abc"
    assert clean_header("  ") is None


def test_a_changed_byte_timestamp_or_secret_fails():
    sig = sign("app-1", BODY, "1764300000000", "s3cret")
    assert verify(CONFIG, BODY.replace(b"text", b"Text"), sig, "1764300000000") is None
    assert verify(CONFIG, BODY, sig, "1764300000001") is None
    assert verify(CONFIG, BODY, sign("app-1", BODY, "1764300000000", "other"), "1764300000000") is None
    assert verify(CONFIG, BODY, None, "1764300000000") is None
    assert verify(CONFIG, BODY, "mac=ổ", "1764300000000") is None


def test_a_reserialised_body_does_not_verify():
    sig = sign("app-1", BODY, "1764300000000", "s3cret")
    assert verify(CONFIG, orjson.dumps(orjson.loads(BODY), option=orjson.OPT_INDENT_2), sig, "1764300000000") is None


def test_rotated_secrets_are_all_accepted_from_settings():
    settings = Settings.from_env({"HOSO_ZALO_OA_SECRET_KEYS": "old, new", "HOSO_ZALO_APP_ID": "app-1"})
    config = SignatureConfig.from_settings(settings)
    assert config.secrets == ("old", "new")
    assert verify(config, BODY, sign("app-1", BODY, "1764300000000", "new"), "1764300000000") == "app_id"


def test_retries_of_one_call_share_an_identity_and_chat_is_keyed_by_the_users_pseudonym():
    payload = {"event_name": "user_send_text", "sender": {"id": "123"}, "recipient": {"id": "oa"}, "message": {}}
    raw = orjson.dumps(payload)
    first = build_event(payload, raw, zns=False, variant="app_id", received_at=now_vn())
    again = build_event(payload, raw, zns=False, variant="app_id", received_at=now_vn())
    assert first.event_id == again.event_id
    assert first.zalo_user_id == "123" and first.oa_id == "oa"
    assert record_key(first, "k") == pseudonym("k", "z", "123").encode()
    other = build_event(payload, raw + b" ", zns=False, variant="app_id", received_at=now_vn())
    assert other.event_id != first.event_id


def test_follow_events_use_the_follower_and_zns_receipts_are_keyed_by_tracking_id():
    follow = {"event_name": "follow", "oa_id": "oa", "follower": {"id": "77"}, "timestamp": "1"}
    ev = build_event(follow, orjson.dumps(follow), zns=False, variant="app_id", received_at=now_vn())
    assert (ev.zalo_user_id, ev.oa_id) == ("77", "oa")
    receipt = {
        "sender": {"id": "oa"},
        "recipient": {"id": "84912345678"},
        "event_name": "user_received_message",
        "message": {"msg_id": "m1", "tracking_id": "abc123"},
        "timestamp": "1",
    }
    ev = build_event(receipt, orjson.dumps(receipt), zns=True, variant="app_id", received_at=now_vn())
    assert ev.zalo_user_id is None and record_key(ev, "k") == b"abc123"
    assert ev.event_id == "user_received_message:m1:abc123"


def test_the_recent_id_cache_forgets_the_oldest_beyond_capacity():
    recent = RecentIds(2)
    for i in ("a", "b", "c"):
        recent.add(i)
    assert "a" not in recent and "b" in recent and "c" in recent and len(recent) == 2
