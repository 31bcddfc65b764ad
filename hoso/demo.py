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
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from hoso.errors import HosoError
from hoso.kafka_clients import kafka_python
from hoso.processes import Process, free_port, wait_for_port
from hoso.settings import Settings
from schemas.common import normalize_phone, now_vn
from schemas.dossier_event import Status
from schemas.notification import tracking_id_for
from schemas.topics import Topics, catalogue
from streams.followers import subscriber_id
from streams.notify import NOTIFY


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


@dataclass
class Expectation:
    """The messages the published events must produce, by tracking id."""

    tracking_ids: set[str] = field(default_factory=set)
    samples: dict[str, str] = field(default_factory=dict)


def expected_notifications(events: list[dict[str, Any]], pseudonym_key: str) -> Expectation:
    """Replay consent and announcement rules over the events, in per-dossier sequence order."""
    followers: dict[str, set[str]] = {}
    exp = Expectation()
    for e in sorted(events, key=lambda e: (e["data"]["ma_ho_so"], e["sequence"])):
        code = e["data"]["ma_ho_so"]
        current = followers.setdefault(code, set())
        for r in e["data"].get("nguoi_nhan_thong_bao", []):
            phone = normalize_phone(r["phone"]) if r.get("phone") else None
            if phone is None and not r.get("zalo_user_id"):
                continue
            sid = subscriber_id(pseudonym_key, phone, r.get("zalo_user_id"))
            if r["dong_y_zalo"]:
                current.add(sid)
            else:
                current.discard(sid)
        if Status(e["data"]["trang_thai"]) in NOTIFY:
            for sid in current:
                exp.tracking_ids.add(tracking_id_for(e["event_id"], sid))
    return exp


class Stack:
    """The processes of one demo run; stops what it started, in reverse order."""

    def __init__(self, settings: Settings, run_dir: Path, zalo_faults: str) -> None:
        self.settings = settings
        self.run_dir = run_dir
        self.zalo_faults = zalo_faults
        self.processes: list[Process] = []
        self.broker_started = False
        self.simulator_url = ""
        self.metrics_ports: dict[str, int] = {}
        self.topics: Topics = catalogue(settings.topic_prefix, settings.partitions, settings.app_id)

    def start(self, say: Any) -> None:
        """Broker (if local and not running), topics, simulator, worker, dispatcher."""
        from hoso.topic_admin import create_topics

        if self.settings.local_broker:
            from hoso.cli import _broker

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
            }
            self._spawn(role, [role], env)
        say(f"simulator {self.simulator_url}, worker and dispatcher started (logs in {self.run_dir / 'logs'})")

    def _spawn(self, name: str, args: list[str], extra: dict[str, str]) -> Process:
        env = {**self.settings.to_env(), **extra}
        proc = Process(name, args, env, self.run_dir / "logs" / f"{name}.log").start()
        self.processes.append(proc)
        return proc

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
                from hoso.topic_admin import delete_topics

                delete_topics(kafka_python(self.settings), [t.name for t in self.topics.all()])
        if self.broker_started:
            from hoso.cli import _broker

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
    from producers.publisher import Publisher
    from producers.synthetic import GeneratorOptions, events

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
    )
    started = time.monotonic()
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
                start=now_vn() - timedelta(days=21),
                namespace=run_id,
                no_phone_ratio=0.0,
            )
        )
        expectation = expected_notifications(evts, scoped.pseudonym_key)
        with Publisher(kafka_python(scoped), stack.topics.dossier_events.name) as publisher:
            report = publisher.publish_many(evts)
            if options.invalid:
                producer = publisher._producer  # the same durable producer, bypassing validation on purpose
                for key, value in _malformed(options.invalid, evts[0]["data"]["ma_ho_so"]):
                    producer.send(stack.topics.dossier_events.name, key=key, value=value)
                producer.flush()
        say(
            f"published {report.published} events (+{options.invalid} malformed); "
            f"expecting {len(expectation.tracking_ids)} notifications"
        )
        timeout = options.timeout_s or 90 + options.dossiers * 0.2
        counts = _wait_for_delivery(stack, expectation, timeout, say)
        delivered = expectation.tracking_ids & counts.keys()
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
        invalid = _count_topic(scoped, stack.topics.dossier_events_invalid.name)
        summary = {
            "run_id": run_id,
            "seed": seed,
            "dossiers": options.dossiers,
            "events_published": report.published,
            "notifications_expected": len(expectation.tracking_ids),
            "notifications_delivered": len(delivered),
            "duplicates": duplicates,
            "unexpected": len(counts.keys() - expectation.tracking_ids),
            "lost": len(expectation.tracking_ids - delivered),
            "invalid": invalid,
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


def _wait_for_delivery(stack: Stack, exp: Expectation, timeout: float, say: Any) -> dict[str, int]:
    """Poll the simulator until every expected tracking id arrived, or the timeout passes."""
    deadline = time.monotonic() + timeout
    last_shown = 0.0
    counts: dict[str, int] = {}
    with httpx.Client(base_url=stack.simulator_url, timeout=10) as http:
        while True:
            stack.check_alive()
            counts = _tracking_counts(http)
            got = len(exp.tracking_ids & counts.keys())
            now = time.monotonic()
            if got >= len(exp.tracking_ids):
                say(f"delivered {got}/{len(exp.tracking_ids)}")
                time.sleep(1.0)  # let any straggling duplicate arrive before counting
                return _tracking_counts(http)
            if now - last_shown >= 2:
                say(f"delivered {got}/{len(exp.tracking_ids)}")
                last_shown = now
            if now > deadline:
                say(f"timed out after {timeout:.0f}s")
                return counts
            time.sleep(0.25)


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
