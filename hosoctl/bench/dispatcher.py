"""Scenario ``dispatcher``: notifications/s from a pre-filled topic through the real dispatcher to Zalo.

The dispatcher (``hoso dispatcher``) and the simulator run as separate processes. A tenth as many
notifications as measured warm the dispatcher up (start-up, group join, sent-log load); then the measured
ones are written to the running dispatcher's topic and timed at the simulator, first accepted to last.
Baselines, same simulator, same concurrency (``HOSO_DISPATCH_CONCURRENCY``), each in its own process:
a bare aiohttp POST loop (the ceiling), a naive ``httpx.AsyncClient()`` loop, and hoso's ``ZaloClient``
alone (its transport without Kafka, to split the dispatcher's cost between HTTP and the rest).
"""

from __future__ import annotations

from hosoctl.bench.env import BenchEnv, run_loop, sim_accepted, topics_of, wait_until
from hosoctl.bench.figures import Figure
from hosoctl.bench.records import fill, notification

NAME = "dispatcher"


def run(env: BenchEnv, quick: bool) -> list[Figure]:
    """Measure the dispatcher and its three baselines."""
    n = 4_000 if quick else 60_000
    n_base = 4_000 if quick else 30_000
    s = env.settings(NAME)
    sim, url = env.simulator(s, "dispatcher-simulator")
    s = env.with_zalo(s, url)
    c = str(s.dispatch_concurrency)
    env.say(f"dispatcher: baselines ({n_base} sends each, concurrency {c})…")
    loop_args = ["--url", url, "--n", str(n_base), "--concurrency", c, "--run", env.run_id]
    ceiling = run_loop(s, ["aiohttp", *loop_args])["rate"]
    # The naive loop is an order of magnitude slower; fewer sends give its rate as well in less time.
    naive_args = ["--url", url, "--n", str(min(n_base, 5_000)), "--concurrency", c, "--run", env.run_id + "n"]
    naive = run_loop(s, ["httpx", *naive_args])["rate"]
    client = run_loop(s, ["zalo-client", *loop_args])["rate"]
    topic = topics_of(s).notifications.name
    warm = n // 10
    fill(s, topic, (notification(env.run_id, i) for i in range(warm)))
    before = sim_accepted(url)
    proc = env.spawn("dispatcher", ["dispatcher"], s)

    def alive() -> None:
        if not proc.alive:
            raise RuntimeError(f"dispatcher exited:\n{proc.tail()}")

    wait_until(lambda: sim_accepted(url) - before, warm, 300, every=0.2, alive=alive)
    env.say(f"dispatcher: warmed up; {n} notifications to the running dispatcher…")
    before = sim_accepted(url)
    fill(s, topic, (notification(env.run_id, i) for i in range(warm, warm + n)))
    t0, t1, v0 = wait_until(lambda: sim_accepted(url) - before, n, 300 if quick else 900, alive=alive)
    rate = (n - v0) / max(t1 - t0, 1e-6)
    env.stop(proc)
    # Shared machines change load within minutes: the ceiling is measured before and after the dispatcher,
    # and the mean of the two is the baseline.
    before_ceiling = ceiling
    after_ceiling = run_loop(s, ["aiohttp", *loop_args[:-1], env.run_id + "a"])["rate"]
    ceiling = (before_ceiling + after_ceiling) / 2
    env.stop(sim)
    return [
        Figure(NAME, "dispatcher_notifications_per_s", rate, "notifications/s", ceiling, "vs bare aiohttp loop"),
        Figure(NAME, "zalo_client_requests_per_s", client, "requests/s", ceiling, "ZaloClient alone vs bare aiohttp"),
        Figure(NAME, "naive_httpx_requests_per_s", naive, "requests/s", ceiling, "httpx default transport"),
        Figure(
            NAME,
            "aiohttp_ceiling_requests_per_s",
            ceiling,
            "requests/s",
            None,
            f"bare aiohttp POST loop: {before_ceiling:,.0f} before, {after_ceiling:,.0f} after the dispatcher",
        ),
    ]
