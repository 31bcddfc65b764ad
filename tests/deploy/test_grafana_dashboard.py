"""The Grafana dashboard: well-formed, provisioned, and every query names only metrics hoso exports."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml

from tests.deploy.promql import metric_names, unknown_metrics
from tests.deploy.tools import DEPLOY

GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "hoso.json"


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels(items: list[dict] | None = None) -> Iterator[dict]:
    """Every panel, including those nested in collapsed rows."""
    for p in dashboard()["panels"] if items is None else items:
        yield p
        yield from panels(p.get("panels", []))


def queries() -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    out = [(f"panel {p['title']!r}", t["expr"]) for p in panels() for t in p.get("targets", [])]
    for var in dashboard()["templating"]["list"]:
        if var["type"] == "query":
            q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            inner = q.removeprefix("label_values(").rsplit(",", 1)[0] if q.startswith("label_values(") else q
            out.append((f"variable {var['name']!r}", inner))
    return out


def test_dashboard_has_an_id_a_title_and_unique_panel_ids():
    d = dashboard()
    assert d["uid"] and d["title"]
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("where", "expr"), [pytest.param(w, e, id=f"{w}:{i}") for i, (w, e) in enumerate(queries())])
def test_every_query_names_only_metrics_hoso_exports(where: str, expr: str):
    assert metric_names(expr), f"{where}: no metric in {expr!r}"
    assert not unknown_metrics(expr), f"{where}: {sorted(unknown_metrics(expr))} are not exported by hoso"


def test_every_data_panel_has_a_query_and_uses_the_datasource_variable():
    for p in panels():
        if p["type"] == "row":
            continue
        assert p.get("targets"), f"panel {p['title']!r} has no query"
        assert p["datasource"]["uid"] == "${datasource}", p["title"]


def test_the_panels_the_operators_need_are_there():
    names = set().union(*(metric_names(e) for _, e in queries()))
    assert names >= {
        "hoso_dossier_events_total",
        "hoso_notifications_emitted_total",
        "hoso_deliveries_total",
        "hoso_consumer_lag_records",
        "hoso_zalo_requests_total",
        "hoso_zalo_request_duration_seconds_bucket",
        "hoso_end_to_end_seconds_bucket",
        "hoso_zalo_token_expiry_seconds",
        "hoso_zalo_quota_remaining",
        "hoso_dead_lettered_total",
        "hoso_agency_last_event_timestamp_seconds",
    }


def test_percentile_panels_show_p50_p95_and_p99():
    for p in panels():
        exprs = [t["expr"] for t in p.get("targets", [])]
        if any("hoso_end_to_end_seconds_bucket" in e for e in exprs):
            assert {"p50", "p95", "p99"} <= {t["legendFormat"] for t in p["targets"]}


def test_provisioning_points_grafana_at_the_dashboard_and_the_datasource_it_defaults_to():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "hoso.yml").read_text())["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"].startswith("/")
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    default = next(v for v in dashboard()["templating"]["list"] if v["name"] == "datasource")
    assert default["current"]["value"] in {s["uid"] for s in sources if s["type"] == "prometheus"}
