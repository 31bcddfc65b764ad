"""Publishes dossier events to Kafka durably: validated first, idempotent, acks from all replicas.

A publisher that drops a record quietly is worse than one that fails loudly, so every send is
awaited (in bulk for throughput) and any record Kafka did not acknowledge raises ``PublishError``
naming it. Invalid events never reach the topic: ``InvalidRecord`` lists every problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from hoso.errors import InvalidRecord, PublishError
from hoso.kafka.sync_client import open_client
from schemas.codec import check_event, dumps
from schemas.dossier_event import DossierEvent


@dataclass(frozen=True)
class PublishReport:
    """How a bulk publish went."""

    published: int
    partitions: dict[int, int]


class Publisher:
    """A kafka-python producer bound to the dossier events topic."""

    def __init__(self, client: Mapping[str, Any], topic: str, **overrides: Any) -> None:
        """``client`` holds the connection settings (``hoso.kafka.clients.kafka_python``)."""
        self.topic = topic
        config: dict[str, Any] = {
            **client,
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 5,
            "compression_type": "lz4",
            "max_in_flight_requests_per_connection": 5,
            "client_id": "hoso-publisher",
            **overrides,
        }
        try:
            self._producer = open_client(KafkaProducer, **config)
        except KafkaError as exc:
            raise PublishError(f"cannot connect to Kafka at {client.get('bootstrap_servers')}: {exc}") from exc

    @staticmethod
    def prepare(event: DossierEvent | dict[str, Any] | bytes) -> tuple[bytes, bytes]:
        """Validate and serialise one event into its (key, value), raising InvalidRecord with every problem."""
        if isinstance(event, DossierEvent):
            return event.key.encode(), dumps(event)
        obj = orjson.loads(event) if isinstance(event, bytes | bytearray) else event
        model, problems = check_event(obj)
        if model is None:
            raise InvalidRecord(problems)
        return model.key.encode(), dumps(model)

    def publish(self, event: DossierEvent | dict[str, Any] | bytes, timeout: float = 30.0) -> int:
        """Publish one event and wait for the broker's acknowledgement; returns the partition."""
        key, value = self.prepare(event)
        try:
            return int(self._producer.send(self.topic, key=key, value=value).get(timeout=timeout).partition)
        except KafkaError as exc:
            raise PublishError(f"event for {key.decode()} not acknowledged: {exc}") from exc

    def publish_many(
        self, events: Iterable[DossierEvent | dict[str, Any] | bytes], timeout: float = 120.0
    ) -> PublishReport:
        """Validate all, send all, then wait for every acknowledgement; fails if any record was not written.

        Validation happens before anything is sent, so a bad event in a batch sends nothing.
        """
        prepared = [self.prepare(e) for e in events]
        futures = [self._producer.send(self.topic, key=k, value=v) for k, v in prepared]
        self._producer.flush(timeout=timeout)
        partitions: dict[int, int] = {}
        failed = []
        for (key, _), future in zip(prepared, futures, strict=True):
            if not future.is_done or future.failed():
                failed.append((key.decode(), future.exception if future.is_done else "timed out"))
                continue
            p = future.value.partition
            partitions[p] = partitions.get(p, 0) + 1
        if failed:
            shown = ", ".join(f"{k}: {e}" for k, e in failed[:5])
            raise PublishError(f"{len(failed)} of {len(prepared)} events not acknowledged ({shown})")
        return PublishReport(published=len(prepared), partitions=partitions)

    def close(self, timeout: float = 10.0) -> None:
        """Flush and close the producer."""
        self._producer.close(timeout=timeout)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
