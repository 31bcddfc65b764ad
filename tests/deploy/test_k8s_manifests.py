"""deploy/k8s: well-formed manifests for every role, configured only through declared settings and topics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from hosoctl.cli import build_parser
from schemas.topics import catalogue
from tests.deploy.settings_env import declared_settings
from tests.deploy.tools import DEPLOY

K8S = DEPLOY / "k8s"
WORKLOADS = {"Deployment", "StatefulSet", "Job"}


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def objects() -> list[dict]:
    return [doc for path in manifest_files() for doc in yaml.safe_load_all(path.read_text()) if doc]


def find(kind: str, name: str) -> dict:
    [obj] = [o for o in objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


def containers(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def workloads() -> list[dict]:
    return [o for o in objects() if o["kind"] in WORKLOADS]


def settings_map() -> dict[str, str]:
    return find("ConfigMap", "hoso-settings")["data"]


def strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def test_every_object_has_a_kind_a_name_and_the_hoso_namespace():
    for obj in objects():
        assert obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"], obj
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "hoso", obj["metadata"]["name"]


def test_every_role_the_deployment_needs_is_there():
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects()}
    assert kinds >= {
        ("Namespace", "hoso"),
        ("ConfigMap", "hoso-settings"),
        ("Secret", "hoso-secrets"),
        ("Secret", "hoso-oa-credentials"),
        ("Job", "hoso-topics"),
        ("StatefulSet", "hoso-worker"),
        ("Deployment", "hoso-dispatcher"),
        ("Deployment", "hoso-gateway"),
        ("Deployment", "hoso-webhook"),
        ("Deployment", "hoso-simulator"),
        ("ServiceMonitor", "hoso"),
        ("PrometheusRule", "hoso"),
    }


def test_kustomizations_list_every_manifest_and_keep_the_simulator_out_of_production():
    base = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(base) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    dev = yaml.safe_load((K8S / "dev" / "kustomization.yaml").read_text())
    assert dev["resources"] == ["..", "simulator.yaml"]
    patched = {op["path"].removeprefix("/data/") for p in dev["patches"] for op in yaml.safe_load(p["patch"])}
    assert patched <= declared_settings()


def test_every_environment_variable_is_a_declared_setting():
    declared = declared_settings()
    assert not set(settings_map()) - declared
    for secret in ("hoso-secrets",):
        assert not set(find("Secret", secret)["stringData"]) - declared
    for obj in workloads():
        for c in containers(obj):
            names = {e["name"] for e in c.get("env", [])}
            assert not names - declared, f"{obj['metadata']['name']}: {sorted(names - declared)}"


def test_every_referenced_configmap_and_secret_exists():
    existing = {(o["kind"], o["metadata"]["name"]) for o in objects()}
    for obj in workloads():
        spec = obj["spec"]["template"]["spec"]
        for c in spec["containers"]:
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in existing
                if "secretRef" in source:
                    assert ("Secret", source["secretRef"]["name"]) in existing
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                assert ("Secret", volume["secret"]["secretName"]) in existing


def test_every_container_runs_a_real_hoso_command_as_a_non_root_user():
    parser = build_parser()
    for obj in workloads():
        spec = obj["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]
        for c in spec["containers"]:
            parser.parse_args(c["args"])  # exits (fails the test) on an unknown command or option


def test_workers_are_a_statefulset_whose_claim_is_mounted_at_the_state_dir():
    worker = find("StatefulSet", "hoso-worker")
    [c] = containers(worker)
    assert c["args"] == ["worker"]
    claims = {t["metadata"]["name"] for t in worker["spec"]["volumeClaimTemplates"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts.get(settings_map()["HOSO_STATE_DIR"]) in claims


def test_the_oa_config_setting_points_into_the_mounted_credentials_secret():
    path = Path(settings_map()["HOSO_OA_CONFIG"])
    oa_secret = find("Secret", "hoso-oa-credentials")
    assert path.name in oa_secret["stringData"]
    for name in ("hoso-dispatcher", "hoso-webhook", "hoso-gateway"):
        [c] = containers(find("Deployment", name))
        assert str(path.parent) in {m["mountPath"] for m in c["volumeMounts"]}, name


def test_services_select_pods_and_name_ports_their_containers_expose():
    pods = [(o["spec"]["template"]["metadata"]["labels"], containers(o)) for o in workloads()]
    for svc in (o for o in objects() if o["kind"] == "Service"):
        selector = svc["spec"]["selector"]
        matching = [cs for labels, cs in pods if selector.items() <= labels.items()]
        assert matching, f"service {svc['metadata']['name']} selects no pod"
        port_names = {p["name"] for cs in matching for c in cs for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in port_names, f"{svc['metadata']['name']}: {port['targetPort']}"


def test_the_service_monitor_scrapes_every_long_running_role():
    monitor = find("ServiceMonitor", "hoso")
    selector = monitor["spec"]["selector"]["matchLabels"]
    [endpoint] = monitor["spec"]["endpoints"]
    metrics_port = int(settings_map()["HOSO_METRICS_PORT"])
    scraped = set()
    for svc in (o for o in objects() if o["kind"] == "Service"):
        ports = {p["name"]: p for p in svc["spec"]["ports"]}
        if endpoint["port"] in ports and selector.items() <= svc["metadata"]["labels"].items():
            scraped.add(svc["metadata"]["name"])
    assert scraped >= {"hoso-worker", "hoso-dispatcher", "hoso-gateway", "hoso-webhook"}
    for obj in workloads():
        if obj["kind"] != "Job" and obj["metadata"]["name"] != "hoso-simulator":
            ports = {p["name"]: p["containerPort"] for c in containers(obj) for p in c.get("ports", [])}
            assert ports.get("metrics") == metrics_port, obj["metadata"]["name"]


def test_the_prometheus_rule_is_the_rules_file():
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "hoso.rules.yml").read_text())
    assert find("PrometheusRule", "hoso")["spec"] == rules


def test_no_manifest_names_a_topic_that_is_not_declared():
    cfg = settings_map()
    declared = {
        t.name for t in catalogue(cfg["HOSO_TOPIC_PREFIX"], int(cfg["HOSO_PARTITIONS"]), cfg["HOSO_APP_ID"]).all()
    }
    prefix = re.escape(cfg["HOSO_TOPIC_PREFIX"])
    topic_like = re.compile(rf"\b{prefix}\.[a-z0-9][a-z0-9.-]*\.v\d+\b|\b[\w.-]+-changelog\b")
    for obj in objects():
        for text in strings(obj):
            for name in topic_like.findall(text):
                assert name in declared, f"{obj['kind']} {obj['metadata']['name']} names undeclared topic {name}"


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_file_is_valid_yaml_with_objects(path: Path):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert docs and all("kind" in d for d in docs)
