"""The bench's surroundings: a real broker, per-scenario topics and settings, the simulator, child processes.

A local broker is started on free ports (its own folder under the run directory) unless KAFKA_BOOTSTRAP
is set. Every scenario gets its own topic prefix, app id and consumer group, so scenarios and runs never
read each other's records; their topics are deleted at the end. Everything started is stopped on exit.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import orjson

from hoso.errors import HosoError
from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from hosoctl.processes import Process, free_port, wait_for_port
from hosoctl.stack import Stack
from schemas.topics import Topics

BENCH_OA_RATE = 1_000_000.0
"""The bench OA's dispatcher rate limit: high enough that it never throttles (the simulator is the limit)."""

Say = Callable[[str], None]


class BenchEnv:
    """What every scenario shares during one ``hoso bench`` run."""

    def __init__(self, base: Settings, run_dir: Path, say: Say) -> None:
        self.base = base
        self.run_dir = run_dir
        self.say = say
        self.run_id = secrets.token_hex(3)
        # The one process stack (start, stop, logs) shared with demo and chaos; the bench only gives each
        # process its scenario's settings.
        self.stack = Stack(base, run_dir, roles=())
        self._broker: Any = None
        self._bootstrap = base.bootstrap
        self._topics: list[list[str]] = []
        self._settings_list: list[Settings] = []

    # --- lifecycle -----------------------------------------------------------------------------------
    def __enter__(self) -> BenchEnv:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.base.local_broker:
            from hosoctl.local_kafka import LocalBroker

            self._broker = LocalBroker.from_settings(self.base, home=self.run_dir / "kafka", min_heap_mb=512)
            self.say(f"starting a local Kafka {self.base.kafka_version} for the bench…")
            self._broker.start()
            self._bootstrap = self._broker.config.bootstrap
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_processes()
        for s in self._settings_list:
            with contextlib.suppress(Exception):
                from hoso.kafka.admin import delete_topics

                delete_topics(kafka_python(s), [t.name for t in topics_of(s).all()])
        if self._broker is not None:
            self._broker.stop()

    @property
    def processes(self) -> list[Process]:
        """The child processes running now, oldest first."""
        return self.stack.processes

    def stop_processes(self) -> None:
        """Stop every child process started so far (SIGTERM, then SIGKILL)."""
        self.stack.stop_processes(timeout=15)

    # --- settings and topics -----------------------------------------------------------------------
    def settings(self, scenario: str, **overrides: Any) -> Settings:
        """Settings of one scenario: its own topics, app id, group and state folder; topics created."""
        from hoso.kafka.admin import create_topics

        prefix = f"bench-{self.run_id}-{scenario}"
        s = Settings.from_env(
            {
                **self.base.to_env(),
                "KAFKA_BOOTSTRAP": self._bootstrap,
                "HOSO_TOPIC_PREFIX": prefix,
                "HOSO_APP_ID": f"{prefix}-streams",
                "HOSO_DISPATCHER_GROUP": f"{prefix}-dispatcher",
                "HOSO_STATE_DIR": str(self.run_dir / "state" / scenario),
                "HOSO_METRICS_PORT": "0",
                # Intentional holds would measure the rules, not the machinery: no quiet hours, no collapse.
                "HOSO_QUIET_HOURS": "",
                "HOSO_COLLAPSE_WINDOW_S": "0",
                "HOSO_OA_CONFIG": str(self._oa_file()),
            }
        ).replace(**overrides)
        create_topics(kafka_python(s), s.topics, s.replication_factor)
        self._settings_list.append(s)
        return s

    def _oa_file(self) -> Path:
        from hoso.accounts import DEMO_OA

        path = self.run_dir / "bench-oas.json"
        if not path.exists():
            oa = {**asdict(DEMO_OA), "provinces": [], "rate_per_s": BENCH_OA_RATE, "burst": 100_000}
            path.write_bytes(orjson.dumps({"oas": [oa]}))
        return path

    # --- processes ---------------------------------------------------------------------------------
    def spawn(self, name: str, args: list[str], settings: Settings, extra_env: dict[str, str] | None = None) -> Process:
        """Start ``python -m hosoctl.cli <args>`` with ``settings`` in its environment."""
        return self.stack.spawn(name, args, extra_env, settings=settings)

    def stop(self, proc: Process) -> None:
        """Stop one child process started by ``spawn``."""
        self.stack.stop_process(proc, timeout=15)

    def simulator(self, settings: Settings, name: str = "simulator") -> tuple[Process, str]:
        """A Zalo simulator in its own process (so it does not share an event loop with the client)."""
        from zalo_simulator.config import DEMO_OA

        config = self.run_dir / "bench-simulator.json"
        if not config.exists():
            oa = {**asdict(DEMO_OA), "daily_quota": 1_000_000_000}
            config.write_bytes(orjson.dumps({"record_payloads": False, "oas": [oa]}))
        port = free_port()
        proc = self.spawn(name, ["simulator", "--port", str(port), "--config", str(config)], settings)
        wait_for_port(port, 30, proc.popen)
        return proc, f"http://127.0.0.1:{port}"

    @staticmethod
    def with_zalo(settings: Settings, url: str) -> Settings:
        """``settings`` pointing every Zalo URL at ``url``."""
        return settings.replace(zalo_zbs_url=url, zalo_oa_url=url, zalo_oauth_url=url)


