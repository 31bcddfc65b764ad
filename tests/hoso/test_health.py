"""Health of a long-running role: judged from its event loop and its consumer, answered even while stuck."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from hoso import metrics
from hoso.health import Health
from hosoctl.processes import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_process_whose_loop_never_beat_is_starting_not_alive():
    health = Health("worker", clock=Clock())
    verdict = health.liveness()
    assert not verdict.ok and verdict.status == 503
    assert "starting" in verdict.reasons[0]


def test_the_loop_is_alive_while_it_beats_and_dead_once_the_beat_is_older_than_the_limit():
    clock = Clock()
    health = Health("gateway", loop_stall_s=5.0, clock=clock)
    health.beat()
    clock.now += 4.9
    assert health.liveness().ok
    clock.now += 0.2
    verdict = health.liveness()
    assert not verdict.ok
    assert verdict.reasons == ("event loop blocked for 5.1s (limit 5s)",)
    health.beat()
    assert health.liveness().ok


def test_a_consumer_whose_fetch_loop_stopped_is_not_alive_even_if_its_loop_beats():
    clock = Clock()
    health = Health("dispatcher", loop_stall_s=5.0, poll_stall_s=30.0, consumer=True, clock=clock)
    health.beat()
    health.polled()
    health.assigned(3)
    assert health.liveness().ok and health.readiness().ok
    clock.now += 31
    health.beat()
    verdict = health.liveness()
    assert not verdict.ok
    assert "has not polled for 31.0s" in verdict.reasons[0]
    assert verdict.body()["partitions"] == 3


def test_a_consumer_is_ready_only_with_an_assignment_and_a_first_poll_and_unready_while_rebalancing():
    clock = Clock()
    health = Health("dispatcher", consumer=True, clock=clock)
    health.beat()
    assert not health.readiness().ok
    health.polled()
    assert "no assignment" in " ".join(health.readiness().reasons)
    health.assigned(0)  # more members than partitions: nothing to do, but in the group and ready
    assert health.readiness().ok
    health.revoked()
    assert not health.readiness().ok
    assert health.liveness().ok  # a rebalance is no reason to restart the process


def test_a_long_rebalance_holding_the_fetch_loop_is_unready_but_alive():
    clock = Clock()
    health = Health("dispatcher", poll_stall_s=30.0, consumer=True, clock=clock)
    health.beat()
    health.polled()
    health.assigned(4)
    health.revoked()  # the new assignment loads the sent-log before the fetch loop runs again
    clock.now += 120
    health.beat()
    assert health.liveness().ok
    assert not health.readiness().ok
    health.assigned(4)
    assert health.liveness().ok
    clock.now += 31
    health.beat()
    assert not health.liveness().ok  # assigned, and no poll since: stuck


def test_readiness_waits_for_every_declared_condition_and_a_failing_check_means_not_ready():
    clock = Clock()
    health = Health("worker", clock=clock)
    health.beat()
    restored = {"done": False}
    health.require("tables restored", lambda: restored["done"])
    health.require("broken check", lambda: 1 / 0)
    reasons = health.readiness().reasons
    assert "not yet: tables restored" in reasons
    assert "not yet: broken check (ZeroDivisionError)" in reasons
    restored["done"] = True
    health.conditions.pop("broken check")
    assert health.readiness().ok


@pytest.fixture
def loop_in_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def wait_for_status(url: str, status: int, timeout: float) -> float:
    """Seconds until ``url`` answers ``status`` (fails after ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(url, timeout=2).status_code == status:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} within {timeout}s")


def test_the_probe_server_answers_503_while_the_event_loop_is_blocked_and_200_once_it_runs_again(loop_in_thread):
    health = Health("gateway", loop_stall_s=1.0)
    health.require("listening", lambda: True)
    port = free_port()
    server = metrics.serve(port, "gateway", health)
    assert server is not None
    try:
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop_in_thread).result(5)
        loop_in_thread.call_soon_threadsafe(health.start_heartbeat)
        base = f"http://127.0.0.1:{port}"
        wait_for_status(f"{base}/healthz", 200, 10)
        wait_for_status(f"{base}/readyz", 200, 10)

        # A synchronous call on the loop (a blocking client, a CPU-bound loop): nothing else runs meanwhile.
        loop_in_thread.call_soon_threadsafe(time.sleep, 6)
        took = wait_for_status(f"{base}/healthz", 503, 10)
        assert took < 1.0 + 2.0  # the stall limit plus a beat and a probe, well inside a 10 s probe period
        body = httpx.get(f"{base}/healthz").json()
        assert body["status"] == "unhealthy" and "event loop blocked" in body["reasons"][0]
        assert httpx.get(f"{base}/readyz").status_code == 503

        wait_for_status(f"{base}/healthz", 200, 15)  # the loop runs again: healthy without a restart
    finally:
        server.shutdown()
        server.server_close()


def test_each_role_serves_only_its_own_families_and_no_created_series():
    port = free_port()
    server = metrics.serve(port, "dispatcher")
    assert server is not None
    try:
        metrics.DELIVERIES.labels("oa-1", "sent").inc()
        metrics.GATEWAY_REQUESTS.labels("/v1/events", "202").inc()
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        server.shutdown()
        server.server_close()
    assert 'hoso_deliveries_total{oa="oa-1",outcome="sent"}' in text
    assert "hoso_dispatcher_in_flight_limit" in text
    assert "hoso_gateway_" not in text and "hoso_webhook_" not in text and "hoso_dossier_events" not in text
    assert "_created" not in text
    assert "process_cpu_seconds_total" in text or "python_info" in text


def test_every_declared_family_belongs_to_a_role():
    assert metrics.unassigned_families() == []
    for role, families in metrics.ROLE_FAMILIES.items():
        assert families, role


def test_an_unknown_role_is_refused():
    with pytest.raises(ValueError, match="unknown role"):
        metrics.role_registry("simulator")
