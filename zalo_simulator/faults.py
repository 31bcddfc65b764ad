"""Fault injection: the failures a client of Zalo must survive, on demand and reproducibly.

Real Zalo occasionally answers with HTTP 5xx, rate-limits (-32, still HTTP 200),
fails with "unknown error" (-100), or accepts a message and then answers too late
for the client, which is how duplicate sends arise in production.  The pipeline
is only trustworthy if it was exercised against all of these, so the simulator
injects them at configurable rates.

Spec grammar (comma-separated ``key=value`` parts, whitespace ignored)::

    5xx=0.05          probability of a real HTTP 500/502/503 (message NOT accepted)
    timeout=0.02      probability that the message IS accepted and recorded, then the
                      response is held for ``timeout_hold`` so the client times out
    rate_limit=0.05   probability of {"error": -32} with HTTP 200 (not accepted)
    unknown=0.01      probability of {"error": -100} with HTTP 200 (not accepted)
    token_ttl=20s     access-token lifetime override
    latency=2ms       mean of an exponential extra latency per request
    latency=fixed:5ms constant extra latency (``exp:2ms`` is the explicit default form)
    quota=500         daily quota override for every OA
    timeout_hold=15s  how long a "timeout" response is held (default 15s)

Probabilities are floats in [0, 1] or percentages ("5%"); together they must not
exceed 1.  Durations are "20s", "500ms", "2m", "1h" or plain seconds.  The empty
string and "none" mean no faults.  A bad spec raises ValueError naming the bad part.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

from zalo_simulator.durations import format_duration, parse_duration

DEFAULT_TIMEOUT_HOLD_S = 15.0


class FaultKind(StrEnum):
    """The faults a request can suffer; the value is the spec key and stats key."""

    HTTP_5XX = "5xx"
    TIMEOUT = "timeout"
    RATE_LIMIT = "rate_limit"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Immutable description of which faults to inject and how often."""

    http_5xx: float = 0.0
    timeout: float = 0.0
    rate_limit: float = 0.0
    unknown: float = 0.0
    token_ttl_s: float | None = None
    latency_s: float = 0.0
    latency_fixed: bool = False
    quota: int | None = None
    timeout_hold_s: float = DEFAULT_TIMEOUT_HOLD_S

    def __post_init__(self) -> None:
        for name in ("http_5xx", "timeout", "rate_limit", "unknown"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"fault probability {name}={p!r} is outside [0, 1]")
        if self.total_probability > 1.0 + 1e-9:
            raise ValueError(f"fault probabilities add up to {self.total_probability!r}, more than 1")
        if self.token_ttl_s is not None and self.token_ttl_s <= 0:
            raise ValueError(f"token_ttl must be > 0, got {self.token_ttl_s!r}")
        if self.latency_s < 0 or self.timeout_hold_s < 0:
            raise ValueError("latency and timeout_hold must be >= 0")
        if self.quota is not None and self.quota < 0:
            raise ValueError(f"quota must be >= 0, got {self.quota!r}")

    @property
    def total_probability(self) -> float:
        """Chance that a request gets any of the probabilistic faults."""
        return self.http_5xx + self.timeout + self.rate_limit + self.unknown

    @classmethod
    def parse(cls, spec: str) -> FaultSpec:
        """Build a FaultSpec from the comma-separated grammar in the module docstring."""
        values: dict[str, Any] = {}
        text = spec.strip()
        if text.lower() in ("", "none", "off"):
            return cls()
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            key, value = key.strip().lower().replace("-", "_"), value.strip()
            if not sep or not value:
                raise ValueError(f"bad fault spec part {part!r}: expected key=value")
            parser = _PARSERS.get(key)
            if parser is None:
                known = ", ".join(sorted(_PARSERS))
                raise ValueError(f"bad fault spec part {part!r}: unknown key {key!r} (known: {known})")
            try:
                values.update(parser(value))
            except ValueError as exc:
                raise ValueError(f"bad fault spec part {part!r}: {exc}") from None
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"bad fault spec {spec!r}: {exc}") from None

    @classmethod
    def coerce(cls, value: FaultSpec | str | dict[str, Any] | None) -> FaultSpec:
        """Accept a FaultSpec, a spec string, a {spec-key: value} mapping or None."""
        if value is None:
            return cls()
        if isinstance(value, FaultSpec):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, dict):
            return cls.parse(",".join(f"{k}={v}" for k, v in value.items()))
        raise ValueError(f"cannot build a FaultSpec from {type(value).__name__}")

    def to_spec(self) -> str:
        """Render back to the spec grammar; ``FaultSpec.parse(s.to_spec()) == s``."""
        default = FaultSpec()
        parts: list[str] = []
        for kind, attr in _PROBABILITY_ATTRS.items():
            p = getattr(self, attr)
            if p:
                parts.append(f"{kind}={p!r}")
        if self.token_ttl_s is not None:
            parts.append(f"token_ttl={format_duration(self.token_ttl_s)}")
        if self.latency_s:
            mode = "fixed:" if self.latency_fixed else ""
            parts.append(f"latency={mode}{format_duration(self.latency_s)}")
        elif self.latency_fixed:
            parts.append("latency=fixed:0s")
        if self.quota is not None:
            parts.append(f"quota={self.quota}")
        if self.timeout_hold_s != default.timeout_hold_s:
            parts.append(f"timeout_hold={format_duration(self.timeout_hold_s)}")
        return ",".join(parts) or "none"

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view used by the control API."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["spec"] = self.to_spec()
        return out

    def with_changes(self, **changes: Any) -> FaultSpec:
        """Return a copy with some fields replaced (validated again)."""
        return replace(self, **changes)


