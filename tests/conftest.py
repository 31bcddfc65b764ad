"""Shared fixtures: one real Kafka broker per test session, and settings scoped to each test.

Set KAFKA_BOOTSTRAP to run the suite against an existing cluster instead of the local broker.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoso.settings import Settings
from hosoctl.local_kafka import BrokerConfig, LocalBroker
from hosoctl.processes import free_port


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real broker for the whole session: the configured cluster, or a fresh local one on free ports."""
    base = Settings.from_env()
    if not base.local_broker:
        yield base.bootstrap
        return
    broker = LocalBroker(
        BrokerConfig(
            home=tmp_path_factory.mktemp("kafka"),
            version=base.kafka_version,
            port=free_port(),
            controller_port=free_port(),
            heap_mb=512,
            jars_dir=base.kafka_home / f"lib-{base.kafka_version}",
        )
    )
    broker.start()
    try:
        yield broker.config.bootstrap
    finally:
        broker.stop()


@pytest.fixture
def settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own topic prefix, app id, consumer group and state folder.

    Quiet hours are off: a test must pass at whatever hour CI runs it (the dispatcher would otherwise defer
    every non-emergency message from 21:00 to 07:00 Vietnam time). Tests of quiet hours set their own window
    around the current time.
    """
    run = secrets.token_hex(4)
    return Settings.from_env(
        {
            "HOSO_QUIET_HOURS": "",
            **{k: v for k, v in os.environ.items() if k.startswith("HOSO_")},
            "KAFKA_BOOTSTRAP": kafka_bootstrap,
            "HOSO_TOPIC_PREFIX": f"t{run}",
            "HOSO_APP_ID": f"t{run}-streams",
            "HOSO_DISPATCHER_GROUP": f"t{run}-dispatcher",
            "HOSO_STATE_DIR": str(tmp_path / "state"),
            "HOSO_PARTITIONS": "4",
        }
    )
