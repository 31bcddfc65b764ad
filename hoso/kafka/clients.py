"""Kafka client configuration from settings, for each client library hoso uses, in one place.

kafka-python (synchronous code: publisher CLI, admin, lag), aiokafka (async servers and the dispatcher) and
Faust take the same connection facts under slightly different names; deriving all three here keeps SASL/SSL a
matter of settings, not code. ``async_producer`` is the one producer configuration of the async servers.
"""

from __future__ import annotations

import ssl
from typing import Any

from hoso.settings import Settings


def _ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if "SSL" not in settings.kafka_security_protocol:
        return None
    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)


def _security(settings: Settings) -> dict[str, Any]:
    cfg: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol.startswith("SASL"):
        cfg.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password.get_secret_value(),
        )
    return cfg


def kafka_python(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's KafkaProducer / KafkaConsumer / KafkaAdminClient."""
    cfg = {"bootstrap_servers": settings.bootstrap.split(","), **_security(settings)}
    context = _ssl_context(settings)
    if context is not None:
        cfg["ssl_context"] = context
    return cfg


def aiokafka(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's AIOKafkaConsumer / AIOKafkaProducer."""
    cfg = {"bootstrap_servers": settings.bootstrap, **_security(settings)}
    context = _ssl_context(settings)
    if context is not None:
        cfg["ssl_context"] = context
    return cfg


def async_producer(settings: Settings, *, client_id: str) -> dict[str, Any]:
    """Keyword arguments for the AIOKafkaProducer of an async server (gateway, webhook receiver).

    Idempotent with ``acks=all``: a send that completes is on every in-sync replica and a retried batch is
    not written twice, which is what lets a server answer "stored" once the send completes. A short linger
    lets concurrent requests share batches without delaying a lone one noticeably.
    """
    return {
        **aiokafka(settings),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "compression_type": "lz4",
        "client_id": client_id,
    }


def faust_broker(settings: Settings) -> dict[str, Any]:
    """``broker`` and ``broker_credentials`` for faust.App."""
    import faust

    scheme = "kafka"
    cfg: dict[str, Any] = {"broker": [f"{scheme}://{host}" for host in settings.bootstrap.split(",")]}
    protocol = settings.kafka_security_protocol
    context = _ssl_context(settings)
    if protocol.startswith("SASL"):
        cfg["broker_credentials"] = faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    elif context is not None:
        cfg["broker_credentials"] = faust.SSLCredentials(context)
    return cfg
