"""deploy/docker-compose.yml: valid for Compose, every role present, hoso configured only through its settings."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from tests.deploy.settings_env import declared_settings
from tests.deploy.tools import DEPLOY, compose_command, require_tool

COMPOSE = DEPLOY / "docker-compose.yml"
HOSO_ROLES = {"topics", "worker", "dispatcher", "gateway", "webhook", "simulator"}


@pytest.fixture(scope="module")
def resolved() -> dict:
    """`docker compose config` output with the dev profile: the file as Compose understands it."""
    # A clean environment, so variables of the machine running the tests cannot change what is checked.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    done = subprocess.run(
        [*compose_command(), "-f", str(COMPOSE), "--profile", "dev", "config"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


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


def test_kafka_is_the_official_image_4x_in_kraft_mode(resolved: dict):
    kafka = resolved["services"]["kafka"]
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", kafka["image"])
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "KAFKA_ZOOKEEPER_CONNECT" not in kafka["environment"]


def test_only_the_simulator_is_a_dev_profile_service(resolved: dict):
    profiled = {name for name, s in resolved["services"].items() if s.get("profiles")}
    assert profiled == {"simulator"}
    assert resolved["services"]["simulator"]["profiles"] == ["dev"]


def test_every_hoso_variable_is_a_declared_setting(resolved: dict):
    declared = declared_settings()
    for name, service in hoso_services(resolved).items():
        unknown = set(service.get("environment", {})) - declared
        assert not unknown, f"{name} sets variables hoso does not read: {sorted(unknown)}"


def test_every_interpolated_hoso_variable_is_a_declared_setting():
    text = COMPOSE.read_text()
    used = set(re.findall(r"\$\{(\w+)", text))
    compose_only = {"HOSO_IMAGE", "GRAFANA_ADMIN_PASSWORD"}
    assert not used - declared_settings() - compose_only


def test_topic_setup_runs_once_before_every_long_running_role(resolved: dict):
    services = resolved["services"]
    assert services["topics"]["command"] == ["topics", "create"]
    for role in ("worker", "dispatcher", "gateway", "webhook"):
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
