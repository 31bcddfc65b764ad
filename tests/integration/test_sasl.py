"""The whole pipeline against a broker that requires SASL/PLAIN, configured only through settings.

A local broker is started with a SASL_PLAINTEXT client listener (the KRaft controller listener stays
PLAINTEXT); the publisher, a Faust worker process, a dispatcher process and the Zalo simulator then run with
nothing but HOSO_KAFKA_* variables telling them how to authenticate. A wrong password must fail at once, not
hang, and never be echoed.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from hoso.kafka.clients import kafka_python
from hoso.kafka.sync_client import open_client
from hoso.settings import Settings
from hosoctl.local_kafka import BrokerConfig, LocalBroker
from hosoctl.logscan import scan_paths
from hosoctl.processes import free_port
from hosoctl.reconcile import expected_notifications
from hosoctl.stack import Stack
from hosoctl.synthetic import GeneratorOptions, events
from producers.publisher import Publisher
from schemas.common import now_vn

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

USER = "hoso-app"
PASSWORD = "sasl-" + secrets.token_hex(8)
ADMIN_PASSWORD = "admin-" + secrets.token_hex(8)


def jaas() -> str:
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="admin" password="{ADMIN_PASSWORD}" '
        f'user_admin="{ADMIN_PASSWORD}" user_{USER}="{PASSWORD}";'
    )


@pytest.fixture(scope="module")
def sasl_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = Settings.from_env()
    port, controller = free_port(), free_port()
    broker = LocalBroker(
        BrokerConfig(
            home=tmp_path_factory.mktemp("kafka-sasl"),
            version=base.kafka_version,
            port=port,
            controller_port=controller,
            heap_mb=384,
            jars_dir=base.kafka_home / f"lib-{base.kafka_version}",
            extra_properties={
                "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
                "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
                "inter.broker.listener.name": "SASL_PLAINTEXT",
                "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
                "sasl.enabled.mechanisms": "PLAIN",
                "sasl.mechanism.inter.broker.protocol": "PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas(),
            },
            admin_options={
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "PLAIN",
                "sasl_plain_username": USER,
                "sasl_plain_password": PASSWORD,
            },
        )
    )
    broker.start()
    try:
        yield broker.config.bootstrap
    finally:
        broker.stop()


def sasl_settings(bootstrap: str, tmp_path: Path, password: str) -> Settings:
    run = secrets.token_hex(4)
    return Settings.from_env(
        {
            **{k: v for k, v in os.environ.items() if k.startswith("HOSO_") and "KAFKA_S" not in k},
            "KAFKA_BOOTSTRAP": bootstrap,
            "HOSO_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "HOSO_KAFKA_SASL_MECHANISM": "PLAIN",
            "HOSO_KAFKA_SASL_USERNAME": USER,
            "HOSO_KAFKA_SASL_PASSWORD": password,
            "HOSO_TOPIC_PREFIX": f"sasl{run}",
            "HOSO_APP_ID": f"sasl{run}-streams",
            "HOSO_DISPATCHER_GROUP": f"sasl{run}-dispatcher",
            "HOSO_STATE_DIR": str(tmp_path / "state"),
            "HOSO_PARTITIONS": "2",
            "HOSO_QUIET_HOURS": "",  # deliver now whatever the time of day
        }
    )


def test_pipeline_delivers_through_a_broker_that_requires_sasl_plain(sasl_bootstrap, tmp_path):
    settings = sasl_settings(sasl_bootstrap, tmp_path, PASSWORD)
    evts = events(GeneratorOptions(dossiers=8, seed=11, start=now_vn() - timedelta(days=75), no_phone_ratio=0.0))
    expected = expected_notifications(evts, settings.pseudonym_key, settings=settings).tracking_ids
    assert expected
    stack = Stack(settings, tmp_path, "")
    try:
        stack.start(lambda _msg: None)
        with Publisher(kafka_python(settings), stack.topics.dossier_events.name) as publisher:
            publisher.publish_many(evts)
        deadline = time.monotonic() + 120
        with httpx.Client(base_url=stack.simulator_url, timeout=10) as http:
            while True:
                stack.check_alive()
                counts = orjson.loads(http.get("/_sim/tracking-ids").content)["counts"]
                if expected <= counts.keys() or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        assert expected <= counts.keys(), f"{len(expected - counts.keys())} of {len(expected)} not delivered"
    finally:
        stack.stop(delete_topics=True)
    leaks = scan_paths([tmp_path / "logs"], secrets=[PASSWORD])
    assert not leaks, [str(f) for f in leaks]


def test_a_wrong_sasl_password_fails_fast_without_echoing_the_password(sasl_bootstrap, tmp_path, caplog):
    """kafka-python reports a refused login as "Unable to bootstrap" (the broker drops the connection), and only
    sometimes logs "Authentication failed": what always holds is a fast KafkaError and no password in the logs."""
    settings = sasl_settings(sasl_bootstrap, tmp_path, "not-the-password")
    started = time.monotonic()
    # hoso processes keep the kafka loggers at WARNING (kafka-python prints its config, password included, at DEBUG).
    with caplog.at_level(logging.INFO), pytest.raises(KafkaError) as failure:
        open_client(
            KafkaAdminClient, **kafka_python(settings), request_timeout_ms=10_000, bootstrap_timeout_ms=10_000
        ).list_topics()
    print(f"\nwrong password: {type(failure.value).__name__}: {failure.value}")
    assert time.monotonic() - started < 20
    assert "not-the-password" not in caplog.text
    assert "not-the-password" not in str(failure.value)
