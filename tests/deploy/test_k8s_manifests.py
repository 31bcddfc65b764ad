"""deploy/k8s: the overlays as kustomize renders them, valid against the Kubernetes schemas, "restricted" under
Pod Security, probing real health, with no secret defaulted outside the dev overlay."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from consumers.ratings.endpoints import load_endpoints
from consumers.sms.providers import load_providers
from hoso.secret_guard import problems
from hoso.settings import Settings
from hosoctl.cli import build_parser
from schemas.topics import catalogue
from tests.deploy.k8s_policy import pod_spec, restricted_problems, schema_problems
from tests.deploy.settings_env import declared_settings
from tests.deploy.tools import DEPLOY, kustomize_command

K8S = DEPLOY / "k8s"
BASE = K8S / "base"
WORKLOADS = {"Deployment", "StatefulSet", "Job"}
LONG_RUNNING = {
    "hoso-worker": "worker",
    "hoso-dispatcher": "dispatcher",
    "hoso-gateway": "gateway",
    "hoso-webhook": "webhook",
    "hoso-sms": "sms",
    "hoso-ratings-sync": "ratings-sync",
}
OFF_UNLESS_CONFIGURED = {
    "hoso-sms": ("hoso-sms-config", "sms.json"),
    "hoso-ratings-sync": ("hoso-ratings-sync-config", "ratings-sync.json"),
}
"""Roles that need a file only the operator can write (issue 20): 0 replicas and an optional secret until then."""
REAL_SECRETS = {
    "hoso-secrets.env": "HOSO_PSEUDONYM_KEY=" + "p" * 48 + "\nHOSO_KAFKA_SASL_PASSWORD=kafka-pass-from-vault\n"
    "HOSO_ZALO_OA_SECRET_KEYS=oa-secret-from-zalo\nHOSO_ZALO_APP_ID=4312099887766\nHOSO_OPERATOR_KEY="
    + "o" * 40
    + "\nHOSO_PROOF_KEY="
    + "k" * 40
    + "\n",
    "oas.json": '{"oas": [{"oa_id": "4291763591735284710", "app_id": "4312099887766", "secret_key": "s", '
    '"refresh_token": "r", "provinces": ["22"]}]}',
    "gateway-keys.json": '{"agencies": {}, "keys": []}',
}


def build(overlay: Path) -> list[dict]:
    done = subprocess.run([*kustomize_command(), "build", str(overlay)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.fixture(scope="module")
def dev() -> list[dict]:
    return build(K8S / "dev")


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """The production overlay with its secret files written as an operator would (they are never in git)."""
    root = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, root)
    for name, text in REAL_SECRETS.items():
        (root / "production" / "secrets" / name).write_text(text)
    return build(root / "production")


def example_objects() -> list[dict]:
    return [d for p in sorted((K8S / "examples").glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]


def find(objects: list[dict], kind: str, name: str) -> dict:
    [obj] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


def named(objects: list[dict], kind: str, prefix: str) -> dict:
    """A generated object (secretGenerator appends a content hash to its name)."""
    [obj] = [o for o in objects if o["kind"] == kind and re.fullmatch(rf"{prefix}(-[a-z0-9]+)?", o["metadata"]["name"])]
    return obj


def containers(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def workloads(objects: list[dict]) -> list[dict]:
    return [o for o in objects if o["kind"] in WORKLOADS]


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


def role_settings(objects: list[dict], workload: dict) -> Settings:
    """The settings a container of ``workload`` starts with: ConfigMap, Secret and env, in Kubernetes' order."""
    env: dict[str, str] = {}
    [c] = containers(workload)
    for source in c.get("envFrom", []):
        if "configMapRef" in source:
            env |= find(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
        if "secretRef" in source:
            secret = find(objects, "Secret", source["secretRef"]["name"])
            env |= {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    env |= {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}
    return Settings.from_env(env)


# --- schemas and Pod Security ------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_every_rendered_object_is_valid_against_the_kubernetes_schemas(overlay: str, request: pytest.FixtureRequest):
    objects = request.getfixturevalue(overlay)
    found = {f"{o['kind']} {o['metadata']['name']}": schema_problems(o) for o in objects}
    assert not {k: v for k, v in found.items() if v}


def test_every_example_object_is_valid_too():
    found = {f"{o['kind']} {o['metadata']['name']}": schema_problems(o) for o in example_objects()}
    assert not {k: v for k, v in found.items() if v}


def test_the_schema_check_catches_what_it_should():
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": "two"}}
    assert schema_problems(bad)
    typo = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"selectr": {}}}
    assert schema_problems(typo)  # strict: unknown fields are errors
    assert schema_problems({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {}, "spec": {}})


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_every_pod_meets_the_restricted_pod_security_standard(overlay: str, request: pytest.FixtureRequest):
    for obj in request.getfixturevalue(overlay):
        spec = pod_spec(obj)
        if spec is not None:
            assert restricted_problems(spec) == [], obj["metadata"]["name"]
            assert spec.get("automountServiceAccountToken") is False, obj["metadata"]["name"]
            for c in spec["containers"]:
                assert c["securityContext"]["readOnlyRootFilesystem"] is True, obj["metadata"]["name"]
                assert c["resources"]["limits"]["memory"], obj["metadata"]["name"]


