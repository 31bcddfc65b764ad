"""Scenario ``broadcast``: time to enqueue an area alert for 100,000 and 1,000,000 subscribers.

Followers are loaded into a worker's tables first (``population``), in two provinces sized like the two
alerts. The time runs from ``publish_broadcast`` until every alert notification is on the notifications
topic — i.e. until the dispatcher could start sending all of them. The worker's peak RSS after the
fan-out is reported too (the alert path holds the most at once).
"""

from __future__ import annotations

import time

from hoso.kafka.clients import kafka_python
from hosoctl.bench.env import BenchEnv, TopicCounter, topics_of, wait_until
from hosoctl.bench.figures import Figure
from hosoctl.bench.population import fill_followers, peak_rss_mb, wait_consumed
from producers.broadcast import publish_broadcast
from schemas.common import now_vn

NAME = "broadcast"
PROVINCES = ("01", "22")


def run(env: BenchEnv, quick: bool) -> list[Figure]:
    """Load followers, then time each alert's fan-out."""
    sizes = (10_000,) if quick else (100_000, 1_000_000)
    groups = dict(zip(PROVINCES, sizes, strict=False))
    s = env.settings(NAME)
    topics = topics_of(s)
    env.say(f"broadcast: loading {sum(sizes):,} followers…")
    worker = env.spawn("broadcast-worker", ["worker"], s)
    fill_followers(env, s, groups)
    waited = wait_consumed(s, worker, 1800)
    env.say(f"broadcast: followers loaded ({waited:.0f}s after the last publish)")
    figures = [Figure(NAME, "followers_loaded_rss_mb", peak_rss_mb(worker.pid), "MiB", None, "worker VmHWM")]
    counter = TopicCounter(s, topics.notifications.name)
    try:
        for province, size in groups.items():
            before = counter()
            started = time.monotonic()
            publish_broadcast(
                kafka_python(s),
                topics,
                {
                    "broadcast_id": f"bench-{env.run_id}-{province}",
                    "area_level": "PROVINCE",
                    "area_code": province,
                    "text": "Cảnh báo thử nghiệm: bão số 3 đổ bộ, người dân chủ động phòng tránh.",
                    "issued_by": "Ban Chỉ huy phòng chống thiên tai",
                    "issued_at": now_vn().isoformat(),
                },
            )

            def enqueued(before: int = before) -> int:
                return counter() - before

            def alive() -> None:
                if not worker.alive:
                    raise RuntimeError(f"worker exited:\n{worker.tail()}")

            _, done, _ = wait_until(enqueued, size, 1800, every=0.25, alive=alive)
            figures.append(Figure(NAME, f"enqueue_{size}_s", done - started, "s", None, f"province {province}"))
            env.say(f"broadcast: {size:,} alerts enqueued in {done - started:.1f}s")
    finally:
        counter.close()
    figures.append(Figure(NAME, "after_fanout_rss_mb", peak_rss_mb(worker.pid), "MiB", None, "worker VmHWM"))
    return figures
