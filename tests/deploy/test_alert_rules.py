"""The alert rules: valid for Prometheus, unit-tested with promtool, about metrics hoso exports, with a runbook."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from hosoctl.alert_rules import RUNBOOK_BASE, prometheus_rule, render
from tests.deploy.promql import unknown_metrics
from tests.deploy.tools import DEPLOY, ROOT, require_tool

RULES = DEPLOY / "prometheus" / "rules" / "hoso.rules.yml"
RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
RUNBOOK = ROOT / "docs" / "runbook.md"


def alerts() -> list[dict]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r]


def alert_cases() -> list[tuple[str, bool]]:
    """(alert name, expected to fire) for every promtool alert test case."""
    cases = []
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.append((case["alertname"], bool(case.get("exp_alerts"))))
    return cases


def test_promtool_accepts_the_rules():
    promtool = require_tool("promtool")
    done = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_pass():
    promtool = require_tool("promtool")
    assert RULE_TESTS, "no promtool unit tests in deploy/prometheus/tests"
    done = subprocess.run(
        [promtool, "test", "rules", *map(str, RULE_TESTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=RULE_TESTS[0].parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_alerts_the_issue_asks_for_exist():
    names = {a["alert"] for a in alerts()}
    assert names >= {
        "HosoConsumerLagHigh",
        "HosoDeliveryErrorRatioHigh",
        "HosoZaloTokenRefreshFailing",
        "HosoZaloTokenExpiringSoon",
        "HosoZaloQuotaLow",
        "HosoDeadLettersGrowing",
        "HosoAgencySilent",
        "HosoEndToEndLatencyP99High",
        "HosoOAPaused",
        "HosoGatewayServerErrors",
        "HosoGatewayPublishFailing",
        "HosoWebhookForgedCalls",
        "HosoWebhookPublishFailed",
        "HosoDispatcherSaturated",
    }


@pytest.mark.parametrize("alert", [a["alert"] for a in alerts()])
def test_every_alert_is_unit_tested_both_firing_and_not_firing(alert: str):
    cases = alert_cases()
    assert (alert, True) in cases, f"no promtool case where {alert} fires"
    assert (alert, False) in cases, f"no promtool case where {alert} stays quiet"


@pytest.mark.parametrize("alert", alerts(), ids=lambda a: a["alert"])
def test_every_alert_queries_only_metrics_hoso_exports(alert: dict):
    assert not unknown_metrics(alert["expr"]), f"{alert['alert']} uses metrics nothing exports"


@pytest.mark.parametrize("alert", alerts(), ids=lambda a: a["alert"])
def test_every_alert_has_a_severity_and_a_runbook_section(alert: dict):
    assert alert["labels"]["severity"] in {"warning", "critical"}
    url, anchor = alert["annotations"]["runbook_url"].split("#", 1)
    assert url == RUNBOOK_BASE, "runbook links are absolute, on the one configurable base"
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), re.M)
    }
    assert anchor in headings, f"docs/runbook.md has no section for {alert['alert']}"


def test_the_runbook_base_is_configurable_and_only_the_links_change(tmp_path):
    promtool = require_tool("promtool")
    base = "https://wiki.sotttt.quangninh.gov.vn/hoso/runbook"
    text = render(RULES, base, "prometheus")
    moved = tmp_path / "hoso.rules.yml"
    moved.write_text(text)
    done = subprocess.run([promtool, "check", "rules", str(moved)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    ours, theirs = yaml.safe_load(RULES.read_text()), yaml.safe_load(text)
    links = [r["annotations"].pop("runbook_url") for g in theirs["groups"] for r in g["rules"]]
    for g in ours["groups"]:
        for r in g["rules"]:
            r["annotations"].pop("runbook_url")
    assert ours == theirs
    assert all(link.startswith(base + "#hoso") for link in links)
    with pytest.raises(ValueError, match="absolute"):
        render(RULES, "docs/runbook.md", "prometheus")


def test_the_prometheus_operator_copy_is_the_rendering_of_the_rules_file():
    committed = (DEPLOY / "k8s" / "base" / "prometheusrule.yaml").read_text()
    assert committed == prometheus_rule(yaml.safe_load(RULES.read_text()))
    assert render(RULES, RUNBOOK_BASE, "prometheus") == RULES.read_text()
