"""``hoso demo``: the whole pipeline, live, on synthetic dossiers, reconciled against what Zalo received.

Every run gets its own topic prefix, Faust app id and state folder, so runs never see each other's
records, even on a shared cluster; its topics are deleted afterwards. What was expected is computed
from the published events (consent, followers, which statuses are announced) and compared, by tracking
id, with what the Zalo simulator accepted: nothing is taken from the pipeline's own counters.
"""

from __future__ import annotations

import random
import secrets
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson

from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from hosoctl.reconcile import (
    Expectation,
    count_topic,
    expected_notifications,
    failure_codes,
    malformed_records,
    recorded_failures,
    scrape_metrics,
    sim_stats,
    tracking_counts,
)
from hosoctl.stack import Stack
from schemas.common import now_vn


@dataclass(frozen=True)
class DemoOptions:
    """What the demo runs."""

    dossiers: int = 50
    seed: int | None = None
    json: bool = False
    keep_running: bool = False
    zalo_faults: str = ""
    invalid: int = 2
    timeout_s: float | None = None
    magic_ratio: float | None = None
    quiet_hours: bool = False


def run_demo(settings: Settings, options: DemoOptions) -> int:
    """Run the demo; exit code 0 only when nothing expected was lost."""
    from hosoctl.synthetic import GeneratorOptions, events
    from producers.publisher import Publisher

    out = sys.stdout
    say = (lambda msg: print(f"[demo] {msg}", file=sys.stderr)) if options.json else (lambda msg: print(msg))
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1_000_000)
    run_id = secrets.token_hex(3)
    run_dir = settings.kafka_home.parent / "demo" / run_id
    scoped = settings.replace(
        topic_prefix=f"{settings.topic_prefix}-demo-{run_id}",
        app_id=f"hoso-demo-{run_id}",
        dispatcher_group=f"hoso-demo-{run_id}-dispatcher",
        state_dir=run_dir / "state",
        # At night every dossier message would wait for 07:00, past the end of the demo: the demo shows the
        # flow, so quiet hours are off unless asked for (emergency alerts ignore them anyway).
        quiet_hours=settings.quiet_hours if options.quiet_hours else "",
    )
    started = time.monotonic()
    magic_ratio = options.magic_ratio if options.magic_ratio is not None else (0.02 if options.zalo_faults else 0.0)
    stack = Stack(scoped, run_dir, options.zalo_faults)
    say(f"run {run_id}: {options.dossiers} dossiers, seed {seed}")
    try:
        stack.start(say)
        evts = events(
            # Dossiers lodged over the past weeks, replayed now; ZBS recipients only (OA text carries no
            # tracking id, so the simulator could not reconcile it).
            GeneratorOptions(
                dossiers=options.dossiers,
                seed=seed,
                start=now_vn() - timedelta(days=75),  # every lifecycle (≤ ~45 days) is over by now
                namespace=run_id,
                no_phone_ratio=0.0,
                magic_ratio=magic_ratio,
            )
        )
        expectation = expected_notifications(evts, scoped.pseudonym_key, settings=scoped)
        with Publisher(kafka_python(scoped), stack.topics.dossier_events.name) as publisher:
            report = publisher.publish_many(evts)
            if options.invalid:
                producer = publisher._producer  # the same durable producer, bypassing validation on purpose
                for key, value in malformed_records(options.invalid, evts[0]["data"]["ma_ho_so"]):
                    producer.send(stack.topics.dossier_events.name, key=key, value=value)
                producer.flush()
        say(
            f"published {report.published} events (+{options.invalid} malformed); "
            f"expecting {len(expectation.tracking_ids)} deliveries and {len(expectation.permanent)} permanent "
            "failures (magic numbers)"
        )
        timeout = options.timeout_s or 90 + options.dossiers * 0.2 + (120 if options.zalo_faults else 0)
        counts, failures = _wait_for_delivery(stack, expectation, timeout, say)
        delivered = expectation.tracking_ids & counts.keys()
        recorded = {t for t, f in failures.items() if t in expectation.permanent and f.get("reason")}
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
        dispatcher_metrics = scrape_metrics(stack.metrics_ports.get("dispatcher"))
        summary = {
            "run_id": run_id,
            "seed": seed,
            "dossiers": options.dossiers,
            "events_published": report.published,
            "notifications_expected": len(expectation.tracking_ids) + len(expectation.permanent),
            "notifications_delivered": len(delivered),
            "permanent_failures": len(recorded),
            "duplicates": duplicates,
            "unexpected": len(counts.keys() - expectation.tracking_ids),
            "lost": len(expectation.tracking_ids - delivered) + len(expectation.permanent - recorded),
            "invalid": count_topic(scoped, stack.topics.dossier_events_invalid.name),
            "token_refreshes": sim_stats(stack.simulator_url)["token_refreshes"]["total"],
            "retried": int(
                dispatcher_metrics.get("hoso_delivery_retries_total", 0)
                + dispatcher_metrics.get("hoso_dispatcher_parked_total", 0)
            ),
            "dead_lettered": count_topic(scoped, stack.topics.notifications_dead.name),
            "failure_codes": failure_codes(failures),
            "elapsed_s": round(time.monotonic() - started, 2),
        }
        if not options.json:
            _show_samples(stack.simulator_url, say)
        ok = summary["lost"] == 0
        if options.json:
            out.write(orjson.dumps(summary).decode() + "\n")
            out.flush()
        else:
            say("")
            for k, v in summary.items():
                say(f"  {k:24} {v}")
            say("OK: every expected notification reached Zalo." if ok else "FAILED: notifications were lost.")
        if options.keep_running:
            _hold(stack, say)
        return 0 if ok else 1
    finally:
        stack.stop(delete_topics=True)
        if not options.keep_running:
            shutil.rmtree(run_dir / "state", ignore_errors=True)


