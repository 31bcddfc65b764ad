"""The hoso command as a script sees it: documented exit codes, --version, JSON logs, pipes, role start-up guards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hoso.secret_guard import is_loopback_url, problems
from hoso.settings import Settings
from hosoctl.cli import EXIT_CONFIG, EXIT_FAILED, EXIT_IO, EXIT_OK, EXIT_USAGE

REAL_ZALO = {
    "HOSO_ZALO_ZBS_URL": "https://business.openapi.zalo.me",
    "HOSO_ZALO_OA_URL": "https://openapi.zalo.me",
    "HOSO_ZALO_OAUTH_URL": "https://oauth.zaloapp.com",
}


def hoso(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOSO_")}
    return subprocess.run(
        [sys.executable, "-m", "hosoctl.cli", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version_prints_the_package_version():
    done = hoso("--version")
    assert done.returncode == EXIT_OK
    assert done.stdout.startswith("hoso ") and done.stdout.split()[1][0].isdigit()


def test_a_usage_error_exits_2_and_a_configuration_error_exits_3():
    assert hoso("topics", "drop").returncode == EXIT_USAGE
    done = hoso("topics", "list", env={"HOSO_PARTITIONS": "zero"})
    assert done.returncode == EXIT_CONFIG
    assert "HOSO_PARTITIONS" in done.stderr and "Traceback" not in done.stderr


def test_the_demo_runs_only_the_optional_roles_it_knows():
    done = hoso("demo", "--with", "sms", "--with", "rating-sync")  # a typo: nothing starts
    assert done.returncode == EXIT_USAGE
    assert "invalid choice: 'rating-sync'" in done.stderr and "ratings-sync" in done.stderr


def test_an_io_failure_exits_4_with_one_line_and_no_traceback(tmp_path: Path):
    done = hoso("publish", str(tmp_path / "no-such-file.jsonl"), env={"KAFKA_BOOTSTRAP": "127.0.0.1:9"})
    assert done.returncode == EXIT_IO
    assert done.stderr.startswith("hoso: ") and "Traceback" not in done.stderr


def test_a_failed_check_exits_1(tmp_path: Path):
    done = hoso("kafka", "status", env={"HOSO_KAFKA_HOME": str(tmp_path / "kafka")})
    assert done.returncode == EXIT_FAILED
    assert orjson.loads(done.stdout)["ready"] is False


def test_the_exit_codes_are_documented_in_the_help():
    assert "0 ok, 1 a check failed, 2 usage, 3 configuration, 4 Kafka or I/O" in hoso("--help").stdout


def test_output_cut_short_by_a_pipe_ends_quietly():
    done = subprocess.run(
        f"{sys.executable} -m hosoctl.cli generate --dossiers 3000 | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_json_log_format_writes_one_object_a_line():
    assert hoso("settings", env={"HOSO_LOG_FORMAT": "json"}).returncode == EXIT_OK
    code = (
        "import logging, sys; from hosoctl import cli; cli.configure_logging('INFO', 'json');"
        "logging.getLogger('hoso.test').warning('Hồ sơ %s', 'X1')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    [line] = out.stderr.splitlines()
    entry = orjson.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "hoso.test" and entry["message"] == "Hồ sơ X1"
    assert hoso("settings", env={"HOSO_LOG_FORMAT": "yaml"}).returncode == EXIT_CONFIG


# --- demo secrets never reach the real Zalo -------------------------------------------------------


@pytest.mark.parametrize("role", ["worker", "dispatcher", "gateway", "webhook"])
def test_a_role_pointed_at_real_zalo_with_demo_secrets_refuses_to_start(role: str):
    done = hoso(role, env={**REAL_ZALO, "KAFKA_BOOTSTRAP": "127.0.0.1:9"})
    assert done.returncode == EXIT_CONFIG
    message = done.stderr
    assert f"refusing to start the {role}" in message and "not loopback" in message
    assert "HOSO_PSEUDONYM_KEY is the demo value" in message
    assert "Traceback" not in message


def test_change_me_placeholders_are_refused_too(tmp_path: Path):
    oas = tmp_path / "oas.json"
    oas.write_text('{"oas": [{"oa_id": "CHANGE-ME", "secret_key": "CHANGE-ME"}]}')
    done = hoso(
        "dispatcher",
        env={
            **REAL_ZALO,
            "HOSO_PSEUDONYM_KEY": "CHANGE-ME-long-random-secret",
            "HOSO_ZALO_OA_SECRET_KEYS": "s3cr3t-from-zalo",
            "HOSO_OA_CONFIG": str(oas),
        },
    )
    assert done.returncode == EXIT_CONFIG
    assert "HOSO_PSEUDONYM_KEY is a placeholder" in done.stderr
    assert f"HOSO_OA_CONFIG ({oas}) still holds CHANGE-ME placeholders" in done.stderr
    assert "HOSO_ZALO_OA_SECRET_KEYS" not in done.stderr  # not the dispatcher's secret


def test_real_secrets_pass_and_the_loopback_simulator_accepts_demo_secrets(tmp_path: Path):
    keys = tmp_path / "keys.json"
    keys.write_text("{}")
    real_env = {**REAL_ZALO, "HOSO_PSEUDONYM_KEY": "k" * 40, "HOSO_GATEWAY_KEYS_FILE": str(keys)}
    assert problems(Settings.from_env({**real_env, "HOSO_PROOF_KEY": "f" * 40}), "gateway") == []
    # The proof key is shared with the agencies: the demo one matches none of their hashes.
    assert any("HOSO_PROOF_KEY" in p for p in problems(Settings.from_env(real_env), "gateway"))
    assert problems(Settings.from_env({}), "webhook") == []  # the demo: Zalo is the simulator on 127.0.0.1
    assert "HOSO_GATEWAY_KEYS_FILE is empty (the shipped demo agency API keys would be used)" in problems(
        Settings.from_env({**REAL_ZALO, "HOSO_PSEUDONYM_KEY": "k" * 40}), "gateway"
    )


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:18080", True),
        ("http://localhost:18080", True),
        ("http://[::1]:18080", True),
        ("http://127.8.0.1", True),
        ("http://simulator:18080", False),
        ("https://openapi.zalo.me", False),
        ("http://10.0.0.5", False),
        ("", False),
    ],
)
def test_only_loopback_urls_count_as_the_local_simulator(url: str, loopback: bool):
    assert is_loopback_url(url) is loopback


# --- dlq replay --dry-run --limit ----------------------------------------------------------------


@pytest.mark.broker
def test_dlq_replay_dry_run_counts_within_the_limit_and_publishes_nothing(settings):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from schemas import dumps
    from tests.factories import phone_notice

    client = kafka_python(settings)
    create_topics(client, settings.topics)
    producer = KafkaProducer(**client, acks="all")
    for i in range(3):
        n = phone_notice(f"dead-{i}", subscriber_id=f"sub-{i}")
        letter = {"notification": orjson.loads(dumps(n)), "reason": "zalo:-124", "attempts": 6, "dead_at": "x"}
        producer.send(settings.topics.notifications_dead.name, key=n.key.encode(), value=orjson.dumps(letter))
    producer.flush()
    producer.close()

    env = {k: v for k, v in settings.to_env().items() if v != ""}
    done = hoso("dlq", "replay", "--dry-run", "--limit", "2", env=env, timeout=120)
    assert done.returncode == EXIT_OK, done.stderr
    assert f"would replay 2 notifications to {settings.topics.notifications.name}" in done.stdout

    consumer = KafkaConsumer(**client, enable_auto_commit=False)
    tps = [TopicPartition(settings.topics.notifications.name, p) for p in range(settings.partitions)]
    assert sum(consumer.end_offsets(tps).values()) == 0  # nothing published
    consumer.close()
    assert hoso("dlq", "replay", "--limit", "0", env=env).returncode == EXIT_USAGE


def test_a_declared_simulator_on_another_host_may_use_demo_secrets_but_real_zalo_never_can():
    dev = {"HOSO_ZALO_SIMULATED": "true"} | {k: "http://simulator:18080" for k in REAL_ZALO}
    assert problems(Settings.from_env(dev), "webhook") == []
    assert problems(Settings.from_env({k: "http://simulator:18080" for k in REAL_ZALO}), "webhook")
    found = problems(Settings.from_env({**REAL_ZALO, "HOSO_ZALO_SIMULATED": "true"}), "webhook")
    assert "HOSO_ZALO_SIMULATED is true while a Zalo URL is Zalo's own" in found
    assert "HOSO_PSEUDONYM_KEY is the demo value" in found


def test_probe_exits_0_for_a_healthy_role_1_for_a_stuck_one_and_4_when_nothing_answers():
    from hoso import metrics
    from hoso.health import Health
    from hosoctl.processes import free_port

    clock = [100.0]
    health = Health("gateway", loop_stall_s=5, clock=lambda: clock[0])
    health.beat()
    port = free_port()
    server = metrics.serve(port, "gateway", health)
    assert server is not None
    try:
        assert hoso("probe", "--port", str(port)).returncode == EXIT_OK
        assert hoso("probe", "--ready", "--port", str(port)).returncode == EXIT_OK
        clock[0] += 6
        stuck = hoso("probe", "--port", str(port))
        assert stuck.returncode == EXIT_FAILED and "event loop blocked" in stuck.stdout
    finally:
        server.shutdown()
        server.server_close()
    assert hoso("probe", "--port", str(port)).returncode == EXIT_IO
    assert hoso("probe").returncode == EXIT_CONFIG  # HOSO_METRICS_PORT=0: nothing to ask


def test_settings_never_print_a_secret_value():
    secrets = {"HOSO_KAFKA_SASL_PASSWORD": "kafka-pw-123", "HOSO_PSEUDONYM_KEY": "pseudo-456"}
    out = hoso("settings", env=secrets).stdout
    assert "HOSO_KAFKA_SASL_PASSWORD=***" in out and "HOSO_PSEUDONYM_KEY=***" in out
    assert "kafka-pw-123" not in out and "pseudo-456" not in out
