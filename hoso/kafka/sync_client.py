"""kafka-python clients that leave nothing running behind when they cannot be made.

kafka-python 3 (3.0.12) starts a client's network thread before its first bootstrap, and when the bootstrap
times out (the broker is down) the KafkaAdminClient or KafkaConsumer constructor raises without stopping that
thread: it keeps reconnecting and refreshing metadata for the life of the process. A long-running role that
retries through an outage (the consumer-lag exporter of every worker and dispatcher, every few seconds) would
gather one such client per attempt and meet the returning broker with hundreds of connections.

``open_client`` hands the constructor its network client through kafka-python's own ``kafka_client`` setting,
so the client it made is closed if the constructor fails.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

C = TypeVar("C")


class _Closable(Protocol):
    def close(self) -> None: ...


def open_client(cls: type[C], **config: Any) -> C:
    """``cls(**config)`` for a kafka-python KafkaAdminClient, KafkaConsumer or KafkaProducer; if it raises,
    the network client it had started is closed before the error goes on."""
    make = config.pop("kafka_client", None) or cls.DEFAULT_CONFIG["kafka_client"]
    made: list[_Closable] = []

    def kafka_client(**client_config: Any) -> Any:
        client = make(**client_config)
        made.append(client)
        return client

    try:
        return cls(**config, kafka_client=kafka_client)
    except BaseException:
        for client in made:
            client.close()
        raise