def test_the_restricted_check_refuses_what_the_standard_refuses():
    spec = {
        "hostNetwork": True,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
        "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}],
    }
    found = " | ".join(restricted_problems(spec))
    for expected in ("hostNetwork", "hostPath", "allowPrivilegeEscalation", "drop ALL", "NET_BIND_SERVICE"):
        assert expected in found


# --- images, secrets ---------------------------------------------------------------------------------


def test_production_pins_every_hoso_image_by_digest(production: list[dict]):
    for obj in workloads(production):
        for c in containers(obj):
            assert re.fullmatch(r"[\w.-]+(/[\w.-]+)+@sha256:[0-9a-f]{64}", c["image"]), c["image"]


def test_no_secret_value_is_committed_for_production():
    kustomization = yaml.safe_load((K8S / "production" / "kustomization.yaml").read_text())
    secrets_dir = K8S / "production" / "secrets"
    ignored = (secrets_dir / ".gitignore").read_text().split()
    assert "*" in ignored and "!*.example" in ignored
    for generator in kustomization["secretGenerator"]:
        for entry in generator.get("envs", []) + generator.get("files", []):
            path = K8S / "production" / entry.split("=")[-1]
            ignored_by_git = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=K8S, check=False)
            assert ignored_by_git.returncode == 0, f"{path} could be committed"
            assert path.with_name(path.name + ".example").is_file(), f"no example for {path.name}"
        assert "literals" not in generator
    base_kinds = {d["kind"] for p in BASE.glob("*.yaml") for d in yaml.safe_load_all(p.read_text()) if d}
    assert "Secret" not in base_kinds


