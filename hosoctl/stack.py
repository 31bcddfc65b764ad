"""The processes of one local run (simulator, worker, dispatcher), started and stopped together.

Used by ``hoso demo``, ``hoso chaos`` and the integration tests.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from hoso.errors import HosoError
from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from hosoctl.processes import Process, free_port, wait_for_port
from schemas.topics import Topics


class Stack:
    """The processes of one demo run; stops what it started, in reverse order."""

    def __init__(
        self,
        settings: Settings,
        run_dir: Path,
        zalo_faults: str,
        role_env: dict[str, dict[str, str]] | None = None,
        *,
        instances: dict[str, int] | None = None,
        simulator_args: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.run_dir = run_dir
        self.zalo_faults = zalo_faults
        # Extra environment per role (e.g. library tuning a campaign needs), merged over the settings.
        self.role_env = role_env or {}
        # How many processes of a role to run (default one); the second and later are named "<role>-2", ...
        self.instances = instances or {}
        self.simulator_args = simulator_args or []
        self.processes: list[Process] = []
        self.broker_started = False
        self.simulator_url = ""
        self.metrics_ports: dict[str, int] = {}
        self.topics: Topics = settings.topics

    def start(self, say: Any) -> None:
        """Broker (if local and not running), topics, simulator, worker, dispatcher."""
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
        sim_port = free_port()
        self.simulator_url = f"http://127.0.0.1:{sim_port}"
        sim_args = ["simulator", "--port", str(sim_port), *self.simulator_args]
        if self.zalo_faults:
            sim_args += ["--faults", self.zalo_faults]
        sim = self._spawn("simulator", sim_args, {})
        wait_for_port(sim_port, 30, sim.popen)
        for role in ("worker", "dispatcher"):
            for name in self.names(role):
                port = free_port()
                self.metrics_ports[name] = port
                env = {
                    "HOSO_METRICS_PORT": str(port),
                    "HOSO_ZALO_ZBS_URL": self.simulator_url,
                    "HOSO_ZALO_OA_URL": self.simulator_url,
                    "HOSO_ZALO_OAUTH_URL": self.simulator_url,
                    **self.role_env.get(role, {}),
                }
                if len(self.names(role)) > 1:  # each instance keeps its own local state (Faust's RocksDB)
                    env["HOSO_STATE_DIR"] = str(self.settings.state_dir / name)
                self._spawn(name, [role], env)
        say(f"simulator {self.simulator_url}, worker and dispatcher started (logs in {self.run_dir / 'logs'})")

    def names(self, role: str) -> list[str]:
        """Process names of ``role``: ``role`` itself, then ``role-2``, ``role-3``, ..."""
        return [role if i == 1 else f"{role}-{i}" for i in range(1, max(1, self.instances.get(role, 1)) + 1)]

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
            from hosoctl.local_kafka import LocalBroker

            LocalBroker.from_settings(self.settings).stop()
