"""Scenario ``streams``: events/s through the Faust join stage, against a bare aiokafka loop.

A dossier topic is pre-filled with RECEIVED events (one dossier each, one consenting recipient), so every
event yields exactly one notification. A ``hoso worker`` consumes them (its warm-up: start-up, assignment,
table recovery); then as many again are published to the running worker, and the rate is timed on the
notifications topic from the first of their notifications to the last.
The baseline, in its own process, consumes the same topic, validates each record with
``schemas.codec.decode_event``, produces one record per event and commits: what any consumer must do.
A second baseline does the same as the smallest Faust agent (no tables): the framework's own floor, so the
report separates what Faust costs from what the join adds.
"""

from __future__ import annotations

import orjson

from hosoctl.bench.env import BenchEnv, TopicCounter, run_loop, topics_of, wait_until
from hosoctl.bench.figures import Figure
from hosoctl.bench.records import dossier_event, fill

NAME = "streams"


def run(env: BenchEnv, quick: bool) -> list[Figure]:
    """Measure the Faust join stage and its bare loop."""
    n = 1_500 if quick else 10_000
    s = env.settings(NAME)
    topics = topics_of(s)
    env.say(f"streams: pre-filling {n} dossier events…")
    fill(s, topics.dossier_events.name, _events(env.run_id, n))
    env.say("streams: bare aiokafka loop…")
    sink = topics.dossier_events_invalid.name  # any declared topic this scenario does not otherwise use
    args = ["kafka", "--n", str(n), "--source", topics.dossier_events.name, "--sink", sink]
    bare = run_loop(s, [*args, "--group", f"{s.app_id}-bare"])["rate"]
    env.say("streams: minimal Faust agent (the framework's floor)…")
    floor = run_loop(s, ["faust", *args[1:], "--group", f"{s.app_id}-faust-floor"])["rate"]
    env.say("streams: Faust worker…")
    counter = TopicCounter(s, topics.notifications.name)
    proc = env.spawn("streams-worker", ["worker"], s)

    def alive() -> None:
        if not proc.alive:
            raise RuntimeError(f"worker exited:\n{proc.tail()}")

    try:
        # The pre-filled events warm the worker up (start-up, partition assignment, table recovery and any
        # rebalance happen here); the measured events are published to the running worker afterwards.
        wait_until(counter, n, 600, every=0.2, alive=alive)
        env.say(f"streams: worker warmed up; {n} more events to the running worker…")
        fill(s, topics.dossier_events.name, _events(env.run_id, n, first=n))
        t0, t1, v0 = wait_until(lambda: counter() - n, n, 300 if quick else 900, every=0.1, alive=alive)
    finally:
        counter.close()
        env.stop(proc)
    rate = (n - v0) / max(t1 - t0, 1e-6)
    return [
        Figure(NAME, "faust_events_per_s", rate, "events/s", bare, "join stage vs bare consume-validate-produce"),
        Figure(NAME, "faust_vs_floor", rate, "events/s", floor, "join stage vs the minimal Faust agent"),
        Figure(NAME, "faust_floor_events_per_s", floor, "events/s", bare, "minimal Faust agent vs the bare loop"),
        Figure(NAME, "bare_loop_events_per_s", bare, "events/s", None, "aiokafka + decode_event + produce + commit"),
    ]


def _events(run: str, n: int, first: int = 0):  # noqa: ANN202 - a generator of records
    for i in range(first, first + n):
        e = dossier_event(run, i)
        yield e["data"]["ma_ho_so"].encode(), orjson.dumps(e)
