"""The synthetic traffic generator: valid, deterministic, realistic enough to exercise every consumer rule."""

from __future__ import annotations

import itertools
import re
import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hosoctl.synthetic import GeneratorOptions, events, lifecycles
from hosoctl.synthetic import reference_data as catalog
from hosoctl.synthetic.paths import draw_path
from schemas.codec import check_event
from schemas.common import normalize_phone
from schemas.dossier_event import Status

CODE = re.compile(r"^000\.\d{2}\.\d{2}\.H\d{2}-(\d{6})-\d{4,}$")
MAGIC = {f"84999000{n}" for n in catalog.MAGIC_PHONE_SUFFIXES}


@pytest.fixture(scope="module")
def sample() -> list[list[dict]]:
    return lifecycles(GeneratorOptions(dossiers=500, seed=7, magic_ratio=0.05))


def _problems(evs):
    bad = []
    for e in evs:
        _, problems = check_event(e)
        if problems:
            bad.append((e["event_type"], [str(p) for p in problems]))
    return bad


def _recipients(dossiers, first_only=True):
    for d in dossiers:
        for e in d[:1] if first_only else d:
            yield from e["data"]["nguoi_nhan_thong_bao"]


# ------------------------------------------------------------------------------------------ validity


def test_every_generated_event_passes_field_and_cross_field_validation(sample):
    assert _problems(e for d in sample for e in d) == []


def test_generated_dicts_are_already_the_wire_form(sample):
    # Re-serialising the validated model gives back the dict, except phones, which the schema normalises.
    def normalised(r):
        return r | {"phone": normalize_phone(r["phone"])} if "phone" in r else r

    for d in sample[:100]:
        for e in d:
            model, _ = check_event(e)
            recipients = [normalised(r) for r in e["data"]["nguoi_nhan_thong_bao"]]
            expected = {**e, "data": {**e["data"], "nguoi_nhan_thong_bao": recipients}}
            assert model.model_dump(mode="json", exclude_none=True) == expected


def test_event_ids_are_unique_version_4_uuids(sample):
    ids = [e["event_id"] for d in sample for e in d]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)


# ------------------------------------------------------------------------------------------ ordering


def test_sequences_run_from_one_and_times_strictly_increase_per_dossier(sample):
    for d in sample:
        assert [e["sequence"] for e in d] == list(range(1, len(d) + 1))
        times = [datetime.fromisoformat(e["occurred_at"]) for e in d]
        assert all(a < b for a, b in itertools.pairwise(times))
        assert len({e["data"]["ma_ho_so"] for e in d}) == 1
        for e in d:
            emitted = datetime.fromisoformat(e["emitted_at"])
            assert timedelta(0) < emitted - datetime.fromisoformat(e["occurred_at"]) <= timedelta(seconds=30)


def test_interleaved_stream_is_time_ordered_and_keeps_each_dossier_in_order():
    options = GeneratorOptions(dossiers=300, seed=3)
    stream = events(options)
    per_dossier = lifecycles(options)
    assert sorted(e["event_id"] for e in stream) == sorted(e["event_id"] for d in per_dossier for e in d)
    times = [datetime.fromisoformat(e["occurred_at"]) for e in stream]
    assert times == sorted(times)
    seen: dict[str, int] = {}
    for e in stream:
        code = e["data"]["ma_ho_so"]
        assert e["sequence"] == seen.get(code, 0) + 1
        seen[code] = e["sequence"]
    # Dossiers really are interleaved, not published one after the other.
    first_codes = [e["data"]["ma_ho_so"] for e in stream[:50]]
    assert len(set(first_codes)) > 10


# ------------------------------------------------------------------------------------------ determinism


def test_same_options_give_identical_output():
    options = GeneratorOptions(dossiers=200, seed=11, magic_ratio=0.1)
    assert events(options) == events(options)


