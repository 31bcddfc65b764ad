"""``hoso demo``: the whole product, live: agencies, the pipeline, a citizen on Zalo and an area alert.

Every run gets its own topic prefix, Faust app id and state folder, so runs never see each other's
records, even on a shared cluster; its topics are deleted afterwards. Synthetic agencies publish to Kafka,
one agency posts national-format payloads to the gateway, a citizen chats through signed webhook calls and
an operator sends an alert. What was expected is computed from the published events (consent, followers,
which statuses are announced) and compared, by tracking id, with what the Zalo simulator accepted: nothing is
taken from the pipeline's own counters. The conversation is printed as Zalo carried it, whatever the wording.
"""

from __future__ import annotations

import logging
import random
import secrets
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from hosoctl import agency_feed
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
from hosoctl.stack import INGRESS_ROLES, PIPELINE_ROLES, Stack, describe
from hosoctl.zalo_citizen import Inbox, Line, ZaloCitizen
from producers.webhook import PATH as WEBHOOK_PATH
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
    extra_roles: tuple[str, ...] = ()
    """Optional roles to run too (``hosoctl.stack.OPTIONAL_ROLES``: sms, ratings-sync); the demo itself does not
    depend on them, they are there for what is provoked while the stack is kept running."""


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
        sms_group=f"hoso-demo-{run_id}-sms",
        ratings_sync_group=f"hoso-demo-{run_id}-ratings-sync",
        state_dir=run_dir / "state",
        # At night every dossier message would wait for 07:00, past the end of the demo: the demo shows the
        # flow, so quiet hours are off unless asked for (emergency alerts ignore them anyway).
        quiet_hours=settings.quiet_hours if options.quiet_hours else "",
    )
    _log_to_file(run_dir / "logs" / "demo.log")
    started = time.monotonic()
    magic_ratio = options.magic_ratio if options.magic_ratio is not None else (0.02 if options.zalo_faults else 0.0)
    stack = Stack(scoped, run_dir, options.zalo_faults, roles=PIPELINE_ROLES + INGRESS_ROLES + options.extra_roles)
    say(f"run {run_id}: {options.dossiers} synthetic dossiers (seed {seed}), 2 national-format dossiers, a chat")
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
        citizen = ZaloCitizen(
            DEMO_USER, f"{stack.urls['webhook']}{WEBHOOK_PATH}", stack.simulator_url, scoped, watch=_national_phones
        )
        with Publisher(kafka_python(scoped), stack.topics.dossier_events.name) as publisher:
            report = publisher.publish_many(evts)
            if options.invalid:
                producer = publisher._producer  # the same durable producer, bypassing validation on purpose
                for key, value in malformed_records(options.invalid, evts[0]["data"]["ma_ho_so"]):
                    producer.send(stack.topics.dossier_events.name, key=key, value=value)
                producer.flush()
        say(f"synthetic agencies: published {report.published} events (+{options.invalid} malformed) to Kafka")
        intake = agency_feed.intake(run_id)
        national = agency_feed.mapped_events(intake, "DongBoHoSoMC", scoped.proof_key.get_secret_value())
        _post_national(stack, citizen, "DongBoHoSoMC", intake, say)
        expectation = expected_notifications(evts + national, scoped.pseudonym_key, settings=scoped)
        say(
            f"expecting {len(expectation.tracking_ids)} deliveries and {len(expectation.permanent)} permanent "
            "failures (magic numbers)"
        )
        timeout = options.timeout_s or 90 + options.dossiers * 0.2 + (120 if options.zalo_faults else 0)
        _wait_for_delivery(stack, expectation, timeout, say)
        citizen.catch_up()  # the intake notices, before the chat starts
        national += _converse(stack, citizen, run_id, say)
        expectation = expected_notifications(evts + national, scoped.pseudonym_key, settings=scoped)
        counts, failures = _wait_for_delivery(stack, expectation, timeout, say)
        alerts = _alert_tracking_ids(stack.simulator_url)
        delivered = expectation.met(counts)
        recorded = {t for t, f in failures.items() if t in expectation.permanent and f.get("reason")}
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
        dispatcher_metrics = scrape_metrics(stack.metrics_ports.get("dispatcher"))
        summary = {
            "run_id": run_id,
            "seed": seed,
            "dossiers": options.dossiers,
            "events_published": report.published,
            "national_events": len(national),
            "notifications_expected": len(expectation.tracking_ids) + len(expectation.permanent),
            "notifications_delivered": len(delivered),
            "alerts_delivered": len(alerts),
            "chat_lines": sum(1 for line in citizen.transcript if line.who == "citizen"),
            "chat_answers": sum(1 for line in citizen.transcript if line.who == "oa"),
            "permanent_failures": len(recorded),
            "duplicates": duplicates,
            "unexpected": len(counts.keys() - expectation.allowed() - alerts),
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
        ok = summary["lost"] == 0
        if options.json:
            summary["conversation"] = [{"who": x.who, "to": x.to, "text": x.text} for x in citizen.transcript]
            out.write(orjson.dumps(summary).decode() + "\n")
            out.flush()
        else:
            _show_samples(stack.simulator_url, say)
            _show_transcript(citizen.transcript, say)
            say("\nReconciliation (what the simulator accepted, by tracking id):")
            for k, v in summary.items():
                say(f"  {k:24} {v}")
            say("OK: every expected notification reached Zalo." if ok else "FAILED: notifications were lost.")
        if options.keep_running:
            _hold(stack, say)
        return 0 if ok else 1
    finally:
        say("stopping the stack…")
        stack.stop(delete_topics=True)
        if not options.keep_running:
            shutil.rmtree(run_dir / "state", ignore_errors=True)


DEMO_USER = "5830000000000000042"
"""The Zalo user id of the demo's chatting citizen (the OA sees only this, never a phone number)."""


def _log_to_file(path: Path) -> None:
    """Library logs (kafka-python's retries while metadata settles) go to the run's log, not the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)


def _national_phones(message: dict[str, Any]) -> str | None:
    """Transcript label for notices to the national-format dossiers' citizens (None for everyone else)."""
    phone = message.get("phone")
    if phone not in agency_feed.PHONES:
        return None
    local = "0" + phone[2:]
    return f"SĐT {local[:4]} {local[4:7]} {local[7:]}"


def _post_national(stack: Stack, citizen: ZaloCitizen, service: str, body: dict[str, Any], say: Any) -> None:
    answer = agency_feed.post(stack.urls["gateway"], f"/v1/dvcqg/{service}", body)
    codes = ", ".join(str(item["MaHoSo"]) for item in body["data"])
    line = f"{service} from {body['madonvi']}: {codes} → accepted {answer.get('accepted')}"
    if answer.get("rejected"):
        line += f", rejected {answer['rejected']}"
    citizen.transcript.append(Line("agency", "gateway", line))
    say(f"national portal format: {line}")


def _converse(stack: Stack, citizen: ZaloCitizen, run_id: str, say: Any) -> list[dict[str, Any]]:
    """The citizen follows a dossier, looks it up, gets its result notice and an alert, then stops."""
    code = agency_feed.dossier_code(run_id, 0)
    say(f"a citizen chats with the OA about {code} (signed webhook calls)…")
    citizen.say(f"DK {code}")
    citizen.say(f"tc {code.lower()}")
    done = agency_feed.progress(run_id, 0)
    _post_national(stack, citizen, "CapNhatTienDoHoSoMC", done, say)
    citizen.wait(30, until=lambda: _arrived(citizen, "RESULT_READY"))
    answer = agency_feed.post(
        stack.urls["gateway"], "/v1/broadcasts", agency_feed.alert(run_id), agency_feed.OPERATOR_KEY
    )
    line = f"area alert {answer.get('broadcast_id')} for province {agency_feed.PROVINCE} → accepted"
    citizen.transcript.append(Line("operator", "gateway", line))
    say(f"operator: {line}")
    citizen.wait(30, until=lambda: _alerts_seen(citizen) >= len(agency_feed.PHONES))
    citizen.say(f"Huỷ {code}")
    return agency_feed.mapped_events(done, "CapNhatTienDoHoSoMC", stack.settings.proof_key.get_secret_value())


def _arrived(citizen: ZaloCitizen, status: str) -> bool:
    label = {"RESULT_READY": "kết quả"}[status]
    return any(line.who == "notice" and label in line.text.lower() for line in citizen.transcript)


def _alerts_seen(citizen: ZaloCitizen) -> int:
    return sum(1 for line in citizen.transcript if line.who == "notice" and "alert" in line.text)


def _alert_tracking_ids(url: str) -> set[str]:
    """Tracking ids of the area alerts Zalo accepted (by their template), kept apart from dossier notices."""
    from streams.template_catalogue import packaged_path

    alert_template = orjson.loads(packaged_path().read_bytes())["default"]["ALERT"]["template_id"]
    messages = Inbox(url).new()
    return {m["tracking_id"] for m in messages if m.get("template_id") == alert_template and m.get("tracking_id")}


def _show_transcript(transcript: list[Line], say: Any) -> None:
    say("\nThe conversation, as Zalo carried it:")
    arrows = {"citizen": "citizen  → OA", "oa": "OA       → citizen", "agency": "agency   → gateway"}
    for line in transcript:
        head = arrows.get(line.who) or (
            "operator → gateway" if line.who == "operator" else f"notice   → {line.to or 'citizen'}"
        )
        first, *rest = line.text.splitlines() or [""]
        say(f"  {head:30} {first}")
        for more in rest:
            say(f"  {'':30} {more}")


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
            got = len(exp.met(counts))
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
                waiting = " (worker and dispatcher joining their consumer groups)" if got == 0 else ""
                say(f"delivered {got}/{len(exp.tracking_ids)}{waiting}")
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
    say(f"\nZalo inbox: {stack.inbox_url}  (open it in a browser; it updates live)")
    say("stack is up (Ctrl-C to stop): " + orjson.dumps(describe(stack)).decode())
    sys.stderr.flush()
    sys.stdout.flush()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        stack.check_alive()
        stop.wait(1.0)
