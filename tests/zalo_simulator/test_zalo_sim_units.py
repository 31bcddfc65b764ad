"""Pure units: fault-spec grammar, durations, phones, message ids, config loading, signatures."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zalo_simulator import MAGIC_NUMBERS, FaultSpec, SimulatorConfig, load_config, receipt_signature
from zalo_simulator.durations import parse_duration
from zalo_simulator.faults import FaultInjector, FaultKind
from zalo_simulator.ids import MessageIdCodec
from zalo_simulator.magic import magic_phone
from zalo_simulator.phones import normalise_phone


def test_fault_spec_parses_the_documented_example():
    spec = FaultSpec.parse("5xx=0.05,timeout=0.02,rate_limit=0.05,token_ttl=20s,latency=2ms,quota=500,unknown=0.01")
    assert (spec.http_5xx, spec.timeout, spec.rate_limit, spec.unknown) == (0.05, 0.02, 0.05, 0.01)
    assert spec.token_ttl_s == 20.0
    assert spec.latency_s == pytest.approx(0.002) and not spec.latency_fixed
    assert spec.quota == 500
    assert spec.timeout_hold_s == 15.0


def test_fault_spec_other_forms():
    spec = FaultSpec.parse(" latency = fixed:5ms , timeout_hold=2m, 5xx=5% ")
    assert spec.latency_fixed and spec.latency_s == pytest.approx(0.005)
    assert spec.timeout_hold_s == 120.0
    assert spec.http_5xx == pytest.approx(0.05)
    assert FaultSpec.parse("") == FaultSpec() == FaultSpec.parse("none")


@pytest.mark.parametrize(
    ("spec", "bad_part"),
    [
        ("5xx=0.1,nonsense=1", "nonsense=1"),
        ("timeout=abc", "timeout=abc"),
        ("rate_limit=1.5", "rate_limit=1.5"),
        ("latency=slow:5ms", "latency=slow:5ms"),
        ("token_ttl=20parsecs", "token_ttl=20parsecs"),
        ("quota=-1", "quota=-1"),
        ("5xx", "5xx"),
        ("5xx=0.6,unknown=0.6", "5xx=0.6,unknown=0.6"),
    ],
)
def test_bad_fault_spec_raises_value_error_naming_the_part(spec, bad_part):
    with pytest.raises(ValueError, match=re.escape(bad_part)):
        FaultSpec.parse(spec)


probabilities = st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.2])


@given(
    p5=probabilities,
    pt=probabilities,
    pr=probabilities,
    pu=probabilities,
    ttl=st.none() | st.floats(min_value=0.001, max_value=1e6),
    latency=st.floats(min_value=0, max_value=10),
    fixed=st.booleans(),
    quota=st.none() | st.integers(min_value=0, max_value=10**9),
    hold=st.floats(min_value=0, max_value=100),
)
def test_fault_spec_round_trips_through_its_string_form(p5, pt, pr, pu, ttl, latency, fixed, quota, hold):
    spec = FaultSpec(p5, pt, pr, pu, ttl, latency, fixed, quota, hold)
    assert FaultSpec.parse(spec.to_spec()) == spec


def test_injector_rates_match_probabilities_over_many_draws():
    spec = FaultSpec.parse("5xx=0.05,timeout=0.02,rate_limit=0.05,unknown=0.01")
    injector = FaultInjector(spec, seed=3)
    n = 200_000
    for _ in range(n):
        injector.draw()
    for kind, p in [("5xx", 0.05), ("timeout", 0.02), ("rate_limit", 0.05), ("unknown", 0.01)]:
        sd = (n * p * (1 - p)) ** 0.5
        assert abs(injector.counts[kind] - n * p) < 5 * sd, kind


def test_injector_exponential_latency_has_the_configured_mean():
    injector = FaultInjector(FaultSpec(latency_s=0.002), seed=5)
    mean = sum(injector.latency() for _ in range(50_000)) / 50_000
    assert mean == pytest.approx(0.002, rel=0.05)


def test_injector_is_reproducible_with_a_seed():
    spec = FaultSpec.parse("5xx=0.3,rate_limit=0.3")
    a, b = FaultInjector(spec, seed=11), FaultInjector(spec, seed=11)
    seq_a = [a.draw() for _ in range(500)]
    assert seq_a == [b.draw() for _ in range(500)]
    assert FaultKind.HTTP_5XX in seq_a and None in seq_a


@pytest.mark.parametrize(("text", "seconds"), [("20s", 20), ("500ms", 0.5), ("2m", 120), ("1h", 3600), ("7", 7)])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "-1s", "inf", "nan", "5 parsecs"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@given(st.sampled_from("35789"), st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_every_accepted_phone_form_normalises_to_the_84_form(prefix, rest):
    canonical = f"84{prefix}{rest}"
    for form in (canonical, "+" + canonical, "0" + canonical[2:], canonical[2:]):
        assert normalise_phone(form) == canonical


@given(st.text(max_size=14))
def test_phone_normalisation_never_returns_a_non_mobile(raw):
    out = normalise_phone(raw)
    assert out is None or re.fullmatch(r"84[35789]\d{8}", out)


@given(st.integers(min_value=0, max_value=10**12))
def test_message_ids_decode_back_to_their_sequence_number(seq):
    codec = MessageIdCodec(random.Random(1))
    zbs, oa = codec.zbs_id(seq), codec.oa_id(seq)
    assert re.fullmatch(r"[0-9a-f]{20}", zbs) and re.fullmatch(r"[0-9a-f]{32}", oa)
    assert codec.decode(zbs) == seq and codec.decode(oa) == seq


def test_message_ids_from_another_codec_do_not_resolve():
    a, b = MessageIdCodec(random.Random(1)), MessageIdCodec(random.Random(2))
    assert sum(b.decode(a.zbs_id(i)) is not None for i in range(1000)) == 0
    assert len({a.zbs_id(i) for i in range(10_000)}) == 10_000
    for junk in ["", "xyz", "+" * 20, "0_" * 10, "g" * 20]:
        assert a.decode(junk) is None


def test_magic_phone_lookup():
    assert magic_phone(-118) == "84999000118"
    assert all(normalise_phone(p) == p for p in MAGIC_NUMBERS)
    assert sorted(MAGIC_NUMBERS.values()) == [-141, -140, -139, -119, -118, -114, -110, -108]
    with pytest.raises(KeyError):
        magic_phone(-124)


def test_receipt_signature_is_plain_sha256_of_the_concatenation():
    body = b'{"timestamp":"1602560967477"}'
    want = hashlib.sha256(b"app" + body + b"1602560967477" + b"secret").hexdigest()
    assert receipt_signature("app", body, "1602560967477", "secret") == want


def test_config_loads_from_json(tmp_path: Path):
    path = tmp_path / "sim.json"
    path.write_text(
        '{"oas": [{"oa_id": "oa1", "app_id": "app1", "secret_key": "s", "oa_secret_key": "os",'
        ' "access_token": "at", "refresh_token": "rt", "daily_quota": 42}],'
        ' "faults": "5xx=0.1,latency=fixed:1ms", "night_ban": true, "seed": 9, "webhook_url": "http://x/hook"}'
    )
    config = load_config(path)
    assert config.oas[0].daily_quota == 42 and config.oas[0].oa_id == "oa1"
    assert config.faults.http_5xx == 0.1 and config.faults.latency_fixed
    assert config.night_ban and config.seed == 9 and config.webhook_url == "http://x/hook"
    path.write_text('{"oas": [], "colour": "blue"}')
    with pytest.raises(ValueError, match="colour"):
        load_config(path)


def test_default_config_serves_the_demo_oa():
    config = SimulatorConfig()
    (oa,) = config.oas
    assert (oa.oa_id, oa.app_id, oa.secret_key, oa.oa_secret_key) == (
        "hoso-demo-oa",
        "hoso-demo-app",
        "hoso-demo-app-secret",
        "hoso-demo-oa-secret",
    )
    assert (oa.access_token, oa.refresh_token, oa.daily_quota) == (
        "sim-demo-access-token",
        "sim-demo-refresh-token",
        1_000_000,
    )
    assert config.access_token_ttl_s == 90000 and config.night_ban is False
    assert config.faults == FaultSpec()
