"""``hoso chaos``: the demo's stack under steady load while its parts are crashed, and a reconciliation after.

"At-least-once" and "nothing lost" are claims about what happens when things break, so this command breaks
them on purpose: it SIGKILLs the Faust worker and the dispatcher (and starts them again, as a supervisor
would), restarts the Kafka broker on the same data, and makes the Zalo simulator answer with 5xx, rate
limits and held responses, all while a background thread publishes dossier events (and a few malformed
records) at a fixed rate. When the load stops it waits for the pipeline to drain and compares, by tracking
id, what the published events must produce with what the simulator accepted, exactly as ``hoso demo`` does.

When hoso runs the broker itself, chaos starts a dedicated one for the run (free ports, data in the run
folder) so that restarting it cannot disturb anything else; against ``KAFKA_BOOTSTRAP`` the broker is left
alone and ``broker_restarts`` is 0.

With ``--workers 2 --dispatchers 2`` a kill moves partitions between live members (rebalances while sends
are in flight); ``--token-ttl`` makes the simulator's access tokens expire during the run (refreshes by the
token leader, which moves with partition 0); ``--outage`` keeps the broker down longer than the clients'
request timeout (40 s), so sent-log writes, parks and commits fail and must be retried (on a one-node
broker this is also the loss of every partition leader, the sent-log's included).

Duplicates are bounded, not just counted: a copy can only come from a send Zalo accepted whose sent-log
write had not landed when its dispatcher was killed (at most ``HOSO_DISPATCH_CONCURRENCY`` sends in
flight per dispatcher kill), or from a send whose answer timed out after Zalo accepted it (one per injected
``timeout`` fault). ``duplicate_bound`` is that sum; the run fails when ``duplicates`` exceeds it.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from hoso.errors import ConfigurationError, HosoError, PublishError
from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from hosoctl.reconcile import Expectation, count_topic, expected_notifications, malformed_records, tracking_counts
from hosoctl.stack import Stack
from schemas.common import now_vn

Say = Callable[[str], None]

# Faults while the load runs: every kind the dispatcher must survive, at rates its retries absorb.
STORM_FAULTS = "5xx=0.08,rate_limit=0.06,unknown=0.02,timeout=0.02,timeout_hold=3s,latency=2ms"
# The dispatcher's Zalo timeout during chaos, below the simulator's timeout_hold so "timeout" faults bite.
ZALO_TIMEOUT_S = 2.0
# Faust's consumer-group session defaults to 60 s: after a SIGKILL the restarted worker waits that long (more
# after a broker restart) for the dead member to expire before it gets partitions. Faust reads these two from
# its own environment variables; a short session is what a supervised deployment wants, and the lead may make
# it a hoso setting.
WORKER_ENV = {"BROKER_SESSION_TIMEOUT": "10", "BROKER_HEARTBEAT_INTERVAL": "2"}
MALFORMED_EVERY = 50
"""One malformed record after every this many events (the invalid path under load)."""


@dataclass(frozen=True)
class ChaosOptions:
    """What to break, how often and for how long."""

    duration_s: float = 60.0
    rate: float = 20.0
    kills: int = 4
    broker_restarts: int = 1
    seed: int | None = None
    json: bool = False
    drain_timeout_s: float = 240.0
    run_root: Path | None = None  # where run folders go (default: next to the broker home)
    workers: int = 1
    dispatchers: int = 1
    token_ttl_s: float = 0.0  # > 0: the simulator's access tokens expire this many seconds after issue
    outage_s: float = 0.0  # > 0: each broker restart keeps the broker down this long

    def __post_init__(self) -> None:
        if self.duration_s <= 0 or self.rate <= 0:
            raise ConfigurationError("chaos: --duration and --rate must be > 0")
        if self.kills < 0 or self.broker_restarts < 0:
            raise ConfigurationError("chaos: --kills and --broker-restarts must be >= 0")
        if self.workers < 1 or self.dispatchers < 1:
            raise ConfigurationError("chaos: --workers and --dispatchers must be >= 1")
        if self.token_ttl_s < 0 or self.outage_s < 0:
            raise ConfigurationError("chaos: --token-ttl and --outage must be >= 0")


@dataclass(frozen=True)
class Action:
    """One scheduled disruption."""

    at_s: float
    kind: str  # "kill", "broker", "faults"
    target: str = ""


def schedule(options: ChaosOptions, broker_restarts: int) -> list[Action]:
    """Disruptions spread evenly over the load, kills alternating worker / dispatcher, faults from the start."""
    d = options.duration_s
    plan = [Action(0.05 * d, "faults", STORM_FAULTS), Action(0.85 * d, "faults", "none")]
    total = options.kills + broker_restarts
    broker_slots = {(j + 1) * total // (broker_restarts + 1) for j in range(broker_restarts)}
    kills = iter("worker" if i % 2 == 0 else "dispatcher" for i in range(options.kills))
    for slot in range(total):
        at = d * 0.1 + d * 0.7 * (slot + 0.5) / total
        plan.append(Action(at, "broker") if slot in broker_slots else Action(at, "kill", next(kills)))
    return sorted(plan, key=lambda a: a.at_s)


@dataclass(eq=False)
class SteadyLoad(threading.Thread):
    """Publishes events at a fixed rate from a background thread, keeping only what the broker acknowledged."""

    settings: Settings
    topic: str
    events: list[dict[str, Any]]
    rate: float
    malformed_every: int = MALFORMED_EVERY
    acked: list[dict[str, Any]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    malformed_acked: int = 0
    error: BaseException | None = None

    def __post_init__(self) -> None:
        threading.Thread.__init__(self, name="chaos-load", daemon=True)
        self._lock = threading.Lock()

    def run(self) -> None:
        """Send on a fixed schedule; the producer buffers and retries through broker restarts."""
        from producers.publisher import Publisher

        try:
            # Generous delivery timeout: a record must survive a broker restart in the producer's buffer.
            with Publisher(kafka_python(self.settings), self.topic, delivery_timeout_ms=180_000) as pub:
                producer = pub._producer  # the durable producer; sends are tracked by callbacks, not awaited
                bad = malformed_records(10**9, "chaos-malformed")
                started = time.monotonic()
                for i, event in enumerate(self.events):
                    delay = started + i / self.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    key, value = pub.prepare(event)
                    future = producer.send(self.topic, key=key, value=value)
                    future.add_callback(self._ok, event)
                    future.add_errback(self._failed, key.decode())
                    if self.malformed_every and (i + 1) % self.malformed_every == 0:
                        bkey, bvalue = next(bad)
                        producer.send(self.topic, key=bkey, value=bvalue).add_callback(self._malformed_ok)
                producer.flush(timeout=180)
        except BaseException as exc:  # reported by the main thread, which owns the outcome
            self.error = exc

    def _ok(self, event: dict[str, Any], _meta: Any) -> None:
        with self._lock:
            self.acked.append(event)

    def _malformed_ok(self, _meta: Any) -> None:
        with self._lock:
            self.malformed_acked += 1

    def _failed(self, key: str, exc: BaseException) -> None:
        with self._lock:
            self.failed.append(f"{key}: {exc}")


def _records(settings: Settings, topics: list[str]) -> Iterator[Any]:
    """Every record of ``topics`` from the beginning to their current end (for the run's reconciliation)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**kafka_python(settings), enable_auto_commit=False, consumer_timeout_ms=2000)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or set()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        while any(consumer.position(tp) < end[tp] for tp in tps):
            polled = consumer.poll(timeout_ms=1000)
            if not polled:
                break
            for records in polled.values():
                yield from records
    finally:
        consumer.close()


def _invalid_sources(settings: Settings, topic: str) -> set[tuple[int, int]]:
    """Distinct (partition, offset) of source records parked on the invalid topic (re-parks count once)."""
    seen: set[tuple[int, int]] = set()
    for r in _records(settings, [topic]):
        source = orjson.loads(r.value).get("source", {})
        seen.add((int(source.get("partition", -1)), int(source.get("offset", -1))))
    return seen


def _records_about(
    settings: Settings, topic: str, dossiers: set[str], code_of: Callable[[dict[str, Any]], Any], keep: tuple[str, ...]
) -> list[dict[str, Any]]:
    """``keep``'s fields, with partition and offset, of every record on ``topic`` whose ``code_of`` is one of
    ``dossiers``, in log order (for the report of a failed run; records that are not JSON objects are passed)."""
    found: list[dict[str, Any]] = []
    for r in _records(settings, [topic]):
        with contextlib.suppress(orjson.JSONDecodeError, AttributeError, TypeError):
            value = orjson.loads(r.value)
            if code_of(value) in dossiers:
                found.append({k: value.get(k) for k in keep} | {"partition": r.partition, "offset": r.offset})
    return sorted(found, key=lambda f: (f["partition"], f["offset"]))


def _parked_until(settings: Settings, topics: list[str]) -> dict[str, float]:
    """Tracking id → not-before of its latest record on the retry / deferred topics.

    A message the dispatcher parked for a later try is in Kafka, not lost: when the drain ends while some
    are still waiting for their due time (a minute on tier 2, ten on tier 3), the run says so.
    Only records at or beyond the dispatcher group's committed offset count: one below it was already
    consumed and finished, so it is not waiting for anything.
    """
    from consumers.retry import read_headers

    committed = _committed(settings, topics)
    due: dict[str, float] = {}
    for r in _records(settings, topics):
        if r.offset < committed.get((r.topic, r.partition), 0):
            continue
        with contextlib.suppress(orjson.JSONDecodeError, AttributeError, TypeError):
            tracking_id = orjson.loads(r.value).get("tracking_id")
            if isinstance(tracking_id, str):
                due[tracking_id] = read_headers(r.headers)[1]
    return due


def _committed(settings: Settings, topics: list[str]) -> dict[tuple[str, int], int]:
    """The dispatcher group's committed offset of every partition of ``topics`` (0 when none)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**kafka_python(settings), group_id=settings.dispatcher_group, enable_auto_commit=False)
    try:
        out: dict[tuple[str, int], int] = {}
        for t in topics:
            for p in consumer.partitions_for_topic(t) or set():
                out[(t, p)] = consumer.committed(TopicPartition(t, p)) or 0
        return out
    finally:
        consumer.close()


class Chaos:
    """One chaos run: its own broker (when local), stack, load, disruptions and reconciliation."""

    def __init__(self, settings: Settings, options: ChaosOptions, say: Say) -> None:
        self.options = options
        self.say = say
        self.run_id = secrets.token_hex(3)
        self.run_dir = (options.run_root or settings.kafka_home.parent / "chaos") / self.run_id
        self.broker: Any = None
        if settings.local_broker:
            from hosoctl.local_kafka import LocalBroker

            self.broker = LocalBroker.from_settings(settings, home=self.run_dir / "kafka")
            settings = settings.replace(kafka_bootstrap=self.broker.config.bootstrap)
        self.settings = settings.replace(
            topic_prefix=f"{settings.topic_prefix}-chaos-{self.run_id}",
            app_id=f"hoso-chaos-{self.run_id}",
            dispatcher_group=f"hoso-chaos-{self.run_id}-dispatcher",
            state_dir=self.run_dir / "state",
            zalo_timeout_s=ZALO_TIMEOUT_S,
            quiet_hours="",  # as in the demo: a night-time run must still deliver, not defer everything
        )
        sim_args: list[str] = []
        if options.token_ttl_s > 0:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            sim_config = self.run_dir / "simulator.json"
            sim_config.write_bytes(orjson.dumps({"access_token_ttl_s": options.token_ttl_s}))
            sim_args = ["--config", str(sim_config)]
        self.stack = Stack(
            self.settings,
            self.run_dir,
            "",
            role_env={"worker": WORKER_ENV},
            instances={"worker": options.workers, "dispatcher": options.dispatchers},
            simulator_args=sim_args,
        )
        self.kills: dict[str, int] = {"worker": 0, "dispatcher": 0}
        self.killed: dict[str, int] = {}  # by process name (which instance of a role)
        self.unplanned_restarts: dict[str, int] = {}
        self.broker_restarts = 0
        self.outage_total_s = 0.0
        self.keep_evidence = False

    # ------------------------------------------------------------------ disruptions

    def _act(self, action: Action, http: httpx.Client) -> None:
        if action.kind == "kill":
            # Alternate between the role's instances, so partitions move to a live member each time.
            names = self.stack.names(action.target)
            name = names[self.kills[action.target] % len(names)]
            self.stack.restart(name, crash=True)
            self.kills[action.target] += 1
            self.killed[name] = self.killed.get(name, 0) + 1
            self.say(f"SIGKILL {name} (#{self.kills[action.target]} of {action.target}), restarted")
        elif action.kind == "broker":
            started = time.monotonic()
            self.broker.stop()
            if self.options.outage_s > 0:
                self.say(f"broker down for {self.options.outage_s:.0f}s")
                end = time.monotonic() + self.options.outage_s
                while time.monotonic() < end:
                    self._supervise()
                    time.sleep(0.5)
            self.broker.start()
            self.broker_restarts += 1
            self.outage_total_s += time.monotonic() - started
            self.say(f"broker restarted on the same data after {time.monotonic() - started:.1f}s")
        elif action.kind == "faults":
            http.post("/_sim/faults", json={"spec": action.target}).raise_for_status()
            self.say(f"simulator faults: {action.target}")

    def _supervise(self) -> None:
        """Restart a role that died on its own (a supervisor's job), counting it apart from planned kills."""
        for p in self.stack.processes:
            if p.name != "simulator" and not p.alive:
                self.unplanned_restarts[p.name] = self.unplanned_restarts.get(p.name, 0) + 1
                self.say(f"{p.name} exited by itself (code {p.popen.returncode if p.popen else '?'}); restarting")
                p.start()
        sim = self.stack.process("simulator")
        if not sim.alive:
            raise HosoError(f"the Zalo simulator died:\n{sim.tail()}")

    # ------------------------------------------------------------------ the run

    def run(self) -> dict[str, Any]:
        """Start everything, load and disrupt, drain, reconcile; returns the summary."""
        from hosoctl.synthetic import GeneratorOptions, events

        options = self.options
        seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1_000_000)
        started = time.monotonic()
        if self.broker is not None:
            self.say(f"starting a dedicated Kafka broker for this run at {self.settings.bootstrap}")
            self.broker.start()
        self.stack.start(self.say)
        wanted = max(1, int(options.duration_s * options.rate))
        dossiers = max(1, wanted // 4)
        while True:
            evts = events(
                GeneratorOptions(
                    dossiers=dossiers,
                    seed=seed,
                    start=now_vn() - timedelta(days=75),  # every lifecycle is over by now, as in the demo
                    namespace=self.run_id,
                    no_phone_ratio=0.0,
                )
            )
            if len(evts) >= wanted:
                break
            dossiers *= 2
        load = SteadyLoad(self.settings, self.stack.topics.dossier_events.name, evts[:wanted], options.rate)
        plan = schedule(options, options.broker_restarts if self.broker is not None else 0)
        self.say(f"run {self.run_id}: seed {seed}, {wanted} events at {options.rate}/s; plan: {_describe(plan)}")
        with httpx.Client(base_url=self.stack.simulator_url, timeout=10) as http:
            load.start()
            t0 = time.monotonic()
            for action in plan:
                while time.monotonic() - t0 < action.at_s:
                    self._supervise()
                    time.sleep(0.2)
                self._act(action, http)
            load.join(timeout=options.duration_s + 300)
            if load.is_alive() or load.error is not None:
                raise PublishError(f"the load thread did not finish cleanly: {load.error!r}")
            http.post("/_sim/faults", json={"spec": "none"}).raise_for_status()
            self.say(f"load done: {len(load.acked)} events acknowledged, {len(load.failed)} not; draining")
            expectation = expected_notifications(load.acked, self.settings.pseudonym_key, settings=self.settings)
            counts = self._drain(http, expectation)
            stats = orjson.loads(http.get("/_sim/stats").content)
        delivered = expectation.met(counts)
        missing = expectation.tracking_ids - delivered
        t = self.stack.topics
        parked_topics = [t.notifications_retry_1.name, t.notifications_retry_2.name, t.notifications_retry_3.name]
        parked_topics.append(t.notifications_deferred.name)
        drained_at = time.time()
        due = _parked_until(self.settings, parked_topics) if missing else {}
        # Parked means "waiting in Kafka beyond the dispatchers' committed offset": a record already consumed
        # (below the commit) is not waiting for anyone, so it cannot excuse a missing message.
        parked = {tid for tid in missing if due.get(tid, 0.0) > drained_at}
        lost = missing - parked
        if lost:
            self._explain(lost, expectation, load.acked, counts)
            self.keep_evidence = True
        invalid = _invalid_sources(self.settings, self.stack.topics.dossier_events_invalid.name)
        return {
            "run_id": self.run_id,
            "seed": seed,
            "duration_s": options.duration_s,
            "rate": options.rate,
            "events_published": len(load.acked),
            "publish_failures": len(load.failed),
            "expected": len(expectation.tracking_ids),
            "delivered": len(delivered),
            "lost": len(lost),
            "lost_sample": sorted(expectation.origins[tid] for tid in lost)[:20],
            "parked_at_end": len(parked),
            "duplicates": sum(c - 1 for c in counts.values() if c > 1),
            "unexpected": len(counts.keys() - expectation.allowed()),
            "kills": sum(self.kills.values()),
            "kills_by_role": dict(self.kills),
            "unplanned_restarts": dict(self.unplanned_restarts),
            "broker_restarts": self.broker_restarts,
            "invalid_injected": load.malformed_acked,
            "invalid_rejected": len(invalid),
            "duplicate_bound": self._duplicate_bound(stats),
            "workers": options.workers,
            "dispatchers": options.dispatchers,
            "token_ttl_s": options.token_ttl_s,
            "token_refreshes": stats.get("token_refreshes", {}).get("total", 0),
            "outage_s": round(self.outage_total_s, 1),
            "dead_lettered": count_topic(self.settings, self.stack.topics.notifications_dead.name),
            "delivery_failures": count_topic(self.settings, self.stack.topics.delivery_failures.name),
            "zalo_faults_injected": stats.get("faults_injected", {}),
            "elapsed_s": round(time.monotonic() - started, 2),
            "run_dir": str(self.run_dir),
        }

    def _duplicate_bound(self, stats: dict[str, Any]) -> int:
        """The most copies this run's disruptions can explain (see the module docstring)."""
        in_flight = self.settings.dispatch_concurrency
        timeouts = int(stats.get("faults_injected", {}).get("timeout", 0))
        return self.kills["dispatcher"] * in_flight + timeouts

    def _explain(self, lost: set[str], expectation: Any, events: list[dict[str, Any]], counts: dict[str, int]) -> None:
        """Write ``lost.json`` in the run folder: each lost message's dossier, its events as published and
        every notification the worker produced for it, to tell a lost message from a different decision."""
        dossiers = {expectation.origins[tid].split(" ")[0] for tid in lost}
        report = {
            "lost": sorted(expectation.origins[tid] for tid in lost),
            "events": [
                {k: e.get(k) for k in ("event_id", "sequence", "occurred_at")} | {"trang_thai": e["data"]["trang_thai"]}
                for e in events
                if e["data"]["ma_ho_so"] in dossiers
            ],
            # The order the worker read them in (a gap or a reversal is decided on arrival).
            "arrived": _records_about(
                self.settings,
                self.stack.topics.dossier_events.name,
                dossiers,
                lambda e: e.get("data", {}).get("ma_ho_so"),
                ("event_id", "sequence"),
            ),
            "notifications": [
                n | {"delivered": counts.get(n["tracking_id"], 0), "expected": n["tracking_id"] in expectation.origins}
                for n in _records_about(
                    self.settings,
                    self.stack.topics.notifications.name,
                    dossiers,
                    lambda n: n.get("ma_ho_so"),
                    ("tracking_id", "event_id", "trang_thai", "kind", "occurred_at", "created_at"),
                )
            ],
        }
        text = orjson.dumps(report, option=orjson.OPT_INDENT_2)
        path = self.run_dir / "lost.json"
        path.write_bytes(text)
        self.say(f"what was lost, and what was sent instead: {path}")
        if len(lost) <= 5:  # small enough to read in a CI log, where the run folder is gone afterwards
            for line in text.decode().splitlines():
                self.say(f"  {line}")

    def _drain(self, http: httpx.Client, expectation: Expectation) -> dict[str, int]:
        """Wait until every expected tracking id reached the simulator (or the drain timeout passes)."""
        expected = expectation.tracking_ids
        deadline = time.monotonic() + self.options.drain_timeout_s
        shown, said = 0.0, -1
        while True:
            self._supervise()
            counts = tracking_counts(http)
            got = len(expectation.met(counts))
            now = time.monotonic()
            if got >= len(expected):
                time.sleep(2.0)  # stragglers: a duplicate still in flight should be counted
                return tracking_counts(http)
            if now > deadline:
                self.say(f"drain timed out with {got}/{len(expected)} delivered")
                return counts
            if (got != said and now - shown >= 3) or now - shown >= 30:
                self.say(f"delivered {got}/{len(expected)}")
                shown, said = now, got
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop the stack and the dedicated broker; keep logs, drop state and broker data unless something
        was lost (then the topics and the workers' tables are the evidence of where it went)."""
        with contextlib.suppress(Exception):
            self.stack.stop(delete_topics=self.broker is None and not self.keep_evidence)
        if self.broker is not None:
            with contextlib.suppress(Exception):
                self.broker.stop()
            if not self.keep_evidence:
                shutil.rmtree(self.run_dir / "kafka" / "data", ignore_errors=True)
        if not self.keep_evidence:
            shutil.rmtree(self.run_dir / "state", ignore_errors=True)
        else:
            self.say(f"broker data and worker state kept for inspection under {self.run_dir}")


def _describe(plan: list[Action]) -> str:
    return ", ".join(f"{a.at_s:.0f}s {a.kind}{' ' + a.target if a.kind == 'kill' else ''}" for a in plan)


def run_chaos(settings: Settings, options: ChaosOptions) -> int:
    """Run a chaos campaign; exit code 0 only when nothing expected was lost."""
    say: Say = (lambda m: print(f"[chaos] {m}", file=sys.stderr, flush=True)) if options.json else print
    chaos = Chaos(settings, options, say)
    try:
        summary = chaos.run()
    finally:
        chaos.stop()
    if options.json:
        sys.stdout.write(orjson.dumps(summary).decode() + "\n")
        sys.stdout.flush()
    else:
        for k, v in summary.items():
            say(f"  {k:22} {v}")
        parked = summary["parked_at_end"]
        waiting = f" ({parked} parked in Kafka for a later retry, not yet due)" if parked else ""
        if summary["lost"]:
            say("FAILED: notifications were lost.")
        elif summary["duplicates"] > summary["duplicate_bound"]:
            say(f"FAILED: {summary['duplicates']} duplicates, more than the bound {summary['duplicate_bound']}.")
        else:
            say(f"OK: nothing lost{waiting}; duplicates within the bound.")
    ok = summary["lost"] == 0 and summary["duplicates"] <= summary["duplicate_bound"]
    return 0 if ok else 1


__all__ = ["Chaos", "ChaosOptions", "run_chaos", "schedule"]
