"""deploy/docker-compose.yml: valid for Compose, every role present, hoso configured only through its settings,
no secret defaulted outside the dev profile's env file, real health checks, bounded memory and logs, alerts routed."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from hoso.secret_guard import problems
from hoso.settings import Settings
from hosoctl.cli import build_parser
from tests.deploy.settings_env import declared_settings
from tests.deploy.tools import DEPLOY, compose_command, require_tool

COMPOSE = DEPLOY / "docker-compose.yml"
DEV_ENV = DEPLOY / "dev.env"
HOSO_ROLES = {"topics", "worker", "dispatcher", "gateway", "webhook", "simulator"}
LONG_RUNNING = ("worker", "dispatcher", "gateway", "webhook")
OFF_UNLESS_CONFIGURED = {"sms": "sms", "ratings-sync": "ratings"}
"""Roles that need a file only the operator can write (issue 20), each behind its own profile: service -> profile."""
PRODUCTION_ENV = {
    "HOSO_PSEUDONYM_KEY": "p" * 48,
    "HOSO_PROOF_KEY": "k" * 40,
    "HOSO_ZALO_APP_ID": "4312099887766",
    "HOSO_ZALO_OA_SECRET_KEYS": "zalo-oa-secret-from-the-console",
    "HOSO_SECRETS_DIR": "/etc/hoso/secrets",
    "GRAFANA_ADMIN_PASSWORD": "a-strong-one",
}


def compose_config(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`compose config` in a clean environment, so the machine's variables cannot change what is checked."""
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **(env or {})}
    return subprocess.run(
        [*compose_command(), "-f", str(COMPOSE), *args, "config"],
        capture_output=True,
        text=True,
        env=clean,
        check=False,
        cwd=DEPLOY,
    )


@pytest.fixture(scope="module")
def resolved() -> dict:
    """`docker compose config` output with the dev profile and its env file: the file as Compose understands it."""
    done = compose_config("--env-file", str(DEV_ENV), "--profile", "dev")
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


@pytest.fixture(scope="module")
def production() -> dict:
    """The same file for production: secrets from the environment, no dev profile, no dev env file."""
    done = compose_config(env=PRODUCTION_ENV)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def role_settings(service: dict) -> Settings:
    return Settings.from_env({k: str(v) for k, v in service["environment"].items() if v is not None})


def raw() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def hoso_services(doc: dict) -> dict[str, dict]:
    return {name: s for name, s in doc["services"].items() if name in HOSO_ROLES}


def mount_targets(service: dict) -> set[str]:
    """Container paths of a service's volumes (Compose v2 prints mappings, v1 prints short strings)."""
    out = set()
    for v in service.get("volumes", []):
        if isinstance(v, dict):
            out.add(v["target"])
        else:
            parts = v.split(":")
            out.add(parts[1] if len(parts) > 1 and parts[1].startswith("/") else parts[0])
    return out


def test_compose_config_accepts_the_file(resolved: dict):
    assert set(resolved["services"]) >= HOSO_ROLES | {"kafka", "prometheus", "grafana"}


def test_kafka_is_the_official_image_of_the_one_kafka_release_hoso_runs_in_kraft_mode(resolved: dict):
    kafka = resolved["services"]["kafka"]
    assert kafka["image"] == f"apache/kafka:{Settings.from_env({}).kafka_version}"
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "KAFKA_ZOOKEEPER_CONNECT" not in kafka["environment"]


def test_only_the_simulator_is_a_dev_profile_service(resolved: dict):
    profiled = {name for name, s in resolved["services"].items() if s.get("profiles")}
    assert profiled - set(OFF_UNLESS_CONFIGURED) == {"simulator"}  # Compose v1 also prints inactive profiles
    assert resolved["services"]["simulator"]["profiles"] == ["dev"]


def test_every_hoso_variable_is_a_declared_setting(resolved: dict):
    declared = declared_settings()
    for name, service in hoso_services(resolved).items():
        unknown = set(service.get("environment", {})) - declared
        assert not unknown, f"{name} sets variables hoso does not read: {sorted(unknown)}"