def test_other_seed_or_namespace_gives_other_event_ids():
    base = lifecycles(GeneratorOptions(dossiers=100, seed=1))
    ids = {e["event_id"] for d in base for e in d}
    other_seed = lifecycles(GeneratorOptions(dossiers=100, seed=2))
    other_ns = lifecycles(GeneratorOptions(dossiers=100, seed=1, namespace="run-2"))
    assert ids.isdisjoint(e["event_id"] for d in other_seed for e in d)
    assert ids.isdisjoint(e["event_id"] for d in other_ns for e in d)
    # The namespace changes only the ids: the traffic itself is the same.
    strip = [[{k: v for k, v in e.items() if k != "event_id"} for e in d] for d in base]
    assert strip == [[{k: v for k, v in e.items() if k != "event_id"} for e in d] for d in other_ns]


def test_a_smaller_run_is_a_prefix_of_a_larger_one():
    small = lifecycles(GeneratorOptions(dossiers=20, seed=5))
    assert lifecycles(GeneratorOptions(dossiers=60, seed=5))[:20] == small


# ------------------------------------------------------------------------------------------ identifiers


def test_dossier_codes_are_unique_well_formed_and_dated_by_first_event(sample):
    codes = [d[0]["data"]["ma_ho_so"] for d in sample]
    assert len(set(codes)) == len(codes)
    for d, code in zip(sample, codes, strict=True):
        m = CODE.fullmatch(code)
        assert m and len(code) <= 50
        assert m.group(1) == datetime.fromisoformat(d[0]["occurred_at"]).strftime("%y%m%d")
        assert code.startswith(d[0]["data"]["don_vi_tiep_nhan"]["ma_dinh_danh"] + "-")
        assert d[0]["data"]["tra_cuu_url"].endswith("mhs=" + code)


def test_province_restriction_keeps_codes_hosts_and_areas_in_that_province():
    d = lifecycles(GeneratorOptions(dossiers=100, province_codes=("22",)))
    for e in (e for x in d for e in x):
        assert e["data"]["ma_dvhc"]["tinh"] == "22"
        assert e["data"]["ma_ho_so"].split("-")[0].endswith(".H49")
        assert e["data"]["tra_cuu_url"].startswith("https://dichvucong.quangninh.gov.vn/")
    merged = lifecycles(GeneratorOptions(dossiers=20, province_codes=("44",)))
    assert all(x[0]["source_system"] == "000.00.00.H46" for x in merged)  # Quảng Trị under Quảng Bình's code


# ------------------------------------------------------------------------------------------ coverage


def test_every_status_but_survey_submitted_appears_in_500_dossiers(sample):
    seen = {e["event_type"] for d in sample for e in d}
    assert seen == {s.value for s in Status} - {Status.SURVEY_SUBMITTED.value}


def test_lifecycles_follow_the_state_machine(sample):
    first = {Status.SUBMITTED.value, Status.RECEIVED.value, Status.REJECTED_AT_INTAKE.value}
    terminal_ends = {"REJECTED_AT_INTAKE", "STOPPED", "RESULT_READY", "RESULT_RETURNED", "SURVEY_INVITED"}
    for d in sample:
        path = [e["event_type"] for e in d]
        assert path[0] in first
        assert path[-1] in terminal_ends
        for a, b in itertools.pairwise(path):
            if b == "DUE_DATE_EXTENDED":
                assert a in {"OVERDUE", "PAID", "IN_PROCESS", "TRANSFERRED", "SUPPLEMENT_RECEIVED",
                             "DUE_DATE_EXTENDED"}  # fmt: skip
            if a == "OVERDUE":
                assert b == "DUE_DATE_EXTENDED"
            if a == "WITHDRAWAL_REQUESTED":
                assert b == "STOPPED"
            if b == "SUPPLEMENT_RECEIVED":
                assert a == "SUPPLEMENT_REQUESTED"
            if b == "PAID":
                assert a == "PAYMENT_REQUESTED"
        if "SUBMITTED" in path:
            assert d[0]["data"]["kenh_thuc_hien"] == 2


