"""Consumer lag, measured from the broker and exported as ``hoso_consumer_lag_records``.

Lag is what operators look at first: it says how far behind a stage is, whatever the reason. It is read
from the broker (the group's committed offsets against each partition's log end), not from the client, so
it stays true while a process is stuck, rebalancing, or gone: any process of the group reports the same
numbers, and a lagging group shows up even from a healthy member. Each worker and dispatcher runs one
exporter for its own group in a daemon thread, independent of its event loop.

A partition the group has never committed is counted from its log start, because both stages consume
from ``earliest``: that is how many records the group will have to read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import KafkaError

from hoso import metrics
from hoso.kafka import clients as kafka_clients
from hoso.kafka.sync_client import open_client
from hoso.settings import Settings

log = logging.getLogger("hoso.kafka.lag")

DEFAULT_INTERVAL_S = 5.0


@dataclass(frozen=True)
class PartitionLag:
    """How far one group is behind on one partition."""

    group: str
    topic: str
    partition: int
    committed: int | None
    log_start: int
    log_end: int

    @property
    def lag(self) -> int:
        """Records the group has still to read (never negative)."""
        position = self.committed if self.committed is not None and self.committed >= 0 else self.log_start
        return max(0, self.log_end - max(position, self.log_start))


def lag_rows(
    group: str,
    committed: Mapping[TopicPartition, int | None],
    log_start: Mapping[TopicPartition, int],
    log_end: Mapping[TopicPartition, int],
) -> list[PartitionLag]:
    """Join committed offsets with log bounds, one row per partition whose log end is known, sorted."""
    return [
        PartitionLag(group, tp.topic, tp.partition, committed.get(tp), log_start.get(tp, 0), end)
        for tp, end in sorted(log_end.items())
    ]


class LagReader:
    """Reads a group's lag through one kafka-python admin client (created on first use, reused after)."""

    def __init__(self, client_config: Mapping[str, Any]) -> None:
        # Bounded waits: an unreachable broker must not freeze the exporter for kafka-python's 30 s default.
        self._config = {"request_timeout_ms": 10_000, "bootstrap_timeout_ms": 10_000, **client_config}
        self._admin: KafkaAdminClient | None = None

    def read(self, group: str, topics: Iterable[str]) -> list[PartitionLag]:
        """Lag of ``group`` on ``topics`` and on every other topic it has committed offsets for."""
        admin = self._client()
        committed = {
            tp: (om.offset if om is not None else None)
            for tp, om in admin.list_group_offsets({group: None}).get(group, {}).items()
        }
        wanted = set(topics) | {tp.topic for tp in committed}
        partitions = [
            TopicPartition(t["name"], p["partition_index"])
            for t in admin.describe_topics(sorted(wanted))
            if t.get("error_code") == 0
            for p in t.get("partitions", [])
        ]
        if not partitions:
            return []
        end = admin.list_partition_offsets(dict.fromkeys(partitions, OffsetSpec.LATEST))
        start = admin.list_partition_offsets(dict.fromkeys(partitions, OffsetSpec.EARLIEST))
        return lag_rows(
            group,
            committed,
            {tp: o.offset for tp, o in start.items()},
            {tp: o.offset for tp, o in end.items()},
        )

    def close(self) -> None:
        """Close the admin client, if one was opened."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def _client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = open_client(KafkaAdminClient, **self._config, client_id="hoso-lag")
        return self._admin


def publish(rows: Iterable[PartitionLag]) -> None:
    """Set the lag gauge for each row."""
    for row in rows:
        metrics.CONSUMER_LAG.labels(row.group, row.topic, str(row.partition)).set(row.lag)


class LagExporter:
    """A daemon thread that refreshes one group's lag gauges every ``interval_s`` seconds until stopped."""

    def __init__(self, reader: LagReader, group: str, topics: Iterable[str], interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.group = group
        self.topics = tuple(topics)
        self.interval_s = interval_s
        self._reader = reader
        self._stop = threading.Event()
        self._failing = False
        self._thread = threading.Thread(target=self._loop, name=f"hoso-lag-{group}", daemon=True)

    def start(self) -> LagExporter:
        """Start the thread; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to finish and wait for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def collect_once(self) -> list[PartitionLag]:
        """One measurement, published; failures are logged once per outage and yield no rows."""
        try:
            rows = self._reader.read(self.group, self.topics)
        except Exception as exc:
            # A monitoring thread must outlive any failure, or lag would silently stop being reported.
            if not self._failing:
                level = logging.WARNING if isinstance(exc, KafkaError | OSError) else logging.ERROR
                log.log(level, "consumer lag of %s unavailable, will retry: %r", self.group, exc)
            self._failing = True
            self._reader.close()
            return []
        if self._failing:
            log.info("consumer lag of %s available again", self.group)
            self._failing = False
        publish(rows)
        return rows

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                self.collect_once()
                self._stop.wait(self.interval_s)
        finally:
            self._reader.close()


def start_lag_exporter(
    settings: Settings, group: str, topics: Iterable[str], interval_s: float = DEFAULT_INTERVAL_S
) -> LagExporter:
    """Export ``group``'s lag on ``topics`` (and any topic it has committed) from a background thread."""
    return LagExporter(LagReader(kafka_clients.kafka_python(settings)), group, topics, interval_s).start()
