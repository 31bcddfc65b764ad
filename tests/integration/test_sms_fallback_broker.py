"""SMS fallback on the real broker: a permanent Zalo failure for a consenting phone becomes exactly one SMS.

The real Dispatcher sends to the Zalo simulator (magic numbers fail permanently), writes the failures to
``delivery-failures.v1``; the real SmsFallback consumes them and texts through the SMS simulator. Restarts
(with the same or a fresh consumer group, so the failures are re-read) must not text anyone twice.
"""

from __future__ import annotations

import pytest

from consumers.sms.fallback import SmsFallback
from consumers.sms.providers import ProviderRegistry, SmsProvider
from hoso import metrics
from schemas.notification import Notification
from sms_simulator import SmsSimConfig
from sms_simulator import start as start_sms
from tests.factories import phone_notice
from tests.integration.dispatching import run_until
from tests.integration.test_delivery_broker import OAS, dispatcher_for, publish, sim_config
from zalo_simulator import start as start_zalo

pytestmark = pytest.mark.broker

SMS_KEYS = {"key-qn": ("UBND-QNINH",)}


def note(i: int, phone: str, *, sms: bool | None) -> Notification:
    return phone_notice(
        f"sms{i:05d}",
        subscriber_id=f"p:s{i}",
        phone=phone,
        oa_id=OAS[0],
        template_id="hoso-result-ready",
        text=f"Kính gửi Lan,\nHồ sơ H22-{i} (Cấp phép): Đã có kết quả.\nTra cứu: https://dvc.example.vn/{i}",
        dong_y_sms=sms,
    )


def providers(url: str) -> ProviderRegistry:
    p = SmsProvider(name="qn", url=url, api_key="key-qn", brandname="UBND-QNINH", oa_ids=(OAS[0],))
    return ProviderRegistry(providers={"qn": p})


async def fail_on_zalo(settings, notes: list[Notification]) -> None:
    publish(settings, notes)
    async with await start_zalo(sim_config()) as sim:
        d = dispatcher_for(settings, sim)
        await run_until(d, lambda: d.stats.sent + d.stats.permanent_failures == len(notes), timeout=90)


def sent_metric(oa: str) -> float:
    return metrics.SMS_MESSAGES.labels(oa, "sent")._value.get()


@pytest.fixture
def settings(settings):
    """The shared fixture's settings with an SMS consumer group of this test's own."""
    return settings.replace(sms_group=f"{settings.topic_prefix}-sms")


async def test_a_permanent_zalo_failure_for_a_consenting_phone_becomes_exactly_one_sms(settings):
    notes = [
        note(1, "84999000118", sms=True),  # no Zalo account, consented to SMS: texted
        note(2, "84999000139", sms=None),  # refused the template, never consented to SMS: not texted
        note(3, "84912000003", sms=True),  # Zalo delivers: nothing to fall back from
        note(4, "84999000141", sms=False),  # refused the OA by phone, consent explicitly withheld
    ]
    await fail_on_zalo(settings, notes)
    before = sent_metric(OAS[0])
    async with await start_sms(SmsSimConfig(keys=SMS_KEYS, fail_first=2)) as sms:
        first = SmsFallback(settings, providers=providers(sms.url), backoff_s=(0.1,))
        await run_until(first, lambda: first.stats.handled == 3, timeout=90)
        assert first.stats.outcomes == {"sent": 1, "no_consent": 2}
        assert sms.state.requests == 3, "two 503s were retried, then accepted"

        fresh = SmsFallback(
            settings.replace(sms_group=settings.sms_group + "-fresh"), providers=providers(sms.url), backoff_s=(0.1,)
        )
        await run_until(fresh, lambda: fresh.stats.handled == 3, timeout=90)
        assert fresh.stats.outcomes == {"already_sent": 1, "no_consent": 2}
        [text] = sms.state.messages
    assert text["phone"] == "84999000118" and text["request_id"] == "sms00001"
    assert text["message"] == "Ho so H22-1 (Cap phep): Da co ket qua.\nTra cuu: https://dvc.example.vn/1"
    assert sms.state.stats()["repeated_request_ids"] == 0
    assert sent_metric(OAS[0]) == before + 1


async def test_a_text_interrupted_by_a_provider_outage_is_sent_once_after_a_restart(settings):
    await fail_on_zalo(settings, [note(7, "84999000118", sms=True)])
    async with await start_sms(SmsSimConfig(keys=SMS_KEYS, fail_first=1_000)) as sms:
        down = SmsFallback(settings, providers=providers(sms.url), backoff_s=(0.1,))
        await run_until(down, lambda: sms.state.requests >= 3, timeout=90)
        assert down.stats.handled == 0 and sms.state.messages == [], "stopped mid-retry: nothing finished"

        sms.state.fail_next = 0
        up = SmsFallback(settings, providers=providers(sms.url), backoff_s=(0.1,))
        await run_until(up, lambda: up.stats.handled == 1)
        assert up.stats.outcomes == {"sent": 1}
        assert [m["phone"] for m in sms.state.messages] == ["84999000118"]


async def test_a_provider_that_keeps_failing_is_given_up_after_the_configured_attempts(settings):
    await fail_on_zalo(settings, [note(8, "84999000118", sms=True)])
    async with await start_sms(SmsSimConfig(keys=SMS_KEYS, fail_first=1_000)) as sms:
        f = SmsFallback(settings.replace(sms_max_attempts=3), providers=providers(sms.url), backoff_s=(0.05,))
        await run_until(f, lambda: f.stats.handled == 1)
        assert f.stats.outcomes == {"gave_up": 1} and sms.state.requests == 3


async def test_a_failure_older_than_the_max_age_is_not_texted(settings):
    import time

    import orjson
    from kafka import KafkaProducer

    from hoso.kafka.admin import create_topics
    from hoso.kafka.clients import kafka_python

    create_topics(kafka_python(settings), settings.topics)
    n = note(9, "84999000118", sms=True)
    failure = {
        "notification": n.model_dump(mode="json", exclude_none=True),
        "outcome": "permanent_failure",
        "code": -118,
        "reason": "no Zalo account",
    }
    producer = KafkaProducer(**kafka_python(settings))
    two_days_ago = int((time.time() - 2 * 86400) * 1000)
    producer.send(
        settings.topics.delivery_failures.name, key=b"p:s9", value=orjson.dumps(failure), timestamp_ms=two_days_ago
    ).get(10)
    producer.send(settings.topics.delivery_failures.name, key=b"p:s9", value=orjson.dumps(failure)).get(10)
    producer.close()
    async with await start_sms(SmsSimConfig(keys=SMS_KEYS)) as sms:
        f = SmsFallback(settings, providers=providers(sms.url), backoff_s=(0.1,))
        await run_until(f, lambda: f.stats.handled == 2)
        assert f.stats.outcomes == {"stale": 1, "sent": 1}
        assert len(sms.state.messages) == 1