def test_second_supplement_and_extension_occur_only_when_repeats_are_allowed():
    def rounds(options):
        out = Counter()
        for d in lifecycles(options):
            for e in d:
                for key in ("bo_sung", "gia_han"):
                    if key in e["data"]:
                        out[key, e["data"][key]["lan_thu"]] += 1
        return out

    allowed = rounds(GeneratorOptions(dossiers=3000, seed=1))
    assert allowed["bo_sung", 2] > 0 and allowed["gia_han", 2] > 0
    forbidden = rounds(GeneratorOptions(dossiers=3000, seed=1, allow_repeats=False))
    assert {k for k in forbidden if k[1] > 1} == set()


def test_transfers_change_the_handling_agency_and_name_it_in_the_label(sample):
    for d in sample:
        for before, e in itertools.pairwise(d):
            if e["event_type"] == "TRANSFERRED":
                assert e["data"]["don_vi_xu_ly"] != before["data"]["don_vi_xu_ly"]
                assert e["data"]["trang_thai_label_vi"].endswith(e["data"]["don_vi_xu_ly"]["ten"])


def test_appointment_moves_with_extensions_and_supplements(sample):
    for d in sample:
        for before, e in itertools.pairwise(d):
            data = e["data"]
            if e["event_type"] == "DUE_DATE_EXTENDED":
                assert data["ngay_hen_tra_truoc"] == before["data"]["ngay_hen_tra"]
                assert data["gia_han"]["ngay_hen_tra_moi"] == data["ngay_hen_tra"]
                assert data["ngay_hen_tra"] > data["ngay_hen_tra_truoc"]
            elif "ngay_hen_tra_truoc" not in data and "ngay_hen_tra" in before["data"]:
                assert data.get("ngay_hen_tra") == before["data"]["ngay_hen_tra"]


def test_step_deadline_never_passes_the_appointment_and_pauses_during_supplement(sample):
    for e in (e for d in sample for e in d):
        data = e["data"]
        if "han_buoc_hien_tai" in data:
            assert data["han_buoc_hien_tai"] <= data["ngay_hen_tra"]
            assert e["event_type"] not in {"SUPPLEMENT_REQUESTED", "RESULT_READY", "STOPPED"}


# ------------------------------------------------------------------------------------------ time


def test_business_events_happen_in_office_hours_on_working_days(sample):
    for e in (e for d in sample for e in d):
        t = datetime.fromisoformat(e["occurred_at"])
        assert t.utcoffset() == timedelta(hours=7)
        assert time(7, 30) <= t.time() <= time(17, 0)
        assert t.weekday() < 5 and t.date() not in catalog.HOLIDAYS
        if "ngay_hen_tra" in e["data"]:
            due = datetime.fromisoformat(e["data"]["ngay_hen_tra"])
            assert time(7, 30) <= due.time() <= time(17, 0) and due.weekday() < 5
            assert due.minute in (0, 30) and due.second == 0


def test_appointment_counts_working_days_from_receipt():
    procedures = {p.ma_tthc: p for p in catalog.PROCEDURES}
    for d in lifecycles(GeneratorOptions(dossiers=300, seed=9)):
        received = next((e for e in d if e["event_type"] == "RECEIVED"), None)
        if received is None:
            continue
        proc = procedures[received["data"]["ma_tthc"]]
        if proc.working_days is None:
            assert "ngay_hen_tra" not in received["data"]
            continue
        start = datetime.fromisoformat(received["occurred_at"])
        due = datetime.fromisoformat(received["data"]["ngay_hen_tra"])
        day, working = start.date(), 0
        while day < due.date():
            day += timedelta(days=1)
            working += day.weekday() < 5 and day not in catalog.HOLIDAYS
        late_intake = start.time() >= time(15, 0)
        assert working in (proc.working_days, proc.working_days + late_intake)


def test_start_outside_office_hours_moves_to_the_next_opening():
    saturday_night = datetime(2025, 8, 16, 20, 0, tzinfo=timezone(timedelta(hours=7)))
    first = events(GeneratorOptions(dossiers=5, start=saturday_night))[0]
    t = datetime.fromisoformat(first["occurred_at"])
    assert t.date() == date(2025, 8, 18) and t.time() >= time(7, 30)


