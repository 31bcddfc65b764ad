"""Tests of hosoctl.local_kafka against a real Kafka broker started from the Maven jars.

One broker (temporary home, free ports) is shared by the module; the jars come from the per-machine
cache ``~/.cache/hoso/kafka/lib-<version>`` so Maven runs at most once per machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from hosoctl import local_kafka as kafka_local
from hosoctl.local_kafka import BrokerConfig, BrokerError, LocalBroker, render_server_properties

VERSION = "4.4.0"
SHARED_JARS = Path.home() / ".cache" / "hoso" / "kafka" / f"lib-{VERSION}"

needs_java = pytest.mark.skipif(
    shutil.which("java") is None or (shutil.which("mvn") is None and not SHARED_JARS.is_dir()),
    reason="needs Java, and Maven unless the jars are already cached",
)
needs_mvn = pytest.mark.skipif(shutil.which("mvn") is None, reason="needs Maven")


def free_ports(count: int) -> list[int]:
    """Ports the OS reports free right now (held open together, so they are distinct)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def make_config(home: Path, **overrides: object) -> BrokerConfig:
    port, controller_port = free_ports(2)
    values: dict[str, object] = {
        "home": home,
        "version": VERSION,
        "port": port,
        "controller_port": controller_port,
        "heap_mb": 256,
        "jars_dir": SHARED_JARS,
    }
    values.update(overrides)
    return BrokerConfig(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def shared_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    broker = LocalBroker(make_config(tmp_path_factory.mktemp("kafka-home")))
    try:
        started = time.monotonic()
        broker.start()
        print(f"broker started in {time.monotonic() - started:.1f} s")  # visible with -s
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def broker(shared_broker: LocalBroker) -> LocalBroker:
    """The shared broker, running (start is idempotent, so test order does not matter)."""
    shared_broker.start()
    return shared_broker


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


# ------------------------------------------------------------------ no broker needed


def test_config_defaults_and_bootstrap(tmp_path: Path) -> None:
    config = BrokerConfig(home=tmp_path)
    assert config.bootstrap == "127.0.0.1:19092"
    assert config.lib_dir == tmp_path / "lib-4.4.0"
    assert config.pom.name == "pom.xml" and config.pom.parent.name == "kafka-local"
    assert config.pom.is_file()
    assert BrokerConfig(home=tmp_path, jars_dir=SHARED_JARS).lib_dir == SHARED_JARS


@pytest.mark.parametrize(
    "overrides",
    [{"port": 0}, {"port": 70000}, {"port": 9000, "controller_port": 9000}, {"heap_mb": 16}, {"version": ""}],
)
def test_config_rejects_nonsense(tmp_path: Path, overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BrokerConfig(home=tmp_path, **overrides)  # type: ignore[arg-type]


def test_server_properties_single_node(tmp_path: Path) -> None:
    config = BrokerConfig(home=tmp_path, port=29092, controller_port=29093)
    props = parse_properties(render_server_properties(config, tmp_path / "data"))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["auto.create.topics.enable"] == "false"
    for key in (
        "offsets.topic.replication.factor",
        "offsets.topic.num.partitions",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
    ):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_extra_properties_win(tmp_path: Path) -> None:
    extra = {
        "listeners": "SASL_PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN",
    }
    config = BrokerConfig(home=tmp_path, port=29092, controller_port=29093, extra_properties=extra)
    props = parse_properties(render_server_properties(config, tmp_path / "data"))
    for key, value in extra.items():
        assert props[key] == value
    assert props["node.id"] == "1"


def test_ensure_jars_without_maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_local.shutil, "which", lambda _name: None)
    broker = LocalBroker(BrokerConfig(home=tmp_path))
    with pytest.raises(BrokerError, match="Maven"):
        broker.ensure_jars()


@needs_mvn
def test_ensure_jars_reports_maven_failure(tmp_path: Path) -> None:
    pom = tmp_path / "pom.xml"
    pom.write_text("<project><this is not a pom")
    broker = LocalBroker(BrokerConfig(home=tmp_path, pom=pom))
    with pytest.raises(BrokerError, match=r"Maven failed \(exit \d+\)") as info:
        broker.ensure_jars()
    assert "pom.xml" in str(info.value)  # the tail of Maven's output is included
    assert not (tmp_path / "lib-4.4.0").exists()
    assert [p for p in tmp_path.glob(".lib-*") if p.is_dir()] == []  # staging folder cleaned up


FAKE_MVN = """#!/bin/sh
# Stand-in for Maven: logs its arguments and "copies" a kafka jar into -DoutputDirectory.
echo "$@" >> "$(dirname "$0")/calls.log"
for arg in "$@"; do
  case "$arg" in
    -DoutputDirectory=*) out="${arg#-DoutputDirectory=}" ;;
    -Dkafka.version=*) version="${arg#-Dkafka.version=}" ;;
  esac
done
repo="https://repo.maven.apache.org/maven2/org/apache/kafka/kafka-clients/$version"
echo "Downloading from central: $repo/kafka-clients-$version.pom"
echo "Downloaded from central: $repo/kafka-clients-$version.jar (12 MB at 3 MB/s)"
touch "$out/kafka_2.13-$version.jar" "$out/kafka-clients-$version.jar"
"""


def test_ensure_jars_replaces_incomplete_copy_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "mvn"
    fake.write_text(FAKE_MVN)
    fake.chmod(0o755)
    monkeypatch.setattr(kafka_local.shutil, "which", lambda name: str(fake) if name == "mvn" else None)
    broker = LocalBroker(BrokerConfig(home=tmp_path / "home", version="4.3.1"))
    lib = broker.lib_dir
    lib.mkdir(parents=True)
    (lib / "half-downloaded.jar").write_text("")  # an interrupted earlier run: no marker

    assert broker.ensure_jars() == lib
    assert broker.ensure_jars() == lib  # second call: complete, Maven not run again
    assert sorted(p.name for p in lib.glob("*.jar")) == ["kafka-clients-4.3.1.jar", "kafka_2.13-4.3.1.jar"]
    calls = (bin_dir / "calls.log").read_text().splitlines()
    assert len(calls) == 1
    assert "-Dkafka.version=4.3.1" in calls[0] and "dependency:copy-dependencies" in calls[0]
    assert "-DincludeScope=runtime" in calls[0]


def test_a_first_fetch_reports_each_jar_maven_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "mvn"
    fake.write_text(FAKE_MVN)
    fake.chmod(0o755)
    monkeypatch.setattr(kafka_local.shutil, "which", lambda name: str(fake) if name == "mvn" else None)
    broker = LocalBroker(BrokerConfig(home=tmp_path / "home", version="4.4.0"))
    said: list[str] = []
    broker.ensure_jars(progress=said.append)
    assert said[0].startswith("resolving Kafka 4.4.0 jars with Maven")
    assert said[1:] == ["kafka fetch: 1 jars downloaded (kafka-clients-4.4.0.jar)"]
    said.clear()
    broker.ensure_jars(progress=said.append)
    assert said == []  # already there: nothing to report


def test_stale_pid_of_unrelated_process_is_not_killed(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    broker = LocalBroker(make_config(tmp_path))
    broker.pid_file.write_text(f"{sleeper.pid}\n")
    status = broker.status()
    assert not status.running and status.pid is None and not status.ready
    assert broker.stop() is False
    time.sleep(0.2)
    assert sleeper.poll() is None, "an unrelated process was signalled"
    assert not broker.pid_file.exists()


def test_garbage_pid_file_is_ignored(tmp_path: Path) -> None:
    broker = LocalBroker(make_config(tmp_path))
    broker.pid_file.write_text("not a pid\n")
    assert broker.status().running is False
    assert broker.stop() is False


# ---------------------------------------------------------------------- real broker


@pytest.mark.broker
@needs_java
def test_ensure_jars_is_idempotent(shared_broker: LocalBroker, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_maven(*args: object, **kwargs: object) -> None:
        raise AssertionError("Maven must not run when the jars are complete")

    monkeypatch.setattr(kafka_local.subprocess, "run", no_maven)
    assert shared_broker.ensure_jars() == SHARED_JARS.resolve()
    assert (SHARED_JARS / f"kafka_2.13-{VERSION}.jar").is_file()


@pytest.mark.broker
@needs_java
def test_started_broker_is_ready(broker: LocalBroker) -> None:
    status = broker.status()
    assert status.running and status.ready
    assert status.pid is not None
    assert status.bootstrap == broker.config.bootstrap
    assert status.version == VERSION
    assert (status.data_dir / "meta.properties").is_file()
    assert "Kafka Server started" in broker.log_file.read_text()


@pytest.mark.broker
@needs_java
def test_start_twice_is_idempotent(broker: LocalBroker) -> None:
    pid = broker.status().pid
    started = time.monotonic()
    broker.start()
    assert time.monotonic() - started < 10
    # A second handle (as another process would make) finds the same JVM through the pid file.
    other = LocalBroker(broker.config)
    other.start()
    assert broker.status().pid == other.status().pid == pid


@pytest.mark.broker
@needs_java
def test_kafka_python_round_trip(broker: LocalBroker) -> None:
    topic = "kafka-python-round-trip"
    bootstrap = broker.config.bootstrap
    with KafkaAdminClient(bootstrap_servers=bootstrap) as admin:
        result = admin.create_topics(
            {topic: {"num_partitions": 2, "replication_factor": 1, "configs": {"cleanup.policy": "compact"}}},
            wait_for_metadata=True,
        )
        assert [t["error_code"] for t in result["topics"]] == [0]
        again = admin.create_topics({topic: {"num_partitions": 2, "replication_factor": 1}}, raise_errors=False)
        assert again["topics"][0]["error_code"] == 36  # TOPIC_ALREADY_EXISTS
        assert topic in admin.list_topics()
    with KafkaProducer(bootstrap_servers=bootstrap) as producer:
        meta = producer.send(topic, key=b"dossier-1", value=b"received").get(timeout=30)
    with KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id="kafka-python-round-trip",
        auto_offset_reset="earliest",
        consumer_timeout_ms=30_000,
    ) as consumer:
        record = next(iter(consumer))
    assert (record.partition, record.offset) == (meta.partition, meta.offset)
    assert (record.key, record.value) == (b"dossier-1", b"received")


@pytest.mark.broker
@needs_java
async def test_aiokafka_round_trip(broker: LocalBroker) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = "aiokafka-round-trip"
    bootstrap = broker.config.bootstrap
    with KafkaAdminClient(bootstrap_servers=bootstrap) as admin:
        admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}}, wait_for_metadata=True)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, b"sent", key=b"dossier-2")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id="aiokafka-round-trip", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
    assert (record.offset, record.key, record.value) == (meta.offset, b"dossier-2", b"sent")


