"""Simulator configuration, passed in as a dataclass (never read from the environment).

Everything that differs between a unit test, a load test and a long-running demo
lives here: the OAs and their credentials, token lifetimes, faults, the webhook
target for delivery receipts, the night ban and the clock.  ``load_config`` reads
the same fields from a JSON file for the command line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from zalo_simulator.faults import FaultSpec

THREE_MONTHS_S = 90 * 86400.0
"""Refresh-token lifetime Zalo documents as "3 months"."""


@dataclass(frozen=True, slots=True)
class OAConfig:
    """One Official Account with the app that holds its tokens."""

    oa_id: str
    app_id: str
    secret_key: str
    """App Secret Key: sent in the ``secret_key`` header of token calls."""
    oa_secret_key: str
    """OA Secret Key: signs webhook events (X-ZEvent-Signature)."""
    access_token: str
    refresh_token: str
    daily_quota: int = 500


# Demo credentials are public by design: they only open this simulator.
DEMO_OA = OAConfig(
    oa_id="hoso-demo-oa",
    app_id="hoso-demo-app",
    secret_key="hoso-demo-app-secret",  # noqa: S106
    oa_secret_key="hoso-demo-oa-secret",  # noqa: S106
    access_token="sim-demo-access-token",  # noqa: S106
    refresh_token="sim-demo-refresh-token",  # noqa: S106
    daily_quota=1_000_000,
)
"""The OA a default simulator serves; the demo and local stacks use these credentials."""


def _default_oas() -> list[OAConfig]:
    return [DEMO_OA]


@dataclass(slots=True)
class SimulatorConfig:
    """Everything a simulator instance needs; the defaults give a fault-free demo OA."""

    oas: list[OAConfig] = field(default_factory=_default_oas)
    access_token_ttl_s: float = 90000.0
    refresh_token_ttl_s: float = THREE_MONTHS_S
    faults: FaultSpec = field(default_factory=FaultSpec)
    webhook_url: str | None = None
    """Where ZBS delivery receipts are POSTed; None disables receipts."""
    receipt_delay_s: float = 1.0
    """Delay between accepting a phone send and its simulated delivery (and receipt)."""
    night_ban: bool = False
    """Reject template sends 22:00-06:00 Vietnam time with -133."""
    clock: Callable[[], float] = time.time
    """Epoch-seconds source for token expiry, quota days and the night ban."""
    seed: int | None = None
    """Seed for faults, latencies and generated ids; same seed + same requests = same run."""
    receipt_retry_delays_s: tuple[float, ...] = (0.5, 2.0, 5.0)
    """Pauses before re-posting a receipt the webhook did not accept (one retry each)."""
    receipt_timeout_s: float = 2.0
    """Zalo expects the webhook to answer within 2 seconds."""
    receipt_queue_size: int = 100_000
    """Pending receipts beyond this are dropped (counted) so sends never block."""
    receipt_workers: int = 16
    record_payloads: bool = True
    """Keep template_data and text of accepted messages (turn off for huge load runs)."""

    def __post_init__(self) -> None:
        if not self.oas:
            raise ValueError("SimulatorConfig.oas must list at least one OA")
        for attr in ("oa_id", "app_id", "access_token", "refresh_token"):
            values = [getattr(oa, attr) for oa in self.oas]
            if len(set(values)) != len(values):
                raise ValueError(f"OAConfig.{attr} must be unique across OAs")
        if self.access_token_ttl_s <= 0 or self.refresh_token_ttl_s <= 0:
            raise ValueError("token lifetimes must be > 0")
        if self.receipt_delay_s < 0:
            raise ValueError("receipt_delay_s must be >= 0")
        if self.receipt_workers < 1 or self.receipt_queue_size < 1:
            raise ValueError("receipt_workers and receipt_queue_size must be >= 1")
        self.faults = FaultSpec.coerce(self.faults)


def default_config(**overrides: Any) -> SimulatorConfig:
    """The demo configuration, with keyword overrides (e.g. ``faults=...``)."""
    return SimulatorConfig(**overrides)


_JSON_KEYS = frozenset(f.name for f in fields(SimulatorConfig)) - {"clock"}


def config_from_dict(data: dict[str, Any]) -> SimulatorConfig:
    """Build a config from plain data (the JSON file layout); unknown keys are errors.

    ``faults`` may be a spec string or a ``{"5xx": 0.05, ...}`` mapping; ``oas`` is a
    list of objects with the OAConfig field names.  ``clock`` cannot be set this way.
    """
    unknown = set(data) - _JSON_KEYS
    if unknown:
        raise ValueError(f"unknown simulator config keys: {sorted(unknown)}")
    kwargs = dict(data)
    if "oas" in kwargs:
        oa_fields = {f.name for f in fields(OAConfig)}
        oas = []
        for i, raw in enumerate(kwargs["oas"]):
            bad = set(raw) - oa_fields
            if bad:
                raise ValueError(f"oas[{i}]: unknown keys {sorted(bad)}")
            oas.append(OAConfig(**raw))
        kwargs["oas"] = oas
    if "faults" in kwargs:
        kwargs["faults"] = FaultSpec.coerce(kwargs["faults"])
    if "receipt_retry_delays_s" in kwargs:
        kwargs["receipt_retry_delays_s"] = tuple(float(x) for x in kwargs["receipt_retry_delays_s"])
    return SimulatorConfig(**kwargs)


def load_config(path: str | Path) -> SimulatorConfig:
    """Read a JSON config file (see ``config_from_dict`` for the layout)."""
    data = orjson.loads(Path(path).read_bytes())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: top level must be a JSON object")
    return config_from_dict(data)
