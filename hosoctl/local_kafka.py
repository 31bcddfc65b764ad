"""A real single-node Apache Kafka broker (KRaft, combined broker + controller) on loopback.

Why this exists: development and tests need a genuine broker, not a mock, and Debian ships none.
The broker is run straight from the jars of ``org.apache.kafka:kafka_2.13`` that Maven resolves
from Maven Central (``deploy/kafka-local/pom.xml``), so no Kafka tarball has to be downloaded
while tests run and nothing has to be installed system-wide.

Everything the broker owns lives under one folder (``BrokerConfig.home``)::

    home/
      lib-<version>/        jars (unless BrokerConfig.jars_dir points elsewhere)
      data/                 KRaft metadata log and topic data (log.dirs)
      logs/broker.log       stdout+stderr of the JVM (log4j2 writes to the console)
      broker.pid            pid of the detached JVM
      cluster.id            KRaft cluster id, generated once and kept
      server.properties     rendered on every start
      log4j2.properties     rendered on every start

This module reads no environment variables; callers (the CLI, test fixtures) pass a BrokerConfig.
Only Linux is supported for process checks (``/proc/<pid>/cmdline``).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaConfigurationError, KafkaError

from hoso.errors import BrokerError
from hoso.kafka.sync_client import open_client
from hoso.settings import Settings

__all__ = ["BrokerConfig", "BrokerError", "BrokerStatus", "LocalBroker", "render_server_properties"]

DEFAULT_POM = Path(__file__).resolve().parents[1] / "deploy" / "kafka-local" / "pom.xml"

# Written into the jars folder after Maven succeeded, so a half-finished download is never trusted.
_JARS_MARKER = ".hoso-jars-complete"
_MAIN_CLASS = "kafka.Kafka"
_STORAGE_TOOL = "kafka.tools.StorageTool"
_LOG_TAIL_LINES = 40
_MVN_TIMEOUT_S = 900.0
_FORMAT_TIMEOUT_S = 120.0
_PROBE_TIMEOUT_S = 3.0
_STACK_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ more)")


@dataclass(frozen=True)
class BrokerConfig:
    """Where and how the local broker runs; every knob is explicit so tests can run side by side."""

    home: Path
    version: str = "4.4.0"
    host: str = "127.0.0.1"
    port: int = 19092
    controller_port: int = 19093
    heap_mb: int = 512
    pom: Path = DEFAULT_POM
    # Jars are large and identical for every home of one version; tests point this at a shared cache.
    jars_dir: Path | None = None
    # Merged last into server.properties (e.g. SASL listeners); these keys win over the defaults.
    extra_properties: Mapping[str, str] = field(default_factory=dict, hash=False)
    # Extra KafkaAdminClient keyword arguments for the readiness probe (e.g. security_protocol,
    # sasl_mechanism, sasl_plain_username) once extra_properties switch the listener to SASL.
    admin_options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("port", "controller_port"):
            value = getattr(self, name)
            if not 0 < value < 65536:
                raise ValueError(f"{name} must be a TCP port (1-65535), got {value}")
        if self.port == self.controller_port:
            raise ValueError(f"port and controller_port must differ (both {self.port})")
        if self.heap_mb < 64:
            raise ValueError(f"heap_mb={self.heap_mb} is too small for a Kafka broker (min 64)")
        if not self.version or "/" in self.version:
            raise ValueError(f"invalid Kafka version {self.version!r}")

    @property
    def bootstrap(self) -> str:
        """``host:port`` of the PLAINTEXT listener, as clients pass it in ``bootstrap_servers``."""
        return f"{_host_literal(self.host)}:{self.port}"

    @property
    def lib_dir(self) -> Path:
        """Folder of the resolved jars (``jars_dir`` or ``home/lib-<version>``)."""
        base = self.jars_dir if self.jars_dir is not None else self.home / f"lib-{self.version}"
        return base.expanduser()


@dataclass(frozen=True)
class BrokerStatus:
    """Snapshot of the broker: ``running`` = our JVM is alive, ``ready`` = it answered an admin call."""

    running: bool
    ready: bool
    pid: int | None
    bootstrap: str
    version: str
    data_dir: Path


class LocalBroker:
    """Starts, checks and stops the broker described by a BrokerConfig.

    All methods are safe to call repeatedly; start/stop/wipe serialise on a lock file in ``home`` so
    two processes (e.g. the CLI and a test session) cannot launch two JVMs on the same folder.
    """

    @classmethod
    def from_settings(cls, settings: Settings, *, home: Path | None = None, min_heap_mb: int = 0) -> LocalBroker:
        """The broker ``settings`` describe, or with ``home`` a private one (own data, shared jars, free ports).

        The private form is what demo-like tools that kill and restart the broker use, so they never touch
        the developer's own broker.
        """
        from hosoctl.processes import free_port

        heap = max(min_heap_mb, settings.kafka_heap_mb)
        if home is None:
            return cls(
                BrokerConfig(
                    home=settings.kafka_home,
                    version=settings.kafka_version,
                    port=settings.kafka_port,
                    controller_port=settings.kafka_controller_port,
                    heap_mb=heap,
                )
            )
        return cls(
            BrokerConfig(
                home=home,
                version=settings.kafka_version,
                port=free_port(),
                controller_port=free_port(),
                heap_mb=heap,
                jars_dir=settings.kafka_home / f"lib-{settings.kafka_version}",
            )
        )

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        # Resolved once: the absolute server.properties path is how we recognise our JVM in /proc.
        self.home = config.home.expanduser().resolve()
        self.lib_dir = config.lib_dir.resolve()
        self.data_dir = self.home / "data"
        self.logs_dir = self.home / "logs"
        self.log_file = self.logs_dir / "broker.log"
        self.pid_file = self.home / "broker.pid"
        self.cluster_id_file = self.home / "cluster.id"
        self.server_properties = self.home / "server.properties"
        self.log4j_config = self.home / "log4j2.properties"
        self._lock_file = self.home / ".lock"
        # The JVM we launched from this Python process, kept so that it can be reaped (no zombies).
        self._proc: subprocess.Popen[bytes] | None = None
        self._exit_code: int | None = None

    # ------------------------------------------------------------------ jars

    def ensure_jars(self, progress: Callable[[str], None] | None = None) -> Path:
        """Resolve the broker jars with Maven unless a complete copy is already there.

        Maven downloads into a staging folder that is renamed into place only after it succeeded
        and the marker file was written, so an interrupted run never leaves a usable-looking folder.
        ``progress`` is told about each jar Maven downloads (a first fetch takes minutes).
        """
        lib = self.lib_dir
        if self._jars_complete(lib):
            return lib
        lib.parent.mkdir(parents=True, exist_ok=True)
        # The jars folder may be shared by several homes (tests), so it has its own lock.
        with _flock(lib.parent / f".{lib.name}.lock"):
            if not self._jars_complete(lib):
                if progress is not None:
                    progress(f"resolving Kafka {self.config.version} jars with Maven into {lib} (first run only)")
                self._download_jars(lib, progress)
        return lib

    def _download_jars(self, lib: Path, progress: Callable[[str], None] | None = None) -> None:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError("Maven ('mvn') is not on PATH; it is needed once to fetch the Kafka jars")
        pom = self.config.pom
        if not pom.is_file():
            raise BrokerError(f"Maven POM for the local broker not found: {pom}")
        staging = Path(tempfile.mkdtemp(prefix=f".{lib.name}.", dir=lib.parent))
        try:
            cmd = [
                mvn, "-B", "-Dstyle.color=never", "-f", str(pom),
                f"-Dkafka.version={self.config.version}",
                "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
            ]  # fmt: skip
            result = _run_maven(cmd, progress)
            if result.returncode is None:
                raise BrokerError(f"Maven did not finish within {_MVN_TIMEOUT_S:.0f} s: {' '.join(cmd)}")
            if result.returncode != 0:
                raise BrokerError(
                    f"Maven failed (exit {result.returncode}) resolving Kafka {self.config.version}:"
                    f" {' '.join(cmd)}\n{_tail(result.stdout)}"
                )
            if not (staging / _kafka_jar_name(self.config.version)).is_file():
                raise BrokerError(
                    f"Maven succeeded but {_kafka_jar_name(self.config.version)} is missing in {staging}"
                    f" (does {pom} depend on kafka_2.13 ${{kafka.version}}?)\n{_tail(result.stdout)}"
                )
            (staging / _JARS_MARKER).write_text(self.config.version + "\n")
            staging.chmod(0o755)  # mkdtemp makes it private; the jars are not secret
            if lib.exists():
                shutil.rmtree(lib)  # incomplete leftovers of an interrupted attempt
            staging.rename(lib)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _jars_complete(self, lib: Path) -> bool:
        marker = lib / _JARS_MARKER
        try:
            recorded = marker.read_text().strip()
        except OSError:
            return False
        return recorded == self.config.version and (lib / _kafka_jar_name(self.config.version)).is_file()

    # ------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 90.0) -> None:
        """Make sure the broker runs and answers; launch it detached if it does not run yet.

        Readiness is a real Metadata round trip through kafka-python's admin client, because an open
        port does not mean the broker has finished joining its own KRaft quorum.
        """
        deadline = time.monotonic() + timeout
        self.home.mkdir(parents=True, exist_ok=True)
        with self._locked():
            pid = self._running_pid()
            if pid is not None:
                # Already running (maybe still starting from another invocation): just wait for it.
                self._wait_ready(pid, deadline, launched=False)
                return
            self.pid_file.unlink(missing_ok=True)  # stale: its process is gone or is not our broker
            java = shutil.which("java")
            if java is None:
                raise BrokerError("Java ('java') is not on PATH; Kafka 4.x needs Java 17 or newer")
            self.ensure_jars()
            self._check_ports_free()
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(self.server_properties, render_server_properties(self.config, self.data_dir))
            _write_atomic(self.log4j_config, LOG4J2_PROPERTIES)
            self._format_storage(java)
            self._exit_code = None
            self._proc = self._launch(java)
            self.pid_file.write_text(f"{self._proc.pid}\n")
            self._wait_ready(self._proc.pid, deadline, launched=True)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop our broker (SIGTERM, then SIGKILL after ``timeout``); True if one was running.

        A pid file whose process is gone, or now belongs to something that is not this home's
        broker (pids get reused), is removed without signalling anything.
        """
        if not self.home.is_dir():
            return False
        with self._locked():
            return self._stop_locked(timeout)

    def status(self) -> BrokerStatus:
        """Whether our JVM is alive and whether it answers an admin request right now."""
        pid = self._running_pid()
        ready = pid is not None and self._probe(timeout=_PROBE_TIMEOUT_S)
        return BrokerStatus(
            running=pid is not None,
            ready=ready,
            pid=pid,
            bootstrap=self.config.bootstrap,
            version=self.config.version,
            data_dir=self.data_dir,
        )

    def wipe(self) -> None:
        """Stop the broker and delete all topic data and KRaft metadata (the next start re-formats).

        The cluster id, jars, logs and rendered configs are kept.
        """
        if not self.home.is_dir():
            return
        with self._locked():
            self._stop_locked(30.0)
            if self.data_dir.exists():
                shutil.rmtree(self.data_dir)

    # -------------------------------------------------------------- internals

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        return _flock(self._lock_file)

    def _stop_locked(self, timeout: float) -> bool:
        pid = self._read_pid()
        if pid is None or not self._is_our_broker(pid):
            self.pid_file.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        if not self._wait_gone(pid, timeout):
            _signal_group(pid, signal.SIGKILL)
            if not self._wait_gone(pid, 10.0):
                raise BrokerError(f"broker pid {pid} survived SIGKILL")
        self.pid_file.unlink(missing_ok=True)
        return True

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _running_pid(self) -> int | None:
        pid = self._read_pid()
        return pid if pid is not None and self._is_our_broker(pid) else None

    def _is_our_broker(self, pid: int) -> bool:
        """True only for a live JVM running kafka.Kafka with *this* home's server.properties."""
        self._reap()
        if self._proc is not None and self._proc.pid == pid:
            # Launched by us: right after fork /proc still shows Python's cmdline, so trust Popen.
            return True
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False  # gone, or not visible to us: never signal what we cannot identify
        args = raw.decode(errors="replace").split("\0")
        # A zombie has an empty cmdline, so it counts as not running.
        return _MAIN_CLASS in args and str(self.server_properties) in args

    def _reap(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            self._exit_code = self._proc.returncode
            self._proc = None

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._is_our_broker(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def _check_ports_free(self) -> None:
        for port in (self.config.port, self.config.controller_port):
            if not _port_bindable(self.config.host, port):
                raise BrokerError(
                    f"{self.config.host}:{port} is already in use (another broker or service?);"
                    " stop it or choose other ports"
                )

    def _cluster_id(self) -> str:
        try:
            existing = self.cluster_id_file.read_text().strip()
        except OSError:
            existing = ""
        if existing:
            return existing
        # 16 random bytes, URL-safe base64 without padding: the format KRaft expects (22 chars). An id that
        # starts with "-" would be read by the storage tool's argument parser as an option, so draw again.
        cluster_id = "-"
        while cluster_id.startswith("-"):
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        _write_atomic(self.cluster_id_file, cluster_id + "\n")
        return cluster_id

    def _format_storage(self, java: str) -> None:
        if (self.data_dir / "meta.properties").is_file():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            java, "-Xmx256m", "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={self.log4j_config}",
            "-cp", str(self.lib_dir / "*"), _STORAGE_TOOL,
            "format", "-t", self._cluster_id(), "-c", str(self.server_properties),
        ]  # fmt: skip
        try:
            result = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=_FORMAT_TIMEOUT_S,
                check=False,
                cwd=self.home,
            )
        except subprocess.TimeoutExpired as exc:
            raise BrokerError(f"formatting {self.data_dir} timed out") from exc
        if result.returncode != 0:
            raise BrokerError(
                f"formatting KRaft storage in {self.data_dir} failed (exit {result.returncode}):\n"
                f"{_tail(result.stdout)}"
            )

    def _launch(self, java: str) -> subprocess.Popen[bytes]:
        if self.log_file.exists():
            self.log_file.replace(self.log_file.with_name(self.log_file.name + ".1"))
        heap = f"{self.config.heap_mb}m"
        cmd = [
            java, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={self.log4j_config}",
            "-cp", str(self.lib_dir / "*"), _MAIN_CLASS, str(self.server_properties),
        ]  # fmt: skip
        with self.log_file.open("ab") as out:
            # New session: the broker outlives this Python process and gets no terminal signals.
            return subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                start_new_session=True,
            )

    def _wait_ready(self, pid: int, deadline: float, *, launched: bool) -> None:
        while True:
            if not self._is_our_broker(pid):
                self.pid_file.unlink(missing_ok=True)
                code = f" with exit code {self._exit_code}" if launched and self._exit_code is not None else ""
                tail = self.log_tail()
                hint = ""
                if "Unsupported metadata version" in tail or "No MetadataVersion with feature level" in tail:
                    hint = (
                        "\nhint: the data folder was formatted by a newer Kafka than"
                        f" {self.config.version}; wipe it (LocalBroker.wipe) or run the newer version"
                    )
                raise BrokerError(
                    f"the Kafka broker (pid {pid}) died during startup{code}; last lines of"
                    f" {self.log_file}:\n{tail}{hint}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self._probe(timeout=min(remaining, _PROBE_TIMEOUT_S)):
                return
            time.sleep(min(0.25, max(deadline - time.monotonic(), 0)))
        if launched:
            # Do not leave a half-started JVM behind that the next start would mistake for ours-and-fine.
            with contextlib.suppress(BrokerError):
                self._stop_locked(10.0)
        raise BrokerError(
            f"the Kafka broker (pid {pid}) did not answer on {self.config.bootstrap} in time;"
            f" last lines of {self.log_file}:\n{self.log_tail()}"
        )

    def _probe(self, timeout: float) -> bool:
        """One Metadata round trip with kafka-python's admin client."""
        # A cheap TCP check first: an admin client waits out its whole bootstrap timeout on a closed port.
        try:
            with socket.create_connection((self.config.host, self.config.port), timeout=min(timeout, 1.0)):
                pass
        except OSError:
            return False
        timeout_ms = max(int(timeout * 1000), 1000)
        try:
            admin = open_client(
                KafkaAdminClient,
                bootstrap_servers=self.config.bootstrap,
                client_id="hoso-kafka-local-probe",
                request_timeout_ms=timeout_ms,
                bootstrap_timeout_ms=timeout_ms,
                **dict(self.config.admin_options),
            )
        except KafkaConfigurationError as exc:
            raise BrokerError(f"invalid admin_options for the readiness probe: {exc}") from exc
        except (KafkaError, OSError):
            return False
        try:
            admin.list_topics()
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()
        return True

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Last lines of the broker log, for error messages and `hoso kafka status`."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no broker log yet)"
        # Java stack frames would push the actual error messages out of a short tail.
        kept = [line for line in text.splitlines() if not _STACK_FRAME.match(line)]
        return _tail("\n".join(kept), lines) or "(broker log is empty)"


# ------------------------------------------------------------------ rendering


def render_server_properties(config: BrokerConfig, data_dir: Path) -> str:
    """The server.properties of a one-node KRaft cluster; ``config.extra_properties`` win."""
    host = _host_literal(config.host)
    props: dict[str, str] = {
        "process.roles": "broker,controller",
        "node.id": "1",
        # Static voters: plain `StorageTool format -t ID -c FILE` works (no --standalone needed).
        "controller.quorum.voters": f"1@{host}:{config.controller_port}",
        "listeners": f"PLAINTEXT://{host}:{config.port},CONTROLLER://{host}:{config.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{config.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        # The project creates every topic explicitly; a typo must fail, not create a topic.
        "auto.create.topics.enable": "false",
        # Defaults are 3 replicas: internal topics would never come up on one node.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",  # default 50 makes the first FindCoordinator slow
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "share.coordinator.state.topic.num.partitions": "1",
        # No 3 s wait for more members before the first rebalance of a consumer group.
        "group.initial.rebalance.delay.ms": "0",
    }
    props.update(config.extra_properties)
    lines = ["# Generated by hosoctl.local_kafka on every start; edits are overwritten."]
    lines += [f"{_escape_key(key)}={_escape_value(value)}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


# log4j2 core only (no YAML/JSON layouts, so no extra jars); stdout is redirected to logs/broker.log.
LOG4J2_PROPERTIES = """\
# Generated by hosoctl.local_kafka on every start; edits are overwritten.
status = warn
name = hoso-kafka-local
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.target = SYSTEM_OUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
# A few INFO lines to make the log useful at a glance: signal handlers, "Kafka version" (AppInfoParser,
# in ...utils.internals since 4.4) and "Kafka Server started".
logger.appinfo.name = org.apache.kafka.common.utils
logger.appinfo.level = info
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = info
"""


# -------------------------------------------------------------------- helpers


def _kafka_jar_name(version: str) -> str:
    return f"kafka_2.13-{version}.jar"


def _host_literal(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _escape_key(key: str) -> str:
    out = key.replace("\\", "\\\\")
    for char in (" ", ":", "=", "#", "!"):
        out = out.replace(char, "\\" + char)
    return out


def _escape_value(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock between processes (not re-entrant: one holder per process at a time)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _port_bindable(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Like the JVM: a port left in TIME_WAIT by the previous broker is free to reuse.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError:
            return False
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the broker's process group (it leads its own session), or just the pid otherwise."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


@dataclass(frozen=True)
class _MavenRun:
    returncode: int | None  # None: killed at the timeout
    stdout: str


def _run_maven(cmd: list[str], progress: Callable[[str], None] | None) -> _MavenRun:
    """Run Maven, telling ``progress`` about every jar it downloads; kill it after ``_MVN_TIMEOUT_S``."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        proc.kill()

    timer = threading.Timer(_MVN_TIMEOUT_S, expire)
    timer.start()
    lines: list[str] = []
    jars = 0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if progress is not None and line.startswith("Downloaded from") and ".jar " in line:
                jars += 1
                progress(f"kafka fetch: {jars} jars downloaded ({line.split()[3].rsplit('/', 1)[-1]})")
        code = proc.wait()
    finally:
        timer.cancel()
    return _MavenRun(None if expired.is_set() else code, "".join(lines))
