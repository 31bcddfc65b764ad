"""The one root of every error hoso raises, so callers can catch hoso's failures apart from bugs.

HosoError
├── ConfigurationError        settings, catalogues, credentials: a human must fix something
├── InvalidRecord             input that fails its schema (carries every problem with its path)
├── PublishError              a record could not be durably written to Kafka
├── BrokerError               the local broker could not be started or reached
└── DeliveryError             a Zalo send did not succeed
    ├── RetryableDelivery     try again later (network, 5xx, rate limit, unknown error)
    ├── DeferredDelivery      try again at a known time (quota reset, night ban)
    ├── PermanentDelivery     never for this recipient (no Zalo account, refused, bad number)
    └── OAConfigurationError  the whole Official Account is unusable until an operator acts
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.problems import Problem


class HosoError(Exception):
    """Root of all hoso errors."""


class ConfigurationError(HosoError):
    """Configuration is missing or wrong; retrying will not help."""


class InvalidRecord(HosoError):
    """A record failed validation; ``problems`` lists every problem with its field path."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems) or "invalid record")


class PublishError(HosoError):
    """A record was not acknowledged by Kafka; the caller still owns it."""


class BrokerError(HosoError):
    """The local broker could not be prepared, started or reached."""


class DeliveryError(HosoError):
    """A Zalo send failed; ``code`` is Zalo's error code when there is one."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)


class RetryableDelivery(DeliveryError):
    """Transient: the same request may succeed later."""


class DeferredDelivery(DeliveryError):
    """Not now: retry at ``not_before`` (epoch seconds)."""

    def __init__(self, message: str, *, code: int | None = None, not_before: float = 0.0) -> None:
        self.not_before = not_before
        super().__init__(message, code=code)


class PermanentDelivery(DeliveryError):
    """This recipient cannot get this message on Zalo; do not retry (fall back to SMS)."""


class OAConfigurationError(DeliveryError):
    """The Official Account itself is blocked (credentials, billing, template rights)."""
