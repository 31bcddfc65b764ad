"""The processes of one local run (simulator, worker, dispatcher, and optionally gateway, webhook, SMS, ratings).

The one process stack used by ``hoso demo``, ``hoso chaos``, ``hoso bench`` and the integration tests: it
creates the run's topics and waits until every partition has a leader (so the first produce does not meet
``NotLeaderForPartitionError``), starts each role as its own ``hoso`` subcommand with the run's settings, and
stops what it started, in reverse order.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from hoso.errors import BrokerError, HosoError
from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from hosoctl.processes import Process, free_port, wait_for_port
from schemas.topics import Topics

PIPELINE_ROLES = ("worker", "dispatcher")
"""What every run needs behind the simulator."""
INGRESS_ROLES = ("gateway", "webhook")
"""The HTTP front doors: agencies' ingest gateway and Zalo's webhook receiver."""
OPTIONAL_ROLES = ("sms", "ratings-sync")
"""Roles off unless asked for: the SMS fallback (texts through an SMS provider simulator the stack starts) and
the rating sync-back (posts to the agency systems named by ``HOSO_RATINGS_SYNC_CONFIG``)."""
ROLE_COMMANDS: dict[str, list[str]] = {"ratings-sync": ["ratings", "sync"]}
"""The ``hoso`` arguments of a role whose subcommand is not its name."""
SMS_SIM_KEY, SMS_SIM_BRANDNAME = "sms-demo-key", "HOSO-DEMO"
"""The SMS simulator's default account: the stack's providers file texts through it for the run's OA."""

Say = Callable[[str], None]


def wait_for_leaders(settings: Settings, names: Iterable[str], timeout: float = 60.0) -> None:
    """Wait until every partition of ``names`` has a leader the cluster metadata agrees on."""
    from kafka import KafkaAdminClient

    wanted = sorted(set(names))
    admin = KafkaAdminClient(**kafka_python(settings), client_id="hoso-admin")
    try:
        deadline = time.monotonic() + timeout
        while True:
            missing = [
                str(d.get("name"))
                for d in admin.describe_topics(wanted)
                if d.get("error_code")
                or not d.get("partitions")
                or any(p.get("error_code") or p.get("leader_id", -1) < 0 for p in d["partitions"])
            ]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise BrokerError(f"no partition leader after {timeout:.0f}s for: {', '.join(missing[:5])}")
            time.sleep(0.2)
    finally:
        admin.close()


