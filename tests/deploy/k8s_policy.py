"""Offline checks of Kubernetes objects: API schemas, and the Pod Security Standard "restricted" profile.

Schemas of built-in kinds come from the ``kubernetes-validate`` package (PyPI), which ships the OpenAPI-derived
JSON schemas of every Kubernetes release: nothing is downloaded at test time. Custom resources hoso uses
(Prometheus Operator, KEDA, External Secrets) have no schema there; ``CRD_REQUIRED`` checks the fields that
matter for them. The "restricted" rules are written out below from the Pod Security Standards
(kubernetes.io/docs/concepts/security/pod-security-standards), since no packaged tool evaluates them offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kubernetes_validate

KUBERNETES_VERSION = "1.33.0"
"""The oldest Kubernetes release the manifests promise to apply to (every kind used is GA there)."""

POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

CRD_REQUIRED: dict[tuple[str, str], list[tuple[str, ...]]] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): [("spec", "selector"), ("spec", "endpoints")],
    ("monitoring.coreos.com/v1", "PrometheusRule"): [("spec", "groups")],
    ("keda.sh/v1alpha1", "ScaledObject"): [
        ("spec", "scaleTargetRef", "name"),
        ("spec", "maxReplicaCount"),
        ("spec", "triggers"),
    ],
    ("keda.sh/v1alpha1", "TriggerAuthentication"): [("spec",)],
    ("external-secrets.io/v1beta1", "ExternalSecret"): [("spec", "secretStoreRef", "name"), ("spec", "target", "name")],
}

# Pod Security Standards, "restricted" (which includes "baseline").
ALLOWED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
ALLOWED_ADDED_CAPABILITIES = {"NET_BIND_SERVICE"}
ALLOWED_SECCOMP = {"RuntimeDefault", "Localhost"}


def schema_problems(obj: dict[str, Any]) -> list[str]:
    """Problems of ``obj`` against its kind's schema (strict: unknown fields are errors)."""
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    if key in CRD_REQUIRED:
        missing = []
        for path in CRD_REQUIRED[key]:
            node: Any = obj
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            if node is None or node == "" or node == []:
                missing.append(".".join(path))
        return [f"{key[1]} misses {m}" for m in missing]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {key[0]} {key[1]} in Kubernetes {KUBERNETES_VERSION}"]
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        return [f"{where}: {exc.message}"]
    return []


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a workload object, or None for other kinds."""
    if obj.get("kind") not in POD_TEMPLATE_KINDS:
        return None
    return obj["spec"]["template"]["spec"]


def _containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key, [])


def restricted_problems(spec: dict[str, Any]) -> list[str]:
    """Every way ``spec`` breaks the Pod Security "restricted" profile (empty when it complies)."""
    out: list[str] = []
    pod_sc = spec.get("securityContext", {})
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            out.append(f"{host} is not allowed")
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUME_TYPES:
            out.append(f"volume {volume['name']}: type {sorted(kinds)} is not allowed")
    if pod_sc.get("runAsUser") == 0:
        out.append("pod runAsUser 0")
    for c in _containers(spec):
        name = c["name"]
        sc = c.get("securityContext", {})
        if sc.get("privileged"):
            out.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: allowPrivilegeEscalation must be false")
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            out.append(f"{name}: runAsNonRoot must be true (container or pod)")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            out.append(f"{name}: runAsUser 0")
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
        if seccomp not in ALLOWED_SECCOMP:
            out.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost (got {seccomp})")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            out.append(f"{name}: capabilities must drop ALL")
        if set(caps.get("add", [])) - ALLOWED_ADDED_CAPABILITIES:
            out.append(f"{name}: capabilities may add only NET_BIND_SERVICE")
        for port in c.get("ports", []):
            if port.get("hostPort"):
                out.append(f"{name}: hostPort {port['hostPort']}")
        if sc.get("procMount", "Default") != "Default":
            out.append(f"{name}: procMount must be Default")
    return out
