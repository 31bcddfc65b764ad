"""Where each agency's system receives ratings: a JSON file of endpoints matched by agency code.

``HOSO_RATINGS_SYNC_CONFIG`` (it holds tokens; mount it from a secret store)::

    {"agencies": [{"name": "quangninh", "codes": ["000.00.*.H22"], "url": "https://motcua.example/api/danh-gia",
                   "token": "…", "loai_danh_gia": "1"}]}

Codes are the receiving unit's identifier (``don_vi_tiep_nhan.ma_dinh_danh``), exact or with ``*`` patterns as
in the gateway's agency profiles. The endpoint receives one ``DanhGiaHaiLong`` JSON object per POST with
``Authorization: Bearer <token>`` and ``Idempotency-Key: <sync id>``; any 2xx is acceptance.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from hoso.config_file import config_entries
from hoso.errors import ConfigurationError


@dataclass(frozen=True)
class AgencyEndpoint:
    """One agency system's rating endpoint."""

    name: str
    codes: tuple[str, ...]
    url: str
    token: str = ""
    loai_danh_gia: str = "1"

    def __repr__(self) -> str:  # the token never reaches logs
        return f"AgencyEndpoint({self.name!r}, codes={self.codes!r}, url={self.url!r})"

    def serves(self, code: str) -> bool:
        """Whether ratings of dossiers received by ``code`` go here."""
        return any(fnmatchcase(code, rule) if "*" in rule else code == rule for rule in self.codes)


@dataclass(frozen=True)
class Endpoints:
    """All configured agency endpoints, first match wins."""

    agencies: tuple[AgencyEndpoint, ...] = ()

    def for_agency(self, code: str) -> AgencyEndpoint | None:
        """The endpoint of agency ``code``, or None (its ratings are kept on the topic, not posted)."""
        return next((a for a in self.agencies if a.serves(code)), None)


_FIELDS = set(AgencyEndpoint.__dataclass_fields__)


def load_endpoints(path: Path) -> Endpoints:
    """Read the endpoints file, failing clearly on a bad one."""
    _, items = config_entries(
        path, "HOSO_RATINGS_SYNC_CONFIG", "agencies", fields=_FIELDS, required={"name", "codes", "url"}
    )
    out = []
    for i, item in enumerate(items):
        where = f"HOSO_RATINGS_SYNC_CONFIG {path}: agencies[{i}]"
        codes = item["codes"]
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and c for c in codes):
            raise ConfigurationError(f"{where}.codes must be a non-empty list of agency codes")
        if not str(item["url"]).startswith(("http://", "https://")):
            raise ConfigurationError(f"{where}.url must be an http(s) URL")
        out.append(
            AgencyEndpoint(**{**item, "codes": tuple(codes), "loai_danh_gia": str(item.get("loai_danh_gia", "1"))})
        )
    return Endpoints(tuple(out))