def test_legal_basis_follows_the_decree_in_force_on_the_receipt_day():
    june = lifecycles(GeneratorOptions(dossiers=5, start=datetime(2025, 6, 2, 8, 0)))
    assert {d[0]["legal_basis"] for d in june} == {"ND61_2018"}
    assert {d[0]["legal_basis"] for d in lifecycles(GeneratorOptions(dossiers=5))} == {"ND118_2025"}


# ------------------------------------------------------------------------------------------ recipients


def test_consent_ratio_is_roughly_respected():
    d = lifecycles(GeneratorOptions(dossiers=2000, seed=4, consent_ratio=0.7))
    recipients = list(_recipients(d))
    share = sum(r["dong_y_zalo"] for r in recipients) / len(recipients)
    assert 0.66 < share < 0.74
    owners = sum(r["vai_tro"] == "CHU_HO_SO" for r in recipients)
    assert owners == 2000 and 0.21 < (len(recipients) - owners) / owners < 0.29  # second_recipient_ratio 0.25


def test_magic_numbers_appear_only_when_asked_and_always_with_consent():
    plain = lifecycles(GeneratorOptions(dossiers=2000, seed=4))
    assert not any(normalize_phone(r.get("phone", "")) in MAGIC for r in _recipients(plain, first_only=False))
    magic = lifecycles(GeneratorOptions(dossiers=2000, seed=4, magic_ratio=0.2))
    recipients = list(_recipients(magic))
    hits = [r for r in recipients if r.get("phone") in MAGIC]
    assert 0.17 < len(hits) / len(recipients) < 0.23
    assert all(r["dong_y_zalo"] for r in hits)
    assert {r["phone"] for r in hits} == MAGIC


def test_phones_look_like_vietnamese_mobiles_in_both_spellings(sample):
    phones = [r["phone"] for r in _recipients(sample) if "phone" in r and r["phone"] not in MAGIC]
    assert all(re.fullmatch(r"0[35789]\d{8}|\+84[35789]\d{8}", p) for p in phones)
    plus = sum(p.startswith("+84") for p in phones) / len(phones)
    assert 0.03 < plus < 0.3


def test_phoneless_recipients_consent_and_carry_a_zalo_user_id():
    d = lifecycles(GeneratorOptions(dossiers=2000, seed=8, no_phone_ratio=0.3))
    consenting = [r for r in _recipients(d) if r["dong_y_zalo"]]
    phoneless = [r for r in consenting if "phone" not in r]
    assert 0.25 < len(phoneless) / len(consenting) < 0.35
    assert all(r["zalo_user_id"].isdigit() for r in phoneless)
    assert all("phone" in r for r in _recipients(d) if not r["dong_y_zalo"])


def test_recipients_are_stable_per_dossier_except_a_withdrawn_consent():
    d = lifecycles(GeneratorOptions(dossiers=400, seed=2, withdraw_consent_ratio=1.0))
    withdrawals = 0
    for dossier in d:
        people = [[(r["vai_tro"], r["ho_ten_hien_thi"], r.get("phone")) for r in e["data"]["nguoi_nhan_thong_bao"]]
                  for e in dossier]  # fmt: skip
        assert all(p == people[0] for p in people)
        consents = [tuple(r["dong_y_zalo"] for r in e["data"]["nguoi_nhan_thong_bao"]) for e in dossier]
        changed = [k for k in range(1, len(dossier)) if consents[k] != consents[0]]
        if not changed:
            continue
        withdrawals += 1
        k = changed[0]
        # From the withdrawal on, one recipient has dong_y_zalo False, never back, and the change is dated.
        assert changed == list(range(k, len(dossier)))
        assert all(c == consents[k] for c in consents[k:])
        (i,) = [i for i, (a, b) in enumerate(zip(consents[0], consents[k], strict=True)) if a != b]
        assert consents[0][i] and not consents[k][i]
        assert dossier[k]["data"]["nguoi_nhan_thong_bao"][i]["dong_y_luc"] == dossier[k]["occurred_at"]
    assert withdrawals > 300


