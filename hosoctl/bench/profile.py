"""Where a process's CPU went: a py-spy raw profile summarised into named categories.

``py-spy record --format raw`` writes one line per distinct stack (``frame;frame;… count``). The tables in
docs/performance.md are this summary of such a file, so anyone can re-take the profile and compare:

    py-spy record --rate 250 --duration 8 --format raw -o join.raw --pid <worker pid>
    python -m hosoctl.bench.profile join.raw --categories join

Each busy sample goes to the first category one of whose function-name fragments appears anywhere in its
stack (so order matters: specific before general); samples whose innermost frame waits in the selector are
idle and left out of the shares.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

Categories = tuple[tuple[str, tuple[str, ...]], ...]

JOIN: Categories = (
    ("table writes, ours: Pipeline._apply → table[key] = value", ("Pipeline._apply", "ManagedUserDict.__setitem__")),
    (
        "table writes, Faust's side: changelog records produced, changelog offsets written",
        ("ProducerBuffer.", "Collection._on_changelog_sent", "Store.set_persisted_offset"),
    ),
    ("table reads", ("SerializedStore.__getitem__", "Pipeline.get", "Batch.get", "ManagedUserDict.__getitem__")),
    ("the join's own code: parse, validate, rules, render", ("join_one", "consent_index", "join_dossier_events")),
    ("the citizen-command agent", ("chat_citizen_commands",)),
    (
        "aiokafka: produce, sender, fetcher",
        ("AIOKafkaProducer", "Sender.", "Fetcher", "AIOKafkaClient", "AIOKafkaConnection"),
    ),
    ("Faust stream / conductor / agent machinery", ("Conductor", "Agent.", "Stream.", "Consumer.", "Topic.")),
)
DISPATCHER: Categories = (
    ("ZaloClient: the HTTP exchange", ("ZaloClient.",)),
    ("decoding the notification", ("schemas.codec", "decode (", "decode_notification")),
    ("sent-log write and acknowledgement", ("SentLog.", "Dispatcher._write_sent")),
    ("per-request metrics", ("_count (", "MetricWrapperBase.labels")),
    ("one task per recipient chain", ("Dispatcher._enqueue",)),
    ("the fetch loop", ("Dispatcher._fetch_loop",)),
)
CATEGORIES = {"join": JOIN, "dispatcher": DISPATCHER}
OTHER = "other (event loop, logging, threads)"
IDLE_LEAVES = ("select (selectors", "EpollSelector.select", "poll (selectors")
_LOCATION = re.compile(r" \([^)]*\)")


def summarise(lines: list[str], categories: Categories) -> tuple[Counter[str], int, int]:
    """Busy samples per category (plus ``OTHER``), the busy total, and the idle samples."""
    shares: Counter[str] = Counter()
    busy = idle = 0
    for line in lines:
        if not line.strip():
            continue
        stack, count = line.rsplit(" ", 1)
        n = int(count)
        frames = stack.split(";")
        if frames[-1].startswith(IDLE_LEAVES):
            idle += n
            continue
        busy += n
        names = [_LOCATION.sub("", f) for f in frames]
        for name, fragments in categories:
            if any(fragment in frame for frame in frames + names for fragment in fragments):
                shares[name] += n
                break
        else:
            shares[OTHER] += n
    return shares, busy, idle


def render(shares: Counter[str], busy: int, idle: int) -> str:
    """A Markdown table of the shares of busy CPU, largest first."""
    rows = [f"{busy + idle} samples, {idle} idle, {busy} busy", "", "| Share of busy CPU | Where |", "|---|---|"]
    rows += [f"| {100 * n / max(busy, 1):.1f}% | {name} |" for name, n in shares.most_common()]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """``python -m hosoctl.bench.profile RAW --categories join|dispatcher``."""
    parser = argparse.ArgumentParser(prog="python -m hosoctl.bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("raw", help="a `py-spy record --format raw` output file")
    parser.add_argument("--categories", choices=sorted(CATEGORIES), default="join")
    args = parser.parse_args(argv)
    shares, busy, idle = summarise(Path(args.raw).read_text().splitlines(), CATEGORIES[args.categories])
    print(render(shares, busy, idle))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
