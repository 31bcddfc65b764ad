"""A real worker whose event loop is blocked turns unhealthy on /healthz within the probe period.

The worker runs as a process against the real broker through ``hoso worker``'s own entry point, with one
addition made from outside the production code: a task on its Faust app that, when a trigger file appears,
makes a synchronous 30 s call on the event loop (what a blocking client call or a CPU-bound loop does). The
metrics thread still answers, so the probe gets a clear 503 instead of a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
import yaml

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hosoctl.processes import free_port

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

WORKER_MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base" / "worker.yaml"
[_STATEFULSET] = [d for d in yaml.safe_load_all(WORKER_MANIFEST.read_text()) if d and d["kind"] == "StatefulSet"]
LIVENESS_PERIOD_S = _STATEFULSET["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["periodSeconds"]
LOOP_STALL_S = 2.0

WORKER_WITH_A_FREEZE_SWITCH = """
import asyncio, sys, time
from pathlib import Path

import streams.app as streams_app
from hosoctl import cli

trigger = Path(sys.argv[1])
build = streams_app.build


def build_with_switch(settings, **kwargs):
    ctx = build(settings, **kwargs)

    async def freeze_when_asked():
        while not trigger.exists():
            await asyncio.sleep(0.1)
        time.sleep(30)  # blocks the event loop: nothing else of this worker runs meanwhile

    ctx.app.task(freeze_when_asked)
    return ctx


streams_app.build = build_with_switch
sys.exit(cli.main(["worker"]))
"""


def status(url: str) -> tuple[int, dict]:
    try:
        r = httpx.get(url, timeout=3)
    except httpx.TransportError:
        return 0, {}
    return r.status_code, r.json() if r.headers.get("content-type") == "application/json" else {}


def wait_for(url: str, code: int, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        if status(url)[0] == code:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered {code}; last {status(url)}\n{log.read_text(errors='replace')[-3000:]}")


def test_blocking_the_worker_event_loop_fails_liveness_within_the_probe_period(settings, tmp_path: Path):
    create_topics(kafka_python(settings), settings.topics)
    port = free_port()
    env = {
        **os.environ,
        **settings.replace(metrics_port=port, health_loop_stall_s=LOOP_STALL_S, log_format="json").to_env(),
    }
    trigger = tmp_path / "freeze"
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER_WITH_A_FREEZE_SWITCH, str(trigger)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", 200, 180, proc, log)
        wait_for(f"{base}/readyz", 200, 180, proc, log)  # in its group, tables restored
        metrics_text = httpx.get(f"{base}/metrics").text
        assert "hoso_consumer_lag_records" in metrics_text or "hoso_dossier_events_total" in metrics_text
        assert "hoso_gateway_publish_seconds" not in metrics_text and "hoso_dispatcher_in_flight" not in metrics_text
        assert "_created" not in metrics_text

        trigger.touch()
        took = wait_for(f"{base}/healthz", 503, LIVENESS_PERIOD_S, proc, log)
        code, body = status(f"{base}/healthz")
        assert code == 503 and "event loop blocked" in body["reasons"][0], body
        assert status(f"{base}/readyz")[0] == 503
        print(f"worker unhealthy {took:.1f}s after its loop was blocked (stall limit {LOOP_STALL_S}s)")
        assert took < LIVENESS_PERIOD_S
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert lines, "the worker logged nothing"
    for line in lines:  # HOSO_LOG_FORMAT=json: Faust's own lines too, one object each
        assert line.startswith("{") and orjson.loads(line)["level"], line