def sim_accepted(url: str) -> int:
    """Messages the simulator accepted so far."""
    return int(httpx.get(f"{url}/_sim/stats", timeout=10).json()["accepted"])


def sim_messages(url: str, offset: int = 0) -> Iterator[dict[str, Any]]:
    """Every accepted message from ``offset`` on (paged)."""
    while True:
        page = httpx.get(f"{url}/_sim/messages", params={"offset": offset, "limit": 1000}, timeout=30).json()
        messages = page["messages"]
        if not messages:
            return
        yield from messages
        offset += len(messages)


class TopicCounter:
    """Counts the records of one topic (end minus beginning offsets) with one long-lived client."""

    def __init__(self, settings: Settings, topic: str) -> None:
        from kafka import KafkaConsumer, TopicPartition

        self._consumer = KafkaConsumer(**kafka_python(settings), enable_auto_commit=False)
        parts = self._consumer.partitions_for_topic(topic) or set()
        self._tps = [TopicPartition(topic, p) for p in sorted(parts)]
        begin = self._consumer.beginning_offsets(self._tps)
        self._begin = sum(begin.values())

    def __call__(self) -> int:
        return sum(self._consumer.end_offsets(self._tps).values()) - self._begin

    def close(self) -> None:
        """Close the client."""
        self._consumer.close()


def wait_until(
    read: Callable[[], int], target: int, timeout: float, *, every: float = 0.1, alive: Callable[[], None] | None = None
) -> tuple[float, float, int]:
    """Poll ``read`` until it reaches ``target``; return (time of first progress, time of target, value then).

    Timing from the first observed progress leaves process start-up and group joins out of the rate.
    """
    start_value = read()
    first: float | None = None
    first_value = start_value
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        now = time.monotonic()
        if first is None and value > start_value:
            first, first_value = now, value
        if value >= target:
            return (first if first is not None else now), now, first_value
        if now > deadline:
            raise HosoError(f"timed out after {timeout:.0f}s at {value}/{target}")
        if alive is not None:
            alive()
        time.sleep(every)


def run_loop(settings: Settings, args: list[str], timeout: float = 600.0) -> dict[str, Any]:
    """Run one baseline loop (``hosoctl.bench.loops``) in its own process; its JSON result."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "hosoctl.bench.loops", *args],
        env={**os.environ, **settings.to_env()},
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise HosoError(f"baseline {args[0]} failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
    results = [line for line in done.stdout.splitlines() if line.startswith(b"{")]
    if not results:
        raise HosoError(f"baseline {args[0]} printed no result:\n{done.stdout.decode(errors='replace')[-2000:]}")
    return dict(orjson.loads(results[-1]))


def topics_of(settings: Settings) -> Topics:
    """The topic catalogue of ``settings``."""
    return settings.topics
