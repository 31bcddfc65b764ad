"""``hoso demo``: the whole pipeline, live, on synthetic dossiers, reconciled against what Zalo received.

Every run gets its own topic prefix, Faust app id and state folder, so runs never see each other's
records, even on a shared cluster; its topics are deleted afterwards. What was expected is computed
from the published events (consent, followers, which statuses are announced) and compared, by tracking
id, with what the Zalo simulator accepted: nothing is taken from the pipeline's own counters.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
import orjson

from hoso.errors import HosoError
from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from hosoctl.processes import Process, free_port, wait_for_port
from schemas.common import VN_TZ, normalize_phone, now_vn
from schemas.dossier_event import Status
from schemas.notification import tracking_id_for
from schemas.topics import Topics, catalogue
from streams.followers import subscriber_id
from streams.notify import NOTIFY

MAGIC_PREFIX = "84999000"  # the simulator's numbers that always fail permanently


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


@dataclass
class Expectation:
    """The messages the published events must produce, by tracking id."""

    tracking_ids: set[str] = field(default_factory=set)
    permanent: set[str] = field(default_factory=set)  # to the simulator's magic numbers: must fail, recorded
    samples: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    """Tracking id → ``dossier message-id``, to name what was lost when something is."""


def expected_notifications(
    events: list[dict[str, Any]],
    pseudonym_key: str,
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Expectation:
    """Replay consent and announcement rules over the events, in per-dossier sequence order.

    Written apart from the streams' rule engine on purpose (a shared bug would otherwise reconcile): low-value
    statuses (IN_PROCESS, TRANSFERRED) at most once per throttle window and dropped when the next change
    follows within the collapse window, all in event time; one survey invitation per dossier, ours
    ``survey_delay`` after RESULT_RETURNED unless the agency's SURVEY_INVITED occurred first. During quiet
    hours nothing is expected: every message is deferred past the demo.
    """
    cfg = settings or Settings.from_env()
    throttle = timedelta(seconds=cfg.low_value_throttle_s)
    collapse = timedelta(seconds=cfg.collapse_window_s)
    survey_delay = timedelta(seconds=cfg.survey_delay_s) if cfg.survey_delay_s >= 0 else None
    exp = Expectation()
    horizon = now or now_vn()
    if _in_quiet_hours(cfg.quiet_hours, horizon):
        return exp
    magic: set[str] = set()
    low_value = {Status.IN_PROCESS, Status.TRANSFERRED}

    def announce(dossier: str, message_id: str, to: set[str]) -> None:
        for sid in to:
            tid = tracking_id_for(message_id, sid)
            (exp.permanent if sid in magic else exp.tracking_ids).add(tid)
            exp.origins[tid] = f"{dossier} {message_id}"

    by_dossier: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_dossier.setdefault(e["data"]["ma_ho_so"], []).append(e)
    for dossier, dossier_events in by_dossier.items():
        current: set[str] = set()
        pending: tuple[str, datetime, set[str]] | None = None  # a low-value event not yet announced
        survey: tuple[str, datetime] | None = None  # a RESULT_RETURNED awaiting our invitation
        last_low: datetime | None = None
        invited = False
        for e in sorted(dossier_events, key=lambda e: e["sequence"]):
            at = datetime.fromisoformat(e["occurred_at"])
            status = Status(e["data"]["trang_thai"])
            if pending is not None:
                if at - pending[1] >= collapse:
                    announce(dossier, pending[0], pending[2])
                    last_low = pending[1]
                pending = None
            if survey is not None and survey_delay is not None and at >= survey[1] + survey_delay:
                announce(dossier, survey[0] + ":survey", current)
                invited, survey = True, None
            for r in e["data"].get("nguoi_nhan_thong_bao", []):
                phone = normalize_phone(r["phone"]) if r.get("phone") else None
                if phone is None and not r.get("zalo_user_id"):
                    continue
                sid = subscriber_id(pseudonym_key, phone, r.get("zalo_user_id"))
                if phone and phone.startswith(MAGIC_PREFIX):
                    magic.add(sid)
                if r["dong_y_zalo"]:
                    current.add(sid)
                else:
                    current.discard(sid)
            if status not in NOTIFY:
                pass
            elif status in low_value:
                if last_low is None or at - last_low >= throttle:
                    pending = (e["event_id"], at, set(current))
            elif status is Status.SURVEY_INVITED:
                if not invited:
                    announce(dossier, e["event_id"], current)
                    invited, survey = True, None
            else:
                announce(dossier, e["event_id"], current)
            if status is Status.RESULT_RETURNED and survey_delay is not None and not invited:
                survey = (e["event_id"], at)
        # What is still held when the events run out is released by a timer when due; events dated in the
        # future (the generator runs lifecycles past today) are not due during the run.
        if pending is not None and pending[1] + collapse <= horizon:
            announce(dossier, pending[0], pending[2])
        if survey is not None and survey_delay is not None and survey[1] + survey_delay <= horizon:
            announce(dossier, survey[0] + ":survey", current)
    return exp


def _in_quiet_hours(spec: str, now: datetime) -> bool:
    if not spec.strip():
        return False
    start, end = (clock_time.fromisoformat(part.strip()) for part in spec.split("-"))
    t = now.astimezone(VN_TZ).time()
    return start <= t < end if start < end else (t >= start or t < end)


class Stack:
    """The processes of one demo run; stops what it started, in reverse order."""

    def __init__(
        self, settings: Settings, run_dir: Path, zalo_faults: str, role_env: dict[str, dict[str, str]] | None = None
    ) -> None:
        self.settings = settings
        self.run_dir = run_dir
        self.zalo_faults = zalo_faults
        # Extra environment per role (e.g. library tuning a campaign needs), merged over the settings.
        self.role_env = role_env or {}
        self.processes: list[Process] = []
        self.broker_started = False
        self.simulator_url = ""
        self.metrics_ports: dict[str, int] = {}
        self.topics: Topics = catalogue(settings.topic_prefix, settings.partitions, settings.app_id)

    def start(self, say: Any) -> None:
        """Broker (if local and not running), topics, simulator, worker, dispatcher."""
        from hoso.kafka.admin import create_topics

        if self.settings.local_broker:
            from hosoctl.cli import _broker

            broker = _broker(self.settings)
            if not broker.status().ready:
                say(f"starting Kafka {self.settings.kafka_version} (first run downloads jars with Maven)…")
                broker.start()
                self.broker_started = True
        say(f"creating topics {self.settings.topic_prefix}.* on {self.settings.bootstrap}")
        create_topics(kafka_python(self.settings), self.topics, self.settings.replication_factor)
        sim_port = free_port()
        self.simulator_url = f"http://127.0.0.1:{sim_port}"
        sim_args = ["simulator", "--port", str(sim_port)]
        if self.zalo_faults:
            sim_args += ["--faults", self.zalo_faults]
        sim = self._spawn("simulator", sim_args, {})
        wait_for_port(sim_port, 30, sim.popen)
        for role in ("worker", "dispatcher"):
            port = free_port()
            self.metrics_ports[role] = port
            env = {
                "HOSO_METRICS_PORT": str(port),
                "HOSO_ZALO_ZBS_URL": self.simulator_url,
                "HOSO_ZALO_OA_URL": self.simulator_url,
                "HOSO_ZALO_OAUTH_URL": self.simulator_url,
                **self.role_env.get(role, {}),
            }
            self._spawn(role, [role], env)
        say(f"simulator {self.simulator_url}, worker and dispatcher started (logs in {self.run_dir / 'logs'})")

    def _spawn(self, name: str, args: list[str], extra: dict[str, str]) -> Process:
        env = {**self.settings.to_env(), **extra}
        proc = Process(name, args, env, self.run_dir / "logs" / f"{name}.log").start()
        self.processes.append(proc)
        return proc

    def process(self, name: str) -> Process:
        """The process started under ``name`` (simulator, worker, dispatcher)."""
        for p in self.processes:
            if p.name == name:
                return p
        raise HosoError(f"no process named {name!r} in this stack")

    def restart(self, name: str, *, crash: bool = True) -> Process:
        """Stop one process (SIGKILL when ``crash``, else SIGTERM) and start it again with the same env and log."""
        proc = self.process(name)
        if crash:
            proc.kill()
        else:
            proc.stop()
        return proc.start()

    def check_alive(self) -> None:
        """Fail fast, with its log, if a process died."""
        for p in self.processes:
            if not p.alive:
                raise HosoError(f"{p.name} exited unexpectedly:\n{p.tail()}")

    def stop(self, delete_topics: bool = True) -> None:
        """Stop children (SIGTERM, then SIGKILL), delete this run's topics, stop the broker if we started it."""
        for p in reversed(self.processes):
            p.stop()
        if delete_topics:
            with contextlib.suppress(Exception):
                from hoso.kafka.admin import delete_topics

                delete_topics(kafka_python(self.settings), [t.name for t in self.topics.all()])
        if self.broker_started:
            from hosoctl.cli import _broker

            _broker(self.settings).stop()


