"""Creates the declared topics idempotently with kafka-python's admin client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from hoso.errors import BrokerError
from hoso.kafka.sync_client import open_client
from schemas.topics import Topics

TOPIC_ALREADY_EXISTS = 36


def create_topics(client: Mapping[str, Any], topics: Topics, replication_factor: int = 1) -> dict[str, str]:
    """Create every declared topic that is missing; returns name -> 'created' | 'exists'.

    An existing topic with a different partition count is an error: co-partitioning would silently break.
    """
    try:
        admin = open_client(KafkaAdminClient, **client, client_id="hoso-admin")
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka at {client.get('bootstrap_servers')}: {exc}") from exc
    try:
        specs = topics.all()
        request = {
            t.name: {
                "num_partitions": t.partitions,
                "replication_factor": replication_factor,
                "configs": t.kafka_configs(),
            }
            for t in specs
        }
        response = admin.create_topics(request, raise_errors=False, wait_for_metadata=True)
        outcome: dict[str, str] = {}
        problems = []
        for item in response.get("topics", []):
            name, code = item["name"], item["error_code"]
            if code == 0:
                outcome[name] = "created"
            elif code == TOPIC_ALREADY_EXISTS:
                outcome[name] = "exists"
            else:
                problems.append(f"{name}: error {code} {item.get('error_message') or ''}".strip())
        existing = [n for n, s in outcome.items() if s == "exists"]
        if existing:
            described = admin.describe_topics(existing)
            want = {t.name: t.partitions for t in specs}
            for d in described:
                have = len(d.get("partitions", []))
                if have != want[d["name"]]:
                    problems.append(f"{d['name']} has {have} partitions, {want[d['name']]} declared")
        if problems:
            raise BrokerError("topic setup failed: " + "; ".join(problems))
        return outcome
    finally:
        admin.close()


def delete_topics(client: Mapping[str, Any], names: list[str]) -> None:
    """Delete topics (used to clean up demo and test namespaces)."""
    admin = open_client(KafkaAdminClient, **client, client_id="hoso-admin")
    try:
        admin.delete_topics(names)
    finally:
        admin.close()