def test_every_interpolated_hoso_variable_is_a_declared_setting():
    text = COMPOSE.read_text()
    used = set(re.findall(r"\$\{(\w+)", text))
    compose_only = {"HOSO_IMAGE", "GRAFANA_ADMIN_PASSWORD", "HOSO_SECRETS_DIR"}
    assert not used - declared_settings() - compose_only


def test_topic_setup_runs_once_before_every_long_running_role(resolved: dict):
    services = resolved["services"]
    assert services["topics"]["command"] == ["topics", "create"]
    for role in LONG_RUNNING:
        assert services[role]["depends_on"]["topics"]["condition"] == "service_completed_successfully", role


def test_workers_keep_their_rocksdb_state_on_a_volume_at_the_state_dir(resolved: dict):
    worker = resolved["services"]["worker"]
    state_dir = worker["environment"]["HOSO_STATE_DIR"]
    assert state_dir in mount_targets(worker)


def test_prometheus_scrapes_every_long_running_role_on_its_metrics_port(resolved: dict):
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    scraped = {
        (name, sd["port"])
        for job in config["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
        for name in sd["names"]
    }
    for role in ("worker", "dispatcher", "gateway", "webhook"):
        port = int(resolved["services"][role]["environment"]["HOSO_METRICS_PORT"])
        assert (role, port) in scraped, role


def test_prometheus_loads_the_rules_it_is_given(resolved: dict):
    promtool = require_tool("promtool")
    done = subprocess.run(
        [promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule files found" in done.stdout
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [target] = [t for am in config["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    host, port = target.split(":")
    assert host in resolved["services"] and f"{port}" in str(resolved["services"][host]["ports"])
    assert {"/etc/prometheus/prometheus.yml", "/etc/prometheus/rules"} <= mount_targets(
        resolved["services"]["prometheus"]
    )


def test_grafana_mounts_the_provisioning_and_the_dashboards_where_the_provider_looks(resolved: dict):
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "hoso.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert {"/etc/grafana/provisioning", path} <= mount_targets(resolved["services"]["grafana"])


def test_every_kafka_role_agrees_on_broker_prefix_and_partitions(resolved: dict):
    kafka_roles = [s for name, s in hoso_services(resolved).items() if name != "simulator"]
    for variable in ("KAFKA_BOOTSTRAP", "HOSO_TOPIC_PREFIX", "HOSO_PARTITIONS", "HOSO_APP_ID", "HOSO_PSEUDONYM_KEY"):
        values = {s["environment"][variable] for s in kafka_roles}
        assert len(values) == 1, f"{variable} differs between roles: {values}"
    assert resolved["services"]["worker"]["environment"]["KAFKA_BOOTSTRAP"].split(":")[0] == "kafka"


# --- secrets: nothing defaulted outside the dev profile --------------------------------------------


@pytest.mark.parametrize(
    "missing", ["HOSO_PSEUDONYM_KEY", "HOSO_PROOF_KEY", "HOSO_ZALO_OA_SECRET_KEYS", "GRAFANA_ADMIN_PASSWORD"]
)
def test_without_the_dev_env_file_every_secret_must_be_given(missing: str):
    done = compose_config(env={k: v for k, v in PRODUCTION_ENV.items() if k != missing})
    assert done.returncode != 0
    assert f"set {missing}" in done.stderr


def test_production_talks_to_the_real_zalo_and_its_secrets_pass_the_start_up_guard(production: dict):
    for role in LONG_RUNNING:
        settings = role_settings(production["services"][role])
        assert not settings.zalo_simulated
        assert settings.zalo_oa_url == "https://openapi.zalo.me", role
        # Files named by HOSO_OA_CONFIG / HOSO_GATEWAY_KEYS_FILE live in the mounted secrets folder.
        for path in (settings.oa_config, settings.gateway_keys_file):
            assert not path or path.startswith("/run/hoso-secrets/"), (role, path)
        assert problems(settings, role) == [], role


def test_the_dev_profile_runs_demo_secrets_only_against_the_declared_simulator(resolved: dict):
    for role in LONG_RUNNING:
        settings = role_settings(resolved["services"][role])
        assert settings.zalo_simulated and settings.zalo_oa_url == "http://simulator:18080"
        assert problems(settings, role) == [], role
        # The same demo values next to the real Zalo: every role refuses to start.
        real = settings.replace(zalo_oa_url="https://openapi.zalo.me", zalo_simulated=False)
        assert any("demo value" in p for p in problems(real, role)), role


# --- health, memory, logs, alerts ------------------------------------------------------------------


@pytest.mark.parametrize("role", LONG_RUNNING)
def test_every_long_running_role_is_health_checked_through_its_health_endpoint(resolved: dict, role: str):
    check = resolved["services"][role]["healthcheck"]
    assert check["test"][0] == "CMD"
    args = build_parser().parse_args(check["test"][2:])
    assert check["test"][1] == "hoso" and args.func.__name__ == "cmd_probe" and not args.ready
    assert int(resolved["services"][role]["environment"]["HOSO_METRICS_PORT"]) > 0  # where /healthz is served
    assert check["retries"] >= 2 and check["start_period"]  # table restore / group join is not a failure


def test_every_service_has_a_memory_limit_and_rotated_logs(resolved: dict):
    for name, service in resolved["services"].items():
        assert service.get("mem_limit"), f"{name} has no memory limit"
        logging = service.get("logging", {})
        assert logging.get("driver") == "json-file" and logging["options"]["max-size"], name
        assert int(logging["options"]["max-file"]) >= 2, name


def test_alertmanager_config_is_valid_and_routes_every_alert_to_a_webhook(resolved: dict):
    amtool = require_tool("amtool")
    config = DEPLOY / "alertmanager" / "alertmanager.yml"
    done = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    routes = yaml.safe_load(config.read_text())
    receivers = {r["name"]: r for r in routes["receivers"]}
    assert receivers[routes["route"]["receiver"]]["webhook_configs"][0]["url"].startswith("http")
    assert "/etc/alertmanager/alertmanager.yml" in mount_targets(resolved["services"]["alertmanager"])


def test_grafana_has_no_default_password(resolved: dict):
    raw_env = raw()["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert raw_env.startswith("${GRAFANA_ADMIN_PASSWORD:?")


# --- roles off unless configured: the SMS fallback and the rating sync-back (issue 20) ---------------


@pytest.fixture(scope="module")
def with_optional_roles() -> dict:
    """The dev rendering with the profiles of the roles that are off unless configured switched on."""
    profiles = [arg for p in OFF_UNLESS_CONFIGURED.values() for arg in ("--profile", p)]
    done = compose_config("--env-file", str(DEV_ENV), "--profile", "dev", *profiles)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


@pytest.mark.parametrize(("name", "profile"), sorted(OFF_UNLESS_CONFIGURED.items()))
def test_a_role_off_unless_configured_runs_only_in_its_own_profile_and_reads_its_file_from_the_secrets(
    with_optional_roles: dict, name: str, profile: str
):
    assert raw()["services"][name]["profiles"] == [profile]
    service = with_optional_roles["services"][name]
    settings = role_settings(service)
    config = settings.sms_config if name == "sms" else settings.ratings_sync_config
    assert config.startswith("/run/hoso-secrets/") and "/run/hoso-secrets" in mount_targets(service)
    assert not set(service["environment"]) - declared_settings()
    build_parser().parse_args(service["command"])
    assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    worker = with_optional_roles["services"]["worker"]["environment"]
    for variable in ("KAFKA_BOOTSTRAP", "HOSO_TOPIC_PREFIX", "HOSO_PARTITIONS", "HOSO_PSEUDONYM_KEY"):
        assert service["environment"][variable] == worker[variable], variable


@pytest.mark.parametrize("name", sorted(OFF_UNLESS_CONFIGURED))
def test_a_role_off_unless_configured_is_health_checked_bounded_and_scraped(with_optional_roles: dict, name: str):
    service = with_optional_roles["services"][name]
    check = service["healthcheck"]
    assert check["test"][:2] == ["CMD", "hoso"] and build_parser().parse_args(check["test"][2:]).func.__name__ == (
        "cmd_probe"
    )
    port = int(service["environment"]["HOSO_METRICS_PORT"])
    assert port > 0 and service["mem_limit"] and service["read_only"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    scraped = {
        (host, sd["port"])
        for job in config["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
        for host in sd["names"]
    }
    assert (name, port) in scraped