def _wait_for_delivery(
    stack: Stack, exp: Expectation, timeout: float, say: Any
) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    """Poll until every deliverable id reached the simulator and every magic one is recorded as failed."""
    deadline = time.monotonic() + timeout
    last_shown = 0.0
    counts: dict[str, int] = {}
    failures: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=stack.simulator_url, timeout=10) as http:
        while True:
            stack.check_alive()
            counts = tracking_counts(http)
            got = len(exp.tracking_ids & counts.keys())
            now = time.monotonic()
            if got >= len(exp.tracking_ids):
                failures = (
                    recorded_failures(stack.settings, stack.topics.delivery_failures.name) if exp.permanent else {}
                )
                if exp.permanent <= failures.keys():
                    say(f"delivered {got}/{len(exp.tracking_ids)}, {len(exp.permanent)} permanent failures recorded")
                    time.sleep(1.0)  # let any straggling duplicate arrive before counting
                    return tracking_counts(http), failures
            if now - last_shown >= 2:
                say(f"delivered {got}/{len(exp.tracking_ids)}")
                last_shown = now
            if now > deadline:
                say(f"timed out after {timeout:.0f}s")
                return counts, recorded_failures(stack.settings, stack.topics.delivery_failures.name)
            time.sleep(0.25)


def _show_samples(url: str, say: Any, count: int = 3) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        messages = orjson.loads(http.get("/_sim/messages", params={"limit": 200}).content)["messages"]
    say("\nA few messages as Zalo received them:")
    picked = random.Random(0).sample(messages, min(count, len(messages)))
    for m in picked:
        d = m.get("template_data", {})
        say(
            f"  [{m.get('template_id')}] {d.get('ten_nguoi_dan')} | hồ sơ {d.get('ma_ho_so')} | "
            f"{d.get('trang_thai')} | {d.get('don_vi')} | hẹn trả {d.get('ngay_hen_tra')}\n      {d.get('noi_dung')}"
        )


def _hold(stack: Stack, say: Any) -> None:
    """Keep the stack up until SIGINT/SIGTERM, saying where to look."""
    info = {
        "simulator": stack.simulator_url,
        "metrics": {role: f"http://127.0.0.1:{port}/metrics" for role, port in stack.metrics_ports.items()},
        "bootstrap": stack.settings.bootstrap,
        "topic_prefix": stack.settings.topic_prefix,
        "logs": str(stack.run_dir / "logs"),
    }
    say("stack is up (Ctrl-C to stop): " + orjson.dumps(info).decode())
    sys.stderr.flush()
    sys.stdout.flush()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        stack.check_alive()
        stop.wait(1.0)
