"""The figures table of docs/performance.md, generated from a ``hoso bench --json`` file, never typed by hand.

A bench run's JSON lines are committed under ``docs/bench/``; the document holds the table between two
markers, the opening one naming that file::

    <!-- perf-table: docs/bench/<run>.json -->
    | Scenario | Metric | ... |
    <!-- /perf-table -->

``make perf-table BENCH=docs/bench/<run>.json`` (``python -m hosoctl.bench.table``) rewrites the block from
the file, and a test checks that the committed document's block is exactly what its file renders to, so a
figure in the document can always be traced to the run that measured it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import orjson

from hosoctl.bench.figures import Figure
from hosoctl.bench.report import TARGETS, fmt

DOC = Path("docs/performance.md")
BLOCK = re.compile(r"<!-- perf-table: (?P<source>\S+) -->\n(?P<table>.*?)<!-- /perf-table -->\n", re.DOTALL)


def load(path: Path) -> list[Figure]:
    """The figures of a ``hoso bench --json`` output file (blank lines and progress lines skipped)."""
    figures = []
    for raw in path.read_bytes().splitlines():
        if not raw.strip().startswith(b"{"):
            continue
        line: dict[str, Any] = orjson.loads(raw)
        figures.append(Figure(line["scenario"], line["metric"], float(line["value"]), line["unit"], line["baseline"]))
    return figures


def render(figures: list[Figure]) -> str:
    """Every figure with its baseline and ratio, then which targets are met — Markdown, ending in a newline."""
    rows = ["| Scenario | Metric | Value | Unit | Baseline | Ratio |", "|---|---|---|---|---|---|"]
    for f in figures:
        rows.append(f"| {f.scenario} | `{f.metric}` | {fmt(f.value)} | {f.unit} | {fmt(f.baseline)} | {fmt(f.ratio)} |")
    rows += ["", "| Target | Figure | Met |", "|---|---|---|"]
    for t in TARGETS:
        found = [f for f in figures if f.scenario == t.scenario and f.metric == t.metric]
        if not found:
            rows.append(f"| {t.scenario}: {t.text} | not measured in this run | — |")
            continue
        f = found[0]
        shown = f"`{f.metric}` {fmt(f.value)} {f.unit}" + (f" (ratio {fmt(f.ratio)})" if f.ratio is not None else "")
        rows.append(f"| {t.scenario}: {t.text} | {shown} | {'yes' if t.met(f) else '**no**'} |")
    return "\n".join(rows) + "\n"


def block(source: str, figures: list[Figure]) -> str:
    """The marked block for ``source`` (the JSON file's path as written in the document)."""
    return f"<!-- perf-table: {source} -->\n{render(figures)}<!-- /perf-table -->\n"


def rewrite(doc_text: str, source: str, figures: list[Figure]) -> str:
    """``doc_text`` with its perf-table block replaced by one rendered from ``figures``; exactly one block."""
    found = BLOCK.findall(doc_text)
    if len(found) != 1:
        raise ValueError(f"expected one <!-- perf-table: ... --> block, found {len(found)}")
    return BLOCK.sub(lambda _m: block(source, figures), doc_text)


def main(argv: list[str] | None = None) -> int:
    """``python -m hosoctl.bench.table BENCH.json [--doc docs/performance.md]``: rewrite the document's table."""
    parser = argparse.ArgumentParser(prog="python -m hosoctl.bench.table", description=__doc__.splitlines()[0])
    parser.add_argument("bench", help="a `hoso bench --json` output file, e.g. docs/bench/<run>.json")
    parser.add_argument("--doc", default=str(DOC), help="the document holding the marked table")
    parser.add_argument("--print", action="store_true", help="print the table instead of rewriting the document")
    args = parser.parse_args(argv)
    figures = load(Path(args.bench))
    if not figures:
        print(f"{args.bench}: no figures (JSON lines) in it", file=sys.stderr)
        return 2
    if args.print:
        print(render(figures), end="")
        return 0
    doc = Path(args.doc)
    doc.write_text(rewrite(doc.read_text(), args.bench, figures))
    print(f"{doc}: table rewritten from {args.bench} ({len(figures)} figures)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
