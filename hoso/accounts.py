"""The Zalo Official Accounts hoso sends from: credentials, limits and which provinces each one serves.

Each province (or agency group) has its own OA with its own tokens, template catalogue, rate limit and
daily quota. The registry is a JSON file (``HOSO_OA_CONFIG``; it holds secrets, so mount it from a secret
store); without one, the demo OA that the Zalo simulator knows is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hoso.config_file import config_entries
from hoso.errors import ConfigurationError


@dataclass(frozen=True)
class OA:
    """One Official Account."""

    oa_id: str
    app_id: str
    secret_key: str
    access_token: str = ""
    refresh_token: str = ""
    provinces: tuple[str, ...] = ()
    rate_per_s: float = 1000.0
    burst: int = 200
    quota_reserve: int = 0

    def __repr__(self) -> str:  # secrets never reach logs
        return f"OA({self.oa_id!r}, provinces={self.provinces!r}, rate_per_s={self.rate_per_s})"


DEMO_OA = OA(
    oa_id="hoso-demo-oa",
    app_id="hoso-demo-app",
    secret_key="hoso-demo-app-secret",  # noqa: S106 - opens only the simulator
    access_token="sim-demo-access-token",  # noqa: S106
    refresh_token="sim-demo-refresh-token",  # noqa: S106
)


@dataclass(frozen=True)
class OARegistry:
    """All OAs, and the route from a province code to its OA."""

    oas: dict[str, OA] = field(default_factory=dict)
    default_oa: str = DEMO_OA.oa_id

    def route(self, province: str | None) -> str:
        """The OA that sends for ``province`` (the default OA when none claims it)."""
        if province:
            for oa in self.oas.values():
                if province in oa.provinces:
                    return oa.oa_id
        return self.default_oa

    def get(self, oa_id: str) -> OA:
        """The OA with this id, or a ConfigurationError naming it."""
        try:
            return self.oas[oa_id]
        except KeyError:
            raise ConfigurationError(f"notification for unknown OA {oa_id!r}; add it to HOSO_OA_CONFIG") from None


_FIELDS = set(OA.__dataclass_fields__)


def load_registry(path: Path | None, default_oa: str) -> OARegistry:
    """Read the OA file (or the demo OA when ``path`` is None), failing clearly on a bad file."""
    if path is None or str(path) == "":
        return OARegistry(oas={DEMO_OA.oa_id: DEMO_OA}, default_oa=default_oa)
    raw, items = config_entries(
        path, "HOSO_OA_CONFIG", "oas", fields=_FIELDS, required={"oa_id", "app_id", "secret_key"}
    )
    oas: dict[str, OA] = {}
    for item in items:
        item = {**item, "provinces": tuple(item.get("provinces", ()))}
        oa = OA(**item)
        if oa.oa_id in oas:
            raise ConfigurationError(f"HOSO_OA_CONFIG {path}: OA {oa.oa_id!r} declared twice")
        oas[oa.oa_id] = oa
    default = raw.get("default_oa", default_oa)
    if default not in oas:
        raise ConfigurationError(f"HOSO_OA_CONFIG {path}: default OA {default!r} is not declared")
    return OARegistry(oas=oas, default_oa=default)
