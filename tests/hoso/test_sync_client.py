"""A kafka-python client that cannot reach its broker is not made, and leaves nothing running behind.

kafka-python 3 starts a client's network thread before its first bootstrap; without ``open_client`` a failed
KafkaAdminClient or KafkaConsumer constructor leaves that thread reconnecting for the life of the process.
"""

from __future__ import annotations

import threading

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaConfigurationError, KafkaTimeoutError

from hoso.kafka.sync_client import open_client
from hosoctl.processes import free_port


def network_threads_since(before: set[threading.Thread]) -> list[str]:
    return [t.name for t in set(threading.enumerate()) - before if t.name.startswith("kafka-io-")]


@pytest.mark.parametrize("cls", [KafkaAdminClient, KafkaConsumer, KafkaProducer])
def test_a_client_whose_bootstrap_times_out_leaves_no_network_thread(cls):
    before = set(threading.enumerate())
    for _ in range(3):
        with pytest.raises(KafkaTimeoutError):
            open_client(cls, bootstrap_servers=[f"127.0.0.1:{free_port()}"], bootstrap_timeout_ms=100)
    assert network_threads_since(before) == []


def test_a_misconfigured_client_is_refused_as_kafka_python_refuses_it():
    with pytest.raises(KafkaConfigurationError, match="no_such_setting"):
        open_client(KafkaAdminClient, bootstrap_servers=["127.0.0.1:1"], no_such_setting=1)


@pytest.mark.broker
def test_a_client_that_reaches_its_broker_works_and_closes(settings):
    before = set(threading.enumerate())
    admin = open_client(KafkaAdminClient, bootstrap_servers=settings.bootstrap.split(","), client_id="hoso-test")
    try:
        assert isinstance(admin.list_topics(), list)
        assert network_threads_since(before) == ["kafka-io-hoso-test"]
    finally:
        admin.close()
    assert network_threads_since(before) == []
