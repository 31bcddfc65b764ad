"""hoso's alert rules for a deployment: runbook links on the deployment's own base URL, in either format.

The rules live in ``deploy/prometheus/rules/hoso.rules.yml`` (Prometheus) and, for the Prometheus Operator,
in ``deploy/k8s/base/prometheusrule.yaml``, which is this module's rendering of the same rules. Every alert's
``runbook_url`` is absolute, so a link in a page or a chat message opens the right section wherever it is
read; the committed base is a placeholder (``RUNBOOK_BASE``) that each deployment replaces with where it
publishes docs/runbook.md (an intranet wiki, the repository's web view).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

RUNBOOK_BASE = "https://runbook.hoso.example/docs/runbook.md"
"""Base of the runbook links in the committed rules (``.example`` is reserved: it never resolves)."""

_RUNBOOK_URL = re.compile(r"^([ \t]*runbook_url:[ \t]*)\"?([^\"#\s]+)(#[a-z0-9-]+)\"?[ \t]*$", re.M)

PROMETHEUS_RULE_HEADER = """\
# Prometheus Operator copy of deploy/prometheus/rules/hoso.rules.yml, written by
# `hoso alerts --format prometheus-rule` (a test keeps the two identical). Runbook: docs/runbook.md.
"""


def with_runbook_base(text: str, base: str) -> str:
    """``text`` (a rules file) with every runbook_url moved to ``base`` (the #section anchors are kept)."""
    if not re.match(r"https?://", base):
        raise ValueError(f"runbook base must be an absolute http(s) URL, got {base!r}")
    return _RUNBOOK_URL.sub(lambda m: f'{m.group(1)}"{base.rstrip("/")}{m.group(3)}"', text)


def prometheus_rule(rules: dict[str, Any]) -> str:
    """The PrometheusRule manifest carrying ``rules`` (the parsed rules file)."""
    manifest = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "hoso", "namespace": "hoso", "labels": {"app.kubernetes.io/part-of": "hoso"}},
        "spec": rules,
    }
    return PROMETHEUS_RULE_HEADER + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=120)


def render(rules_file: Path, base: str, fmt: str) -> str:
    """The rules of ``rules_file`` with runbook links on ``base``, as a rules file or a PrometheusRule."""
    text = with_runbook_base(rules_file.read_text(), base)
    return text if fmt == "prometheus" else prometheus_rule(yaml.safe_load(text))
