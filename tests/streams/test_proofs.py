"""Proof of ownership: a one-time code works once, for the person it was issued to, before it expires and
within three tries; the ID digits match only the agency's keyed hash; wrong proofs lock a dossier for a day."""

from __future__ import annotations

from datetime import timedelta

from schemas.common import now_vn
from streams import proofs

NOW = now_vn()
CODE = "000.00.49.H22-261128-0001"


def issued(otp: str = "482913") -> proofs.Proofs:
    return proofs.issue(
        {}, key="k", code=CODE, sid="z:me", phone_sid="p:owner", otp=otp, now=NOW, ttl=timedelta(minutes=10)
    )


def check(state: proofs.Proofs, secret: str, *, sid: str = "z:me", at=NOW, id_hash: str | None = None) -> proofs.Check:
    return proofs.check(
        state,
        key="k",
        proof_key="agency",
        code=CODE,
        sid=sid,
        secret=secret,
        id_hash_expected=id_hash,
        now=at,
        failures_per_dossier=10,
    )


def test_the_code_is_stored_only_as_a_keyed_hash():
    assert "482913" not in str(issued())


def test_the_right_code_proves_the_phone_once():
    ok = check(issued(), "482913")
    assert ok.proven is proofs.Proven.OTP and ok.phone_sid == "p:owner"
    assert check(ok.proofs, "482913").proven is None  # used up


def test_a_code_is_the_requesters_own_and_expires():
    assert check(issued(), "482913", sid="z:stranger").proven is None
    assert check(issued(), "482913", at=NOW + timedelta(minutes=11)).proven is None


def test_three_wrong_tries_end_the_code():
    state = issued()
    for wrong in ("000001", "000002", "000003"):
        state = check(state, wrong).proofs
    assert check(state, "482913").proven is None


def test_the_id_digits_match_the_agencys_keyed_hash():
    expected = proofs.id_hash("agency", CODE, "001234")
    assert check({}, "001234", id_hash=expected).proven is proofs.Proven.ID
    assert check({}, "022186001234", id_hash=expected).proven is proofs.Proven.ID  # the whole number typed
    assert check({}, "001235", id_hash=expected).proven is None
    assert check({}, "001234", id_hash=None).proven is None


def test_wrong_proofs_from_anyone_lock_the_dossier_for_a_day():
    state: proofs.Proofs = {}
    for i in range(10):
        state = check(state, f"{i:06d}", sid=f"z:{i}").proofs
    expected = proofs.id_hash("agency", CODE, "001234")
    assert check(state, "001234", id_hash=expected).refusal == "proof_locked"
    assert check(state, "001234", id_hash=expected, at=NOW + timedelta(hours=25)).proven is proofs.Proven.ID


def test_the_hash_the_gateway_makes_from_a_national_payload_is_matched_by_the_digits_on_the_receipt():
    from producers.dvcqg import SYNC, AgencyDefaults, map_payload

    profile = AgencyDefaults(ten_don_vi="UBND xã", tinh="22", tra_cuu_url="https://dvc.example/{ma_ho_so}")
    item = {
        "MaHoSo": CODE,
        "TrangThaiHoSo": "2",
        "MaTTHC": "1.001",
        "TenTTHC": "Cấp giấy phép xây dựng",
        "KenhThucHien": "1",
        "NgayNopHoSo": "20261128080000",
        "NgayTiepNhan": "20261128083000",
        "SoGiayToChuHoSo": "022 186 001 234",
    }
    body = {"madonvi": "000.00.49.H22", "isUpdating": "False", "data": [item]}
    [mapped] = map_payload(body, SYNC, profile, NOW, proof_key="agency")
    assert mapped.event is not None, mapped.problems
    expected = mapped.event.data.xac_thuc_hash
    assert check({}, "001234", id_hash=expected).proven is proofs.Proven.ID
    assert check({}, "001235", id_hash=expected).proven is None