def test_production_without_its_secret_files_does_not_build():
    done = subprocess.run(
        [*kustomize_command(), "build", str(K8S / "production")], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0 and "hoso-secrets.env" in done.stderr


def test_production_roles_talk_to_real_zalo_and_pass_the_start_up_guard(production: list[dict]):
    for name, role in LONG_RUNNING.items():
        workload = next(o for o in workloads(production) if o["metadata"]["name"] == name)
        settings = role_settings(production, workload)
        assert not settings.zalo_simulated and settings.zalo_oa_url.startswith("https://")
        assert problems(settings, role) == [], role


def test_the_shipped_examples_would_be_refused_as_they_are(production: list[dict]):
    example = (K8S / "production" / "secrets" / "hoso-secrets.env.example").read_text()
    env = dict(line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#"))
    base = find(production, "ConfigMap", next(o["metadata"]["name"] for o in production if o["kind"] == "ConfigMap"))
    settings = Settings.from_env({**base["data"], **env})
    for role in LONG_RUNNING.values():
        assert any("placeholder" in p for p in problems(settings, role)), role


def test_dev_runs_demo_secrets_only_against_the_declared_simulator(dev: list[dict]):
    for name, role in LONG_RUNNING.items():
        workload = next(o for o in workloads(dev) if o["metadata"]["name"] == name)
        settings = role_settings(dev, workload)
        assert settings.zalo_simulated and settings.zalo_oa_url == "http://hoso-simulator"
        assert problems(settings, role) == [], role
        assert problems(settings.replace(zalo_oa_url="https://openapi.zalo.me"), role), role


# --- probes, budgets, scaling, exposure -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_every_long_running_role_probes_its_health_endpoints_on_the_metrics_port(production: list[dict], name: str):
    [c] = containers(next(o for o in workloads(production) if o["metadata"]["name"] == name))
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert c[probe]["httpGet"] == {"path": path, "port": "metrics"}, (name, probe)
    assert (
        ports["metrics"]
        == role_settings(
            production, next(o for o in workloads(production) if o["metadata"]["name"] == name)
        ).metrics_port
    )
    # The loop stall limit fits inside the liveness window (period x failures), so a stuck loop is restarted.
    config = next(
        o for o in production if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("hoso-settings")
    )
    stall = float(config["data"]["HOSO_HEALTH_LOOP_STALL_S"])
    live = c["livenessProbe"]
    assert stall <= live["periodSeconds"] * live["failureThreshold"]
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60  # group join, sent-log or table restore


def test_every_role_has_a_disruption_budget_and_the_http_roles_autoscale(production: list[dict]):
    budgets = {
        o["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for o in production
        if o["kind"] == "PodDisruptionBudget"
    }
    assert budgets >= set(LONG_RUNNING)
    scaled = {o["spec"]["scaleTargetRef"]["name"]: o for o in production if o["kind"] == "HorizontalPodAutoscaler"}
    assert set(scaled) == {"hoso-gateway", "hoso-webhook"}
    for name, hpa in scaled.items():
        assert hpa["spec"]["minReplicas"] >= 2, name
        assert "replicas" not in find(production, "Deployment", name)["spec"], f"{name}: the HPA owns replicas"


def test_consumers_scale_on_lag_bounded_by_partitions():
    config = yaml.safe_load((BASE / "config.yaml").read_text())["data"]
    topics = catalogue(config["HOSO_TOPIC_PREFIX"], int(config["HOSO_PARTITIONS"]), config["HOSO_APP_ID"])
    partitions = {t.name: t.partitions for t in topics.all()}
    scaled = {o["spec"]["scaleTargetRef"]["name"]: o for o in example_objects() if o["kind"] == "ScaledObject"}
    assert set(scaled) == {"hoso-dispatcher", "hoso-worker"}
    groups = {"hoso-dispatcher": config["HOSO_DISPATCHER_GROUP"], "hoso-worker": config["HOSO_APP_ID"]}
    for name, obj in scaled.items():
        [trigger] = obj["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka" and meta["consumerGroup"] == groups[name]
        assert obj["spec"]["maxReplicaCount"] <= partitions[meta["topic"]], name
        assert meta["allowIdleConsumers"] == "false"


def test_gateway_and_webhook_are_exposed_over_tls_on_their_api_paths_only(production: list[dict]):
    ingresses = {o["metadata"]["name"]: o for o in production if o["kind"] == "Ingress"}
    assert set(ingresses) == {"hoso-gateway", "hoso-webhook"}
    for name, ingress in ingresses.items():
        tls_hosts = {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
        for rule in ingress["spec"]["rules"]:
            assert rule["host"] in tls_hosts, name
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == name
                assert path["path"] not in ("/", "/healthz", "/metrics"), name
    [webhook_path] = ingresses["hoso-webhook"]["spec"]["rules"][0]["http"]["paths"]
    from producers.webhook.server import PATH

    assert webhook_path["path"] == PATH


def test_network_policies_deny_by_default_and_open_only_named_ports(production: list[dict]):
    policies = [o for o in production if o["kind"] == "NetworkPolicy"]
    deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"] and "egress" not in p["spec"]
    ]
    assert deny and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    for policy in policies:
        for rule in policy["spec"].get("ingress", []) + policy["spec"].get("egress", []):
            assert rule.get("ports"), f"{policy['metadata']['name']} opens every port"


def test_the_operator_lookup_api_is_served_where_its_key_is_set(production: list[dict]):
    worker = find(production, "StatefulSet", "hoso-worker")
    [c] = containers(worker)
    settings = role_settings(production, worker)
    assert settings.operator_key and settings.streams_web_port
    assert {"name": "lookup", "containerPort": settings.streams_web_port} in c["ports"]
    service = find(production, "Service", "hoso-worker")
    assert "lookup" in {p["targetPort"] for p in service["spec"]["ports"]}


def test_the_topics_job_can_be_applied_again():
    job = yaml.safe_load((BASE / "topics-job.yaml").read_text())
    assert job["spec"]["ttlSecondsAfterFinished"] <= 3600
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"


# --- consistency with settings, topics, commands --------------------------------------------------


def test_kustomizations_list_every_manifest_and_keep_the_simulator_out_of_production():
    base = yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"]
    assert sorted(base) == sorted(p.name for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml")
    production = yaml.safe_load((K8S / "production" / "kustomization.yaml").read_text())
    assert production["resources"] == ["../base"]
    dev = yaml.safe_load((K8S / "dev" / "kustomization.yaml").read_text())
    assert dev["resources"] == ["../base", "simulator.yaml"]
    patched = {
        op["path"].removeprefix("/data/")
        for p in dev["patches"]
        if p.get("target", {}).get("kind") == "ConfigMap"
        for op in yaml.safe_load(p["patch"])
    }
    assert patched <= declared_settings()


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_every_environment_variable_is_a_declared_setting(overlay: str, request: pytest.FixtureRequest):
    objects = request.getfixturevalue(overlay)
    declared = declared_settings()
    for o in objects:
        if o["kind"] == "ConfigMap" or (o["kind"] == "Secret" and o["metadata"]["name"].startswith("hoso-secrets")):
            assert not set(o.get("data", {})) - declared, o["metadata"]["name"]
    for obj in workloads(objects):
        for c in containers(obj):
            names = {e["name"] for e in c.get("env", [])}
            assert not names - declared, f"{obj['metadata']['name']}: {sorted(names - declared)}"


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_every_referenced_configmap_and_secret_exists(overlay: str, request: pytest.FixtureRequest):
    objects = request.getfixturevalue(overlay)
    existing = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for obj in workloads(objects):
        spec = obj["spec"]["template"]["spec"]
        for c in spec["containers"]:
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in existing
                if "secretRef" in source:
                    assert ("Secret", source["secretRef"]["name"]) in existing
        for volume in spec.get("volumes", []):
            if "secret" in volume and not volume["secret"].get("optional"):  # optional: a role off until configured
                assert ("Secret", volume["secret"]["secretName"]) in existing


def test_every_container_runs_a_real_hoso_command(dev: list[dict]):
    parser = build_parser()
    for obj in workloads(dev):
        for c in containers(obj):
            parser.parse_args(c["args"])  # exits (fails the test) on an unknown command or option


def test_workers_are_a_statefulset_whose_claim_is_mounted_at_the_state_dir(production: list[dict]):
    worker = find(production, "StatefulSet", "hoso-worker")
    [c] = containers(worker)
    claims = {t["metadata"]["name"] for t in worker["spec"]["volumeClaimTemplates"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts.get(role_settings(production, worker).state_dir.as_posix()) in claims


def test_files_named_by_settings_are_mounted_from_their_secrets(production: list[dict]):
    for name, role in LONG_RUNNING.items():
        workload = next(o for o in workloads(production) if o["metadata"]["name"] == name)
        settings = role_settings(production, workload)
        [c] = containers(workload)
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        needed = {"dispatcher": [settings.oa_config], "worker": [settings.oa_config]}.get(role, [])
        needed += {"sms": [settings.sms_config], "ratings-sync": [settings.ratings_sync_config]}.get(role, [])
        needed += [settings.gateway_keys_file] if role == "gateway" else []
        for path in needed:
            assert str(Path(path).parent) in mounts, (name, path)


def test_services_select_pods_and_name_ports_their_containers_expose(dev: list[dict]):
    pods = [(o["spec"]["template"]["metadata"]["labels"], containers(o)) for o in workloads(dev)]
    for svc in (o for o in dev if o["kind"] == "Service"):
        selector = svc["spec"]["selector"]
        matching = [cs for labels, cs in pods if selector.items() <= labels.items()]
        assert matching, f"service {svc['metadata']['name']} selects no pod"
        port_names = {p["name"] for cs in matching for c in cs for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in port_names, f"{svc['metadata']['name']}: {port['targetPort']}"


def test_the_service_monitor_scrapes_every_long_running_role(production: list[dict]):
    monitor = find(production, "ServiceMonitor", "hoso")
    selector = monitor["spec"]["selector"]["matchLabels"]
    [endpoint] = monitor["spec"]["endpoints"]
    scraped = {
        svc["metadata"]["name"]
        for svc in production
        if svc["kind"] == "Service"
        and endpoint["port"] in {p["name"] for p in svc["spec"]["ports"]}
        and selector.items() <= svc["metadata"]["labels"].items()
    }
    assert scraped >= set(LONG_RUNNING)


def test_the_prometheus_rule_is_the_rules_file(production: list[dict]):
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "hoso.rules.yml").read_text())
    assert find(production, "PrometheusRule", "hoso")["spec"] == rules


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_no_manifest_names_a_topic_that_is_not_declared(overlay: str, request: pytest.FixtureRequest):
    objects = request.getfixturevalue(overlay) + example_objects()
    cfg = yaml.safe_load((BASE / "config.yaml").read_text())["data"]
    declared = {
        t.name for t in catalogue(cfg["HOSO_TOPIC_PREFIX"], int(cfg["HOSO_PARTITIONS"]), cfg["HOSO_APP_ID"]).all()
    }
    prefix = re.escape(cfg["HOSO_TOPIC_PREFIX"])
    topic_like = re.compile(rf"\b{prefix}\.[a-z0-9][a-z0-9.-]*\.v\d+\b|\b[\w.-]+-changelog\b")
    for obj in objects:
        for text in strings(obj):
            for name in topic_like.findall(text):
                assert name in declared, f"{obj['kind']} {obj['metadata']['name']} names undeclared topic {name}"


# --- roles off unless configured (issue 20) ----------------------------------------------------------


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_the_sms_fallback_and_the_rating_sync_are_off_until_their_secret_is_given(
    overlay: str, request: pytest.FixtureRequest
):
    objects = request.getfixturevalue(overlay)
    for name, (secret, filename) in OFF_UNLESS_CONFIGURED.items():
        deployment = find(objects, "Deployment", name)
        assert deployment["spec"]["replicas"] == 0, name
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        [c] = containers(deployment)
        settings = role_settings(objects, deployment)
        path = Path(settings.sms_config if name == "hoso-sms" else settings.ratings_sync_config)
        assert path.name == filename
        [mount] = [m for m in c["volumeMounts"] if m["mountPath"] == str(path.parent)]
        assert volumes[mount["name"]]["secret"] == {"secretName": secret, "optional": True}
        assert not any(o["kind"] == "Secret" and o["metadata"]["name"].startswith(secret) for o in objects)


def test_turning_them_on_as_production_documents_gives_running_roles_with_their_secret(tmp_path: Path):
    root = tmp_path / "k8s"
    shutil.copytree(K8S, root)
    for name, text in REAL_SECRETS.items():
        (root / "production" / "secrets" / name).write_text(text)
    (root / "production" / "secrets" / "sms.json").write_text(
        (K8S / "production" / "secrets" / "sms.json.example").read_text()
    )
    (root / "production" / "secrets" / "ratings-sync.json").write_text(
        (K8S / "production" / "secrets" / "ratings-sync.json.example").read_text()
    )
    # The shipped examples are files the roles themselves accept (only their CHANGE-ME values need replacing).
    load_providers(root / "production" / "secrets" / "sms.json")
    load_endpoints(root / "production" / "secrets" / "ratings-sync.json")
    kustomization = yaml.safe_load((root / "production" / "kustomization.yaml").read_text())
    for name, (secret, filename) in OFF_UNLESS_CONFIGURED.items():
        kustomization["secretGenerator"].append({"name": secret, "namespace": "hoso", "files": [f"secrets/{filename}"]})
        kustomization.setdefault("replicas", []).append({"name": name, "count": 1})
    (root / "production" / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))

    objects = build(root / "production")

    for name, (secret, filename) in OFF_UNLESS_CONFIGURED.items():
        deployment = find(objects, "Deployment", name)
        assert deployment["spec"]["replicas"] == 1
        [generated] = [
            v["secret"]["secretName"]
            for v in deployment["spec"]["template"]["spec"]["volumes"]
            if "secret" in v and v["secret"]["secretName"].startswith(secret)
        ]
        assert filename in named(objects, "Secret", secret)["data"]
        assert generated != secret  # the content-hashed name: a changed file rolls the pods


def test_the_roles_off_unless_configured_may_reach_only_their_far_ends_on_https(production: list[dict]):
    for name in OFF_UNLESS_CONFIGURED:
        egress = [
            rule
            for p in production
            if p["kind"] == "NetworkPolicy"
            and p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == name
            for rule in p["spec"].get("egress", [])
        ]
        assert egress, f"{name} has no egress rule to its provider or agencies"
        for rule in egress:
            assert rule["ports"] == [{"protocol": "TCP", "port": 443}], name
            for peer in rule["to"]:
                assert "169.254.0.0/16" in peer["ipBlock"]["except"], f"{name} may reach the cloud metadata service"
