"""The Markdown report of a bench run: machine, command, figures, targets met or missed, and a chart.

The chart is drawn with matplotlib (the ``bench`` extra: ``pip install 'hoso[bench]'``); without it the
report says so and everything else is still written — the figures matter, the picture is a convenience.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hosoctl.bench.figures import Figure


@dataclass(frozen=True)
class Target:
    """A goal from the performance issue, checked against one figure."""

    scenario: str
    metric: str
    text: str
    met: Callable[[Figure], bool]


TARGETS: tuple[Target, ...] = (
    Target("dispatcher", "dispatcher_notifications_per_s", "≥ 5,000 notifications/s", lambda f: f.value >= 5000),
    Target(
        "dispatcher",
        "dispatcher_notifications_per_s",
        "≥ 0.5 × bare aiohttp ceiling",
        lambda f: (f.ratio or 0) >= 0.5,
    ),
    Target("streams", "faust_events_per_s", "≥ 0.5 × bare aiokafka loop", lambda f: (f.ratio or 0) >= 0.5),
    Target("streams", "faust_vs_floor", "join stage ≥ 0.5 × the minimal Faust agent", lambda f: (f.ratio or 0) >= 0.5),
    Target("e2e", "sustained_notifications_per_s", "≥ 3,000 notifications/s", lambda f: f.value >= 3000),
    Target("e2e", "latency_p99_at_25pct_s", "p99 ≤ 1 s at 25% load", lambda f: f.value <= 1.0),
    Target("e2e", "latency_p99_at_50pct_s", "p99 ≤ 1 s at 50% load", lambda f: f.value <= 1.0),
    Target("e2e", "latency_p99_at_75pct_s", "p99 ≤ 1 s at 75% load", lambda f: f.value <= 1.0),
    Target("broadcast", "enqueue_1000000_s", "1,000,000-subscriber alert enqueued ≤ 20 s", lambda f: f.value <= 20),
    Target("broadcast", "after_fanout_rss_mb", "worker peak RSS ≤ 1 GiB after the fan-outs", lambda f: f.value <= 1024),
    Target("memory", "worker_peak_rss_mb", "worker peak RSS ≤ 1 GiB", lambda f: f.value <= 1024),
)


def machine() -> dict[str, str]:
    """What the figures ran on: cores, CPU model, memory, load, Python."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "memory": mem,
        "load average at the end": load,
        "python": platform.python_version(),
    }


def fmt(x: float | None) -> str:
    """A figure as the reports show it: thousands separated from 100 up, three significant digits below."""
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def targets_table(figures: list[Figure]) -> list[str]:
    """Rows saying, per target whose figure was measured, whether it is met."""
    rows = ["| Target | Figure | Met |", "|---|---|---|"]
    for t in TARGETS:
        found = [f for f in figures if f.scenario == t.scenario and f.metric == t.metric]
        if not found:
            continue
        f = found[0]
        shown = fmt(f.value) + (f" (ratio {fmt(f.ratio)})" if f.ratio is not None else "")
        rows.append(f"| {t.scenario}: {t.text} | {shown} {f.unit} | {'yes' if t.met(f) else '**no**'} |")
    return rows


def chart(figures: list[Figure], path: Path) -> bool:
    """A PNG of every ratio to its baseline; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    with_base = [f for f in figures if f.ratio is not None]
    if not with_base:
        return False
    labels = [f"{f.scenario}: {f.metric}" for f in with_base]
    ratios = [f.ratio or 0.0 for f in with_base]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(labels) + 1.5))
    ax.barh(labels, ratios, color=["#2a7" if r >= 0.5 else "#c44" for r in ratios])
    ax.axvline(0.5, color="#555", linestyle="--", linewidth=1)
    ax.axvline(1.0, color="#999", linestyle=":", linewidth=1)
    ax.invert_yaxis()
    ax.set_xlabel("ratio to the baseline measured in the same run (dashed: 0.5 target)")
    for i, r in enumerate(ratios):
        ax.text(r, i, f" {r:.2f}", va="center", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write(path: Path, figures: list[Figure], command: str, failures: dict[str, str], seconds: float) -> None:
    """Write the Markdown report (and its chart next to it)."""
    png = path.with_suffix(".png")
    drew = chart(figures, png)
    lines = ["# hoso bench", "", f"Command: `{command}` ({seconds:.0f} s)", ""]
    lines += ["| Machine | |", "|---|---|", *[f"| {k} | {v} |" for k, v in machine().items()], ""]
    lines += ["## Figures", "", "| Scenario | Metric | Value | Unit | Baseline | Ratio | Note |", "|---" * 7 + "|"]
    for f in figures:
        cells = [f.scenario, f.metric, fmt(f.value), f.unit, fmt(f.baseline), fmt(f.ratio), f.note]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Targets", "", *targets_table(figures), ""]
    if drew:
        lines += ["## Ratios to baselines", "", f"![ratios]({png.name})", ""]
    else:
        lines += ["(No chart: install the `bench` extra, `pip install 'hoso[bench]'`, for matplotlib.)", ""]
    if failures:
        lines += ["## Scenarios that failed", ""]
        lines += [f"- **{name}**: {why}" for name, why in failures.items()]
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