class Stack:
    """The processes of one run; stops what it started, in reverse order."""

    def __init__(
        self,
        settings: Settings,
        run_dir: Path,
        zalo_faults: str = "",
        role_env: dict[str, dict[str, str]] | None = None,
        roles: tuple[str, ...] = PIPELINE_ROLES,
        *,
        instances: dict[str, int] | None = None,
        simulator_args: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.run_dir = run_dir
        self.zalo_faults = zalo_faults
        # Extra environment per role (e.g. library tuning a campaign needs), merged over the settings.
        self.role_env = dict(role_env or {})
        # How many processes of a role to run (default one); the second and later are named "<role>-2", ...
        self.instances = instances or {}
        self.simulator_args = simulator_args or []
        self.roles = roles
        self.processes: list[Process] = []
        self.broker_started = False
        self.simulator_url = ""
        self.sms_simulator_url = ""
        """The SMS provider simulator's base URL (only with the ``sms`` role)."""
        self.urls: dict[str, str] = {}
        """Base URL of each HTTP role started (gateway, webhook)."""
        self.metrics_ports: dict[str, int] = {}
        self.topics: Topics = settings.topics

    @property
    def inbox_url(self) -> str:
        """The simulator's live inbox page."""
        return f"{self.simulator_url}/_sim/inbox"

    def start(self, say: Say) -> None:
        """Broker (if local and not running), topics (with leaders), simulator, then each role."""
        from hoso.kafka.admin import create_topics

        if self.settings.local_broker:
            from hosoctl.local_kafka import LocalBroker

            broker = LocalBroker.from_settings(self.settings)
            if not broker.status().ready:
                say(f"starting Kafka {self.settings.kafka_version} (first run downloads jars with Maven)…")
                broker.start()
                self.broker_started = True
        say(f"creating topics {self.settings.topic_prefix}.* on {self.settings.bootstrap}")
        create_topics(kafka_python(self.settings), self.topics, self.settings.replication_factor)
        wait_for_leaders(self.settings, [t.name for t in self.topics.all()])
        ports = {role: free_port() for role in INGRESS_ROLES if role in self.roles}
        for role, port in ports.items():
            self.urls[role] = f"http://127.0.0.1:{port}"
        sim_port = free_port()
        self.simulator_url = f"http://127.0.0.1:{sim_port}"
        sim_args = ["simulator", "--port", str(sim_port), *self.simulator_args]
        if self.zalo_faults:
            sim_args += ["--faults", self.zalo_faults]
        if "webhook" in self.urls:  # ZBS delivery receipts go to our receiver, as Zalo's would
            sim_args += ["--webhook-url", f"{self.urls['webhook']}/zalo/webhook"]
        sim = self.spawn("simulator", sim_args)
        wait_for_port(sim_port, 30, sim.popen)
        if "sms" in self.roles:
            self.role_env["sms"] = {"HOSO_SMS_CONFIG": str(self._start_sms_simulator()), **self.role_env.get("sms", {})}
        for role in self.roles:
            for name in self.names(role):
                self.metrics_ports[name] = port = free_port()
                env = {
                    "HOSO_METRICS_PORT": str(port),
                    "HOSO_ZALO_ZBS_URL": self.simulator_url,
                    "HOSO_ZALO_OA_URL": self.simulator_url,
                    "HOSO_ZALO_OAUTH_URL": self.simulator_url,
                }
                if role in ports:
                    env[f"HOSO_{role.upper()}_HOST"] = "127.0.0.1"
                    env[f"HOSO_{role.upper()}_PORT"] = str(ports[role])
                if len(self.names(role)) > 1:  # each instance keeps its own local state (Faust's RocksDB)
                    env["HOSO_STATE_DIR"] = str(self.settings.state_dir / name)
                self.spawn(name, ROLE_COMMANDS.get(role, [role]), {**env, **self.role_env.get(role, {})})
        for role, port in ports.items():
            wait_for_port(port, 60, self.process(role).popen)
        say(f"simulator {self.simulator_url}, {', '.join(self.roles)} started (logs in {self.run_dir / 'logs'})")

    def _start_sms_simulator(self) -> Path:
        """Start the SMS provider simulator; the providers file that sends the run's OA's texts through it."""
        port = free_port()
        self.sms_simulator_url = f"http://127.0.0.1:{port}"
        proc = self.spawn(
            "sms-simulator", ["sms-simulator", "--port", str(port), "--key", f"{SMS_SIM_KEY}={SMS_SIM_BRANDNAME}"]
        )
        wait_for_port(port, 30, proc.popen)
        provider = {
            "name": "simulator",
            "url": self.sms_simulator_url,
            "api_key": SMS_SIM_KEY,
            "brandname": SMS_SIM_BRANDNAME,
            "oa_ids": [self.settings.default_oa_id],
        }
        path = self.run_dir / "sms-providers.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps({"providers": [provider], "default": "simulator"}))
        return path

    def names(self, role: str) -> list[str]:
        """Process names of ``role``: ``role`` itself, then ``role-2``, ``role-3``, ..."""
        return [role if i == 1 else f"{role}-{i}" for i in range(1, max(1, self.instances.get(role, 1)) + 1)]

    def spawn(
        self, name: str, args: list[str], extra: Mapping[str, str] | None = None, settings: Settings | None = None
    ) -> Process:
        """Start ``hoso <args>`` as ``name`` with ``settings`` (default: the stack's) and ``extra`` in its env."""
        env = {**(settings or self.settings).to_env(), **(extra or {})}
        proc = Process(name, args, env, self.run_dir / "logs" / f"{name}.log").start()
        self.processes.append(proc)
        return proc

    def process(self, name: str) -> Process:
        """The process started under ``name`` (simulator, worker, dispatcher, gateway, webhook, sms, ...)."""
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

    def stop_process(self, proc: Process, timeout: float = 20.0) -> None:
        """Stop one process this stack started and forget it."""
        proc.stop(timeout=timeout)
        with contextlib.suppress(ValueError):
            self.processes.remove(proc)

    def stop_processes(self, timeout: float = 20.0) -> None:
        """Stop every process (SIGTERM, then SIGKILL), newest first."""
        while self.processes:
            self.processes.pop().stop(timeout=timeout)

    def stop(self, delete_topics: bool = True) -> None:
        """Stop children, delete this run's topics, stop the broker if we started it."""
        self.stop_processes()
        if delete_topics:
            with contextlib.suppress(Exception):
                from hoso.kafka.admin import delete_topics

                delete_topics(kafka_python(self.settings), [t.name for t in self.topics.all()])
        if self.broker_started:
            from hosoctl.local_kafka import LocalBroker

            LocalBroker.from_settings(self.settings).stop()


def describe(stack: Stack) -> dict[str, Any]:
    """Where to look while a stack runs (printed by ``hoso demo --keep-running``)."""
    return {
        "inbox": stack.inbox_url,
        "simulator": stack.simulator_url,
        **stack.urls,
        **({"sms_simulator": stack.sms_simulator_url} if stack.sms_simulator_url else {}),
        "metrics": {role: f"http://127.0.0.1:{port}/metrics" for role, port in stack.metrics_ports.items()},
        "bootstrap": stack.settings.bootstrap,
        "topic_prefix": stack.settings.topic_prefix,
        "logs": str(stack.run_dir / "logs"),
    }
