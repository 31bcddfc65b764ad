"""Scenario ``memory``: a worker's peak RSS (VmHWM) with 1,000,000 subscriptions in its tables.

The followers are loaded the production way (consenting recipients of agency events and follow requests,
``population``) into one worker, which therefore holds every table partition; the figure is read from /proc once the
worker has committed every event.
"""

from __future__ import annotations

from hosoctl.bench.env import BenchEnv
from hosoctl.bench.figures import Figure
from hosoctl.bench.population import fill_followers, peak_rss_mb, wait_consumed

NAME = "memory"


def run(env: BenchEnv, quick: bool) -> list[Figure]:
    """Load the subscriptions and read the worker's peak resident set."""
    subscribers = 20_000 if quick else 1_000_000
    s = env.settings(NAME)
    worker = env.spawn("memory-worker", ["worker"], s)
    env.say(f"memory: loading {subscribers:,} subscriptions…")
    dossiers = fill_followers(env, s, {"22": subscribers})
    waited = wait_consumed(s, worker, 3600)
    env.say(f"memory: loaded ({waited:.0f}s after the last publish)")
    rss = peak_rss_mb(worker.pid)
    return [
        Figure(NAME, "worker_peak_rss_mb", rss, "MiB", None, f"{subscribers:,} subscriptions on {dossiers:,} dossiers"),
    ]