@pytest.mark.broker
@needs_java
def test_pid_of_another_homes_broker_is_not_killed(broker: LocalBroker, tmp_path: Path) -> None:
    # A real kafka.Kafka JVM, but started for a different home: stop() must leave it alone.
    other = LocalBroker(make_config(tmp_path))
    other.pid_file.write_text(f"{broker.status().pid}\n")
    assert other.status().running is False
    assert other.stop() is False
    assert broker.status().ready


@pytest.mark.broker
@needs_java
def test_port_in_use_is_reported(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = LocalBroker(make_config(tmp_path, port=port))
        with pytest.raises(BrokerError, match="already in use"):
            broker.start(timeout=30)
    assert broker.status().running is False


@pytest.mark.broker
@needs_java
def test_death_during_startup_shows_log_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Someone grabs the controller port between our check and the JVM's bind (simulated by skipping
    # the check): the JVM exits, and the error must carry the broker log.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        broker = LocalBroker(make_config(tmp_path, controller_port=squatter.getsockname()[1]))
        monkeypatch.setattr(broker, "_check_ports_free", lambda: None)
        with pytest.raises(BrokerError, match="died during startup") as info:
            broker.start(timeout=60)
    assert "Address already in use" in str(info.value)
    assert not broker.pid_file.exists()
    assert broker.status().running is False


@pytest.mark.broker
@needs_java
def test_stop_then_wipe_then_start_again(broker: LocalBroker) -> None:
    cluster_id = broker.cluster_id_file.read_text().strip()
    assert broker.stop() is True
    status = broker.status()
    assert not status.running and not status.ready and status.pid is None
    assert not broker.pid_file.exists()
    assert broker.stop() is False

    (broker.data_dir / "marker").write_text("x")
    broker.wipe()
    assert not broker.data_dir.exists()

    broker.start()  # re-formats, keeping the cluster id
    assert broker.status().ready
    with KafkaAdminClient(bootstrap_servers=broker.config.bootstrap) as admin:
        assert admin.describe_cluster()["cluster_id"] == cluster_id
        assert "kafka-python-round-trip" not in admin.list_topics()

    broker.wipe()  # stops a running broker too
    assert not broker.status().running
    assert not broker.data_dir.exists()


# ------------------------------------------------------------------------- helpers


def parse_properties(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            props[key] = value
    return props