def _count_topic(settings: Settings, topic: str) -> int:
    """Records currently in ``topic`` (all partitions), read from the start."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**kafka_python(settings), enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        begin = consumer.beginning_offsets(tps)
        end = consumer.end_offsets(tps)
        return sum(end[tp] - begin[tp] for tp in tps)
    finally:
        consumer.close()


def _malformed(count: int, topic_key: str) -> Iterator[tuple[bytes, bytes]]:
    """Records a misbehaving agency might write straight to Kafka (each broken differently)."""
    samples = [
        b'{"event_id": "not-a-uuid", "sequence": -1}',
        b"\xff\xfe not utf-8",
        b'{"truncated": ',
        b'["a", "list"]',
    ]
    for i in range(count):
        yield topic_key.encode(), samples[i % len(samples)]


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
                for key, value in _malformed(options.invalid, evts[0]["data"]["ma_ho_so"]):
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
        dispatcher_metrics = _scrape(stack.metrics_ports.get("dispatcher"))
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
            "invalid": _count_topic(scoped, stack.topics.dossier_events_invalid.name),
            "token_refreshes": _sim_stats(stack.simulator_url)["token_refreshes"]["total"],
            "retried": int(
                dispatcher_metrics.get("hoso_delivery_retries_total", 0)
                + dispatcher_metrics.get("hoso_dispatcher_parked_total", 0)
            ),
            "dead_lettered": _count_topic(scoped, stack.topics.notifications_dead.name),
            "failure_codes": _codes(failures),
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
            counts = _tracking_counts(http)
            got = len(exp.tracking_ids & counts.keys())
            now = time.monotonic()
            if got >= len(exp.tracking_ids):
                failures = _failures(stack.settings, stack.topics.delivery_failures.name) if exp.permanent else {}
                if exp.permanent <= failures.keys():
                    say(f"delivered {got}/{len(exp.tracking_ids)}, {len(exp.permanent)} permanent failures recorded")
                    time.sleep(1.0)  # let any straggling duplicate arrive before counting
                    return _tracking_counts(http), failures
            if now - last_shown >= 2:
                say(f"delivered {got}/{len(exp.tracking_ids)}")
                last_shown = now
            if now > deadline:
                say(f"timed out after {timeout:.0f}s")
                return counts, _failures(stack.settings, stack.topics.delivery_failures.name)
            time.sleep(0.25)


def _failures(settings: Settings, topic: str) -> dict[str, dict[str, Any]]:
    """Delivery failures recorded so far, by tracking id."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**kafka_python(settings), enable_auto_commit=False)
    out: dict[str, dict[str, Any]] = {}
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    item = orjson.loads(r.value)
                    tracking = (item.get("notification") or {}).get("tracking_id")
                    if tracking:
                        out[tracking] = {"code": item.get("code"), "reason": item.get("reason")}
    finally:
        consumer.close()
    return out


def _codes(failures: dict[str, dict[str, Any]]) -> dict[str, int]:
    codes: dict[str, int] = {}
    for f in failures.values():
        codes[str(f.get("code"))] = codes.get(str(f.get("code")), 0) + 1
    return codes


def _sim_stats(url: str) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=10) as http:
        stats: dict[str, Any] = orjson.loads(http.get("/_sim/stats").content)
        return stats


def _scrape(port: int | None) -> dict[str, float]:
    """Sum of each metric family on a process's /metrics (all label sets)."""
    from prometheus_client.parser import text_string_to_metric_families

    if not port:
        return {}
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return {}
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_total") or sample.name == family.name:
                sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


def _tracking_counts(http: httpx.Client) -> dict[str, int]:
    data = orjson.loads(http.get("/_sim/tracking-ids").content)
    return dict(data["counts"])


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
