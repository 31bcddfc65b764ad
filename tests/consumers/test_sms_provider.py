"""The brandname-SMS provider contract, spoken to the SMS simulator over HTTP, and the provider file."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from consumers.sms.providers import SendOutcome, SmsProvider, load_providers
from hoso.errors import ConfigurationError
from sms_simulator import SmsSimConfig, start

CONFIG = SmsSimConfig(keys={"key-qn": ("UBND-QNINH",)})


def provider(url: str, **kw) -> SmsProvider:
    return SmsProvider(**{"name": "qn", "url": url, "api_key": "key-qn", "brandname": "UBND-QNINH", **kw})


async def send(p: SmsProvider, phone: str = "84912345678", message: str = "Ho so X da co ket qua"):
    async with httpx.AsyncClient() as client:
        return await p.send(client, oa_id="oa-qn", phone=phone, message=message, request_id="t1")


async def test_an_accepted_text_reaches_the_handset_with_its_brandname_and_request_id():
    async with await start(CONFIG) as sim:
        result = await send(provider(sim.url))
        assert result.outcome is SendOutcome.ACCEPTED and result.message_id
        [got] = sim.state.messages
    assert (got["phone"], got["brandname"], got["request_id"]) == ("84912345678", "UBND-QNINH", "t1")


async def test_refusals_for_the_number_are_permanent_and_deliver_nothing():
    async with await start(CONFIG) as sim:
        dnd = await send(provider(sim.url), phone="84999111012")
        bad = await send(provider(sim.url), phone="0912345678")
        accents = await send(provider(sim.url), message="Hồ sơ đã có kết quả")
        assert sim.state.messages == []
    assert [(r.outcome, r.code) for r in (dnd, bad, accents)] == [
        (SendOutcome.PERMANENT, "12"),
        (SendOutcome.PERMANENT, "11"),
        (SendOutcome.PERMANENT, "14"),
    ]


async def test_outages_are_transient_and_a_wrong_key_or_brandname_is_configuration():
    async with await start(SmsSimConfig(keys=CONFIG.keys, fail_first=1)) as sim:
        outage = await send(provider(sim.url))
        wrong_key = await send(provider(sim.url, api_key="nope"))
        wrong_brand = await send(provider(sim.url, brandname="OTHER"))
    async with httpx.AsyncClient() as client:
        down = await provider("http://127.0.0.1:9").send(
            client, oa_id="oa-qn", phone="84912345678", message="x", request_id="t"
        )
    assert (outage.outcome, outage.code) == (SendOutcome.TRANSIENT, "503")
    assert (down.outcome, down.code) == (SendOutcome.TRANSIENT, "network")
    assert wrong_key.outcome is SendOutcome.CONFIG and wrong_brand.outcome is SendOutcome.CONFIG


def test_the_provider_file_routes_oas_and_keeps_keys_out_of_reprs(tmp_path: Path):
    path = tmp_path / "sms.json"
    path.write_bytes(
        orjson.dumps(
            {
                "providers": [
                    {
                        "name": "qn",
                        "url": "https://sms.qn",
                        "api_key": "secret-1",
                        "brandname": "UBND-QNINH",
                        "oa_ids": ["oa-qn"],
                    },
                    {
                        "name": "qt",
                        "url": "https://sms.qt",
                        "api_key": "secret-2",
                        "brandname": "UBND-QTRI",
                        "oa_ids": ["oa-qt"],
                        "max_chars": 160,
                        "unaccented": False,
                    },
                ],
                "default": "qn",
            }
        )
    )
    registry = load_providers(path)
    assert registry.for_oa("oa-qt").brandname == "UBND-QTRI"
    assert registry.for_oa("oa-other").name == "qn"
    assert "secret" not in repr(registry)


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b"{", "HOSO_SMS_CONFIG"),
        (b"{}", "expected"),
        (b'{"providers": [{"name": "a", "url": "https://x"}]}', "missing ['api_key', 'brandname']"),
        (b'{"providers": [{"name": "a", "url": "ftp://x", "api_key": "k", "brandname": "B"}]}', "http(s)"),
        (
            b'{"providers": [{"name": "a", "url": "https://x", "api_key": "k", "brandname": "B", "oa_ids": "oa"}]}',
            "list",
        ),
        (
            b'{"providers": [{"name": "a", "url": "https://x", "api_key": "k", "brandname": "B", "max_chars": "9"}]}',
            "max_chars",
        ),
        (
            b'{"providers": [{"name": "a", "url": "https://x", "api_key": "k", "brandname": "B"}], "default": "b"}',
            "default provider",
        ),
    ],
)
def test_a_bad_provider_file_is_refused_with_the_reason(tmp_path: Path, content: bytes, complaint: str):
    path = tmp_path / "sms.json"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=complaint.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        load_providers(path)


def test_the_sms_fallback_is_off_unless_providers_are_configured(monkeypatch, capsys):
    from hosoctl.cli import main

    monkeypatch.delenv("HOSO_SMS_CONFIG", raising=False)
    assert main(["sms"]) == 3
    assert "SMS fallback is off" in capsys.readouterr().err