# ------------------------------------------------------------------------------------------ catalog


def test_every_name_the_catalog_can_form_fits_the_zns_limit():
    families = [f for f, _ in catalog.FAMILY_NAMES]
    longest_male = max(len(m) for m in catalog.MIDDLE_NAMES_MALE) + max(len(g) for g in catalog.GIVEN_NAMES_MALE)
    longest_female = (
        len("Thị ") + max(len(m) for m in catalog.MIDDLE_NAMES_FEMALE) + max(len(g) for g in catalog.GIVEN_NAMES_FEMALE)
    )
    assert max(len(f) for f in families) + 2 + max(longest_male, longest_female) <= catalog.DISPLAY_NAME_MAX


def test_catalog_codes_have_the_national_shapes():
    assert all(re.fullmatch(r"[12]\.\d{6}", p.ma_tthc) for p in catalog.PROCEDURES)
    assert all(re.fullmatch(r"G\d{2}-[A-Z]{2}\d{2}", p.ma_linh_vuc) for p in catalog.PROCEDURES)
    communes = [c.code for p in catalog.PROVINCES for c in p.communes]
    assert len(set(communes)) == len(communes) and all(re.fullmatch(r"\d{5}", c) for c in communes)
    assert {"22", "44", "01", "79", "38", "48"} <= set(catalog.PROVINCES_BY_CODE)
    assert catalog.PROVINCES_BY_CODE["22"].h_code == "H49" and catalog.PROVINCES_BY_CODE["44"].h_code == "H46"


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="consent_ratio"):
        GeneratorOptions(dossiers=1, consent_ratio=1.5)
    with pytest.raises(ValueError, match="province"):
        GeneratorOptions(dossiers=1, province_codes=("45",))


def test_draw_path_never_repeats_without_permission():
    import random

    rng = random.Random(0)
    for _ in range(5000):
        path = draw_path(rng, online=True, fee=True, has_due_date=True, allow_repeats=False)
        assert path.count(Status.SUPPLEMENT_REQUESTED) <= 1
        assert path.count(Status.DUE_DATE_EXTENDED) <= 1
        no_due = draw_path(rng, online=False, fee=False, has_due_date=False)
        assert Status.OVERDUE not in no_due and Status.PAYMENT_REQUESTED not in no_due


# ------------------------------------------------------------------------------------------ property


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    dossiers=st.integers(0, 15),
    ratios=st.tuples(*[st.floats(0, 1) for _ in range(5)]),
    provinces=st.none() | st.lists(st.sampled_from(sorted(catalog.PROVINCES_BY_CODE)), min_size=1, unique=True),
    namespace=st.text(max_size=10),
    allow_repeats=st.booleans(),
    start=st.none() | st.datetimes(datetime(2024, 1, 1), datetime(2027, 12, 31)),
    per_day=st.integers(1, 5000),
)
def test_any_options_produce_valid_ordered_traffic(
    seed, dossiers, ratios, provinces, namespace, allow_repeats, start, per_day
):
    consent, second, no_phone, magic, withdraw = ratios
    options = GeneratorOptions(
        dossiers=dossiers,
        seed=seed,
        start=start,
        province_codes=tuple(provinces) if provinces else None,
        consent_ratio=consent,
        second_recipient_ratio=second,
        no_phone_ratio=no_phone,
        magic_ratio=magic,
        withdraw_consent_ratio=withdraw,
        namespace=namespace,
        allow_repeats=allow_repeats,
        dossiers_per_day=per_day,
    )
    stream = events(options)
    assert _problems(stream) == []
    last: dict[str, int] = {}
    for e in stream:
        code = e["data"]["ma_ho_so"]
        assert e["sequence"] == last.get(code, 0) + 1
        last[code] = e["sequence"]
    assert len(last) == dossiers