_PROBABILITY_ATTRS: dict[str, str] = {
    FaultKind.HTTP_5XX.value: "http_5xx",
    FaultKind.TIMEOUT.value: "timeout",
    FaultKind.RATE_LIMIT.value: "rate_limit",
    FaultKind.UNKNOWN.value: "unknown",
}


def _probability(attr: str) -> Any:
    def parse(value: str) -> dict[str, Any]:
        text = value.strip()
        try:
            p = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        except ValueError:
            raise ValueError(f"not a probability: {value!r}") from None
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"probability {value!r} is outside [0, 1]")
        return {attr: p}

    return parse


def _latency(value: str) -> dict[str, Any]:
    mode, sep, amount = value.partition(":")
    if not sep:
        return {"latency_s": parse_duration(value), "latency_fixed": False}
    mode = mode.strip().lower()
    if mode not in ("fixed", "exp"):
        raise ValueError(f"latency mode must be 'fixed' or 'exp', got {mode!r}")
    return {"latency_s": parse_duration(amount), "latency_fixed": mode == "fixed"}


def _quota(value: str) -> dict[str, Any]:
    try:
        quota = int(value)
    except ValueError:
        raise ValueError(f"quota must be an integer, got {value!r}") from None
    if quota < 0:
        raise ValueError(f"quota must be >= 0, got {value!r}")
    return {"quota": quota}


_PARSERS: dict[str, Any] = {
    **{kind: _probability(attr) for kind, attr in _PROBABILITY_ATTRS.items()},
    "token_ttl": lambda v: {"token_ttl_s": parse_duration(v)},
    "latency": _latency,
    "quota": _quota,
    "timeout_hold": lambda v: {"timeout_hold_s": parse_duration(v)},
}


class FaultInjector:
    """Draws faults and latencies for each request from seeded random streams.

    Decisions and latencies use separate generators so that turning latency on
    or off does not change which requests fail: with the same seed and the same
    request order, the same requests get the same faults.
    """

    __slots__ = ("_decide", "_delay", "_seed", "_thresholds", "counts", "spec")

    def __init__(self, spec: FaultSpec, seed: int | None = None) -> None:
        self._seed = seed
        self._decide = random.Random(seed)
        self._delay = random.Random(None if seed is None else seed + 1)
        self.counts: dict[str, int] = {kind.value: 0 for kind in FaultKind}
        self.spec = spec
        self._thresholds: tuple[tuple[float, FaultKind], ...] = ()
        self.set_spec(spec)

    def set_spec(self, spec: FaultSpec) -> None:
        """Switch to a new spec at run time (counts are kept)."""
        self.spec = spec
        edges: list[tuple[float, FaultKind]] = []
        acc = 0.0
        for kind, p in (
            (FaultKind.HTTP_5XX, spec.http_5xx),
            (FaultKind.TIMEOUT, spec.timeout),
            (FaultKind.RATE_LIMIT, spec.rate_limit),
            (FaultKind.UNKNOWN, spec.unknown),
        ):
            if p > 0:
                acc += p
                edges.append((acc, kind))
        self._thresholds = tuple(edges)

    def reset(self) -> None:
        """Re-seed the generators and zero the counters."""
        self._decide = random.Random(self._seed)
        self._delay = random.Random(None if self._seed is None else self._seed + 1)
        for kind in self.counts:
            self.counts[kind] = 0

    def draw(self) -> FaultKind | None:
        """Return the fault for this request, or None (the common, fast case)."""
        if not self._thresholds:
            return None
        u = self._decide.random()
        for edge, kind in self._thresholds:
            if u < edge:
                self.counts[kind.value] += 1
                return kind
        return None

    def latency(self) -> float:
        """Extra seconds to wait before handling this request (0.0 when off)."""
        mean = self.spec.latency_s
        if mean <= 0.0:
            return 0.0
        if self.spec.latency_fixed:
            return mean
        return self._delay.expovariate(1.0 / mean)

    def pick_5xx_status(self) -> int:
        """Choose which 5xx status a failing request gets."""
        return self._decide.choice((500, 502, 503))
