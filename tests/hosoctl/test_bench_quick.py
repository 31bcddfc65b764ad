"""``hoso bench --quick --json`` keeps working: one JSON line per figure, in the documented shape.

Benchmarks are not tests, so no number is checked here — only that a quick run of every scenario
completes against the real broker and reports figures the documented way.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from hoso.errors import ConfigurationError
from hosoctl.bench.figures import Figure
from hosoctl.bench.runner import SCENARIOS, parse_scenarios

KEYS = ["scenario", "metric", "value", "unit", "baseline", "ratio"]


def test_a_figure_without_baseline_has_null_baseline_and_ratio() -> None:
    line = orjson.loads(Figure("memory", "worker_peak_rss_mb", 512.0, "MiB").json_line())
    assert list(line) == KEYS
    assert line["baseline"] is None and line["ratio"] is None


def test_a_figure_with_baseline_reports_value_over_baseline() -> None:
    line = orjson.loads(Figure("dispatcher", "x", 3000.0, "notifications/s", 6000.0).json_line())
    assert line["baseline"] == 6000.0 and line["ratio"] == 0.5


def test_scenarios_are_selected_by_name_and_unknown_names_are_refused() -> None:
    assert parse_scenarios("streams, dispatcher") == ("streams", "dispatcher")
    assert parse_scenarios("all") == tuple(SCENARIOS)
    with pytest.raises(ConfigurationError, match="nosuch"):
        parse_scenarios("dispatcher,nosuch")


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_quick_bench_prints_one_json_line_per_figure_of_every_scenario_and_a_report(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    report = tmp_path / "report.md"
    env = {**os.environ, "KAFKA_BOOTSTRAP": kafka_bootstrap, "HOSO_STATE_DIR": str(tmp_path / "state")}
    command = ["bench", "--quick", "--json", "--report", str(report)]
    done = subprocess.run(
        [sys.executable, "-m", "hosoctl.cli", *command],
        env=env,
        capture_output=True,
        timeout=580,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    lines = [orjson.loads(raw) for raw in done.stdout.splitlines() if raw.strip()]
    metrics = {line["metric"] for line in lines}
    assert {line["scenario"] for line in lines} == set(SCENARIOS)
    assert {"dispatcher_notifications_per_s", "aiohttp_ceiling_requests_per_s", "faust_events_per_s"} <= metrics
    assert {"faust_floor_events_per_s", "sustained_notifications_per_s", "burst_drain_s", "enqueue_10000_s"} <= metrics
    assert {"worker_lag_at_end_of_75pct", "dispatcher_lag_at_end_of_75pct"} <= metrics
    for line in lines:
        assert list(line) == KEYS
        assert isinstance(line["value"], float) and math.isfinite(line["value"])
        # a consumer lag may well be 0; every rate, time and size is positive
        assert line["value"] >= 0 if line["unit"] == "records" else line["value"] > 0
        if line["baseline"] is None:
            assert line["ratio"] is None
        else:
            # value, baseline and ratio are each rounded to 4 decimals in the JSON line
            assert line["ratio"] == pytest.approx(line["value"] / line["baseline"], rel=1e-3, abs=1e-4)
    text = report.read_text()
    assert "dispatcher_notifications_per_s" in text and "nproc" in text


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_the_faust_floor_baseline_runs_its_events_through_a_minimal_agent(settings) -> None:
    from hoso.kafka.admin import create_topics
    from hoso.kafka.clients import kafka_python
    from hosoctl.bench.env import run_loop, topics_of
    from hosoctl.bench.records import dossier_event, fill

    topics = topics_of(settings)
    create_topics(kafka_python(settings), topics)
    n = 300
    events = (dossier_event("floor", i) for i in range(n))
    fill(settings, topics.dossier_events.name, ((e["data"]["ma_ho_so"].encode(), orjson.dumps(e)) for e in events))
    args = ["--n", str(n), "--source", topics.dossier_events.name, "--sink", topics.dossier_events_invalid.name]
    result = run_loop(settings, ["faust", *args, "--group", f"{settings.app_id}-floor"], timeout=100)
    assert result["count"] >= n and result["rate"] > 0
