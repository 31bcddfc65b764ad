"""The figures table of docs/performance.md is rendered from a committed ``hoso bench --json`` file."""

from __future__ import annotations

from pathlib import Path

import pytest

from hosoctl.bench.table import BLOCK, load, main, render, rewrite

ROOT = Path(__file__).resolve().parents[2]

RUN = b"""[bench] progress lines that slipped into the file are skipped
{"scenario":"dispatcher","metric":"dispatcher_notifications_per_s","value":2075.4,"unit":"notifications/s","baseline":7919.0,"ratio":0.2621}

{"scenario":"e2e","metric":"burst_drain_s","value":17.25,"unit":"s","baseline":null,"ratio":null}
{"scenario":"e2e","metric":"latency_p99_at_25pct_s","value":0.1697,"unit":"s","baseline":null,"ratio":null}
"""


def test_each_figure_becomes_a_row_with_its_baseline_and_ratio_and_each_target_says_met_or_not(tmp_path: Path) -> None:
    bench = tmp_path / "bench.json"
    bench.write_bytes(RUN)
    table = render(load(bench)).splitlines()
    assert table[:5] == [
        "| Scenario | Metric | Value | Unit | Baseline | Ratio |",
        "|---|---|---|---|---|---|",
        "| dispatcher | `dispatcher_notifications_per_s` | 2,075 | notifications/s | 7,919 | 0.262 |",
        "| e2e | `burst_drain_s` | 17.2 | s | — | — |",
        "| e2e | `latency_p99_at_25pct_s` | 0.17 | s | — | — |",
    ]
    assert (
        "| dispatcher: ≥ 0.5 × bare aiohttp ceiling | `dispatcher_notifications_per_s` 2,075 notifications/s"
        " (ratio 0.262) | **no** |" in table
    )
    assert "| e2e: p99 ≤ 1 s at 25% load | `latency_p99_at_25pct_s` 0.17 s | yes |" in table
    assert "| streams: join stage ≥ 0.5 × the minimal Faust agent | not measured in this run | — |" in table


def test_the_generator_rewrites_only_the_marked_block_and_names_its_source(tmp_path: Path) -> None:
    bench = tmp_path / "bench.json"
    bench.write_bytes(RUN)
    doc = tmp_path / "perf.md"
    doc.write_text("# Before\n\n<!-- perf-table: old.json -->\n| stale | table |\n<!-- /perf-table -->\n\nAfter.\n")
    assert main([str(bench), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("# Before\n\n") and text.endswith("\nAfter.\n")
    assert f"<!-- perf-table: {bench} -->" in text and "stale" not in text
    assert "| e2e | `burst_drain_s` | 17.2 | s | — | — |" in text


def test_a_document_without_exactly_one_marked_block_is_refused() -> None:
    with pytest.raises(ValueError, match="found 0"):
        rewrite("no markers here\n", "x.json", [])


def test_a_file_without_figures_is_refused_with_exit_code_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("[bench] scenario dispatcher failed\n")
    assert main([str(empty), "--print"]) == 2


def test_the_table_in_docs_performance_md_is_what_its_committed_bench_file_renders_to() -> None:
    found = BLOCK.search((ROOT / "docs/performance.md").read_text())
    assert found is not None, "docs/performance.md has no <!-- perf-table: ... --> block"
    source = ROOT / found["source"]
    assert source.is_file(), f"{found['source']} (named by docs/performance.md) is not committed"
    assert found["table"] == render(load(source)), "regenerate it: make perf-table BENCH=" + found["source"]
