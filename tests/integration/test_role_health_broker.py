"""Every long-running role, started as `hoso <role>` against the real broker, answers /healthz and /readyz on its
metrics port and serves only its own metric families there."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hosoctl.processes import Process, free_port

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

OWN_FAMILY = {
    "dispatcher": "hoso_dispatcher_in_flight_limit",
    "gateway": "hoso_gateway_publish_seconds",
    "webhook": "hoso_webhook_requests_total",
}


def wait_ready(process: Process, port: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        assert process.alive, process.tail()
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=3)
            last = answer.json()
            if answer.status_code == 200:
                return answer.json()
        except httpx.TransportError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{process.name} never ready: {last}\n{process.tail()}")


def test_each_role_reports_ready_and_serves_only_its_own_families(settings, tmp_path: Path):
    create_topics(kafka_python(settings), settings.topics)
    processes = []
    try:
        ports = {}
        for role in OWN_FAMILY:
            ports[role] = free_port()
            env = settings.replace(
                metrics_port=ports[role], gateway_port=free_port(), webhook_port=free_port()
            ).to_env()
            processes.append(Process(role, [role], env, tmp_path / f"{role}.log").start())
        for process in processes:
            port = ports[process.name]
            body = wait_ready(process, port)
            assert body["status"] == "ok" and body["role"] == process.name
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            assert OWN_FAMILY[process.name] in text, process.name
            for other, family in OWN_FAMILY.items():
                if other != process.name:
                    assert family not in text, f"{process.name} exports {family} of the {other}"
            assert "_created" not in text
        dispatcher = httpx.get(f"http://127.0.0.1:{ports['dispatcher']}/readyz").json()
        assert dispatcher["partitions"] is not None and dispatcher["poll_age_s"] < settings.health_poll_stall_s
    finally:
        for process in processes:
            process.stop()


# issue 20: the SMS fallback and the rating sync-back are long-running roles too (deployed like the others).
ISSUE_20_ROLES = {
    "sms": (["sms"], "hoso_sms_messages_total"),
    "ratings-sync": (["ratings", "sync"], "hoso_rating_syncs_total"),
}


def test_the_sms_fallback_and_the_rating_sync_report_ready_like_the_other_consumers(settings, tmp_path: Path):
    create_topics(kafka_python(settings), settings.topics)
    providers = tmp_path / "sms.json"
    providers.write_text(
        '{"providers": [{"name": "qn", "url": "http://127.0.0.1:9/api", "api_key": "k", "brandname": "UBND-QNINH",'
        ' "oa_ids": ["hoso-demo-oa"]}], "default": "qn"}'
    )
    processes = []
    try:
        ports = {}
        for role, (command, _) in ISSUE_20_ROLES.items():
            ports[role] = free_port()
            env = settings.replace(
                metrics_port=ports[role],
                sms_config=str(providers),
                sms_group=f"{settings.topic_prefix}-sms",
                ratings_sync_group=f"{settings.topic_prefix}-ratings",
            ).to_env()
            processes.append(Process(role, command, env, tmp_path / f"{role}.log").start())
        for process in processes:
            port = ports[process.name]
            body = wait_ready(process, port)
            assert body["status"] == "ok" and body["role"] == process.name
            assert body["partitions"] is not None and body["poll_age_s"] < settings.health_poll_stall_s
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            assert ISSUE_20_ROLES[process.name][1] in text, process.name
            assert OWN_FAMILY["dispatcher"] not in text
    finally:
        for process in processes:
            process.stop()
