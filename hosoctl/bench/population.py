"""Followers in the worker's tables, for the broadcast and memory scenarios.

Subscriptions arrive the way they do in production: agency events whose recipients consent. Each event is
SUBMITTED (not announced, so nothing is sent while filling) and carries the schema's maximum of 10
consenting recipients; follow requests (as the chat flow writes them) add 90 more distinct people per
dossier. ``subscribers`` followers therefore sit on ``subscribers / 100`` dossiers, each with its state
(and so its province) in the state table. Fewer, fuller dossiers keep the fill within minutes on a
small machine; the tables hold the same number of followers.
"""

from __future__ import annotations

import time

import orjson

from hoso.errors import HosoError
from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from hosoctl.bench.env import BenchEnv
from hosoctl.processes import Process

PER_EVENT = 10
"""Recipients per agency event (the schema's maximum)."""
PER_DOSSIER = 100
"""Followers per dossier: 10 from the agency event, the rest by follow requests (subscription changes)."""
FOLLOW_PHONES = 50_000_000
"""Phone indexes of follow requests start here, apart from the agency events' recipients."""


def fill_followers(env: BenchEnv, settings: Settings, groups: dict[str, int], first: int = 0) -> int:
    """Publish what gives ``groups[province]`` followers in each province; returns the dossiers created.

    Per dossier: one SUBMITTED agency event (its state, hence its province, and 10 consenting recipients)
    and 90 follow requests on the subscription-changes topic, each a distinct person.
    """
    from hosoctl.bench.records import dossier_code, dossier_event, fill, phone
    from schemas.common import normalize_phone, now_vn
    from streams.followers import subscriber_id

    topics = settings.topics
    plan = [(province, n // PER_DOSSIER) for province, n in groups.items()]
    now = now_vn().isoformat()

    def events():  # noqa: ANN202 - generator of records
        i = first
        for province, dossiers in plan:
            for _ in range(dossiers):
                e = dossier_event(env.run_id, i, status="SUBMITTED", recipients=PER_EVENT, province=province)
                yield e["data"]["ma_ho_so"].encode(), orjson.dumps(e)
                i += 1

    def follows():  # noqa: ANN202 - generator of records
        i = first
        for _province, dossiers in plan:
            for _ in range(dossiers):
                code = dossier_code(env.run_id, i)
                for r in range(PER_EVENT, PER_DOSSIER):
                    mobile = normalize_phone(phone(FOLLOW_PHONES + i * PER_DOSSIER + r))
                    change = {
                        "ma_ho_so": code,
                        "subscriber_id": subscriber_id(settings.pseudonym_key, mobile, None),
                        "phone": mobile,
                        "source": "CHAT",
                        "active": True,
                        "updated_at": now,
                    }
                    yield code.encode(), orjson.dumps(change)
                i += 1

    dossiers = fill(settings, topics.dossier_events.name, events())
    fill(settings, topics.subscription_changes.name, follows())
    return dossiers


def wait_consumed(settings: Settings, worker: Process, timeout: float) -> float:
    """Wait until the worker's group has committed every dossier event and follow request; seconds waited."""
    from kafka import KafkaConsumer, TopicPartition

    topics = settings.topics
    # A client with the worker's group id only reads the group's committed offsets; it never joins the group.
    consumer = KafkaConsumer(**kafka_python(settings), group_id=settings.app_id, enable_auto_commit=False)
    started = time.monotonic()
    try:
        names = (topics.dossier_events.name, topics.subscription_changes.name)
        tps = [TopicPartition(name, p) for name in names for p in range(settings.partitions)]
        ends = consumer.end_offsets(tps)
        while True:
            if all((consumer.committed(tp) or 0) >= ends[tp] for tp in tps if ends[tp] > 0):
                return time.monotonic() - started
            if not worker.alive:
                raise HosoError(f"worker exited while filling:\n{worker.tail()}")
            if time.monotonic() - started > timeout:
                raise HosoError(f"worker did not consume the followers' events within {timeout:.0f}s")
            time.sleep(0.5)
    finally:
        consumer.close()


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a process, in MiB."""
    for line in open(f"/proc/{pid}/status").read().splitlines():  # noqa: SIM115 - /proc, tiny
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise HosoError(f"no VmHWM for pid {pid}")
