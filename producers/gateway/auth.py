"""Per-agency API keys: who is calling, and which agency codes they may publish for.

The keys file holds only SHA-256 digests of the keys, so a leaked file grants nothing; a presented key is
hashed and compared against every digest in constant time. Each key belongs to an agency profile (its name,
its allowed codes, and what the national-portal adapter needs: display name, province, lookup link and
whether its citizens consent to Zalo at intake) and may be an operator key (area alerts).

File shape (docs/gateway.md has a full example)::

    {"agencies": {"<id>": {"name": "...", "codes": ["000.00.49.H22", "000.00.*.H56"], "dvcqg": {...}}},
     "keys": [{"sha256": "<hex>", "label": "...", "agency": "<id>", "operator": false}]}

A code with ``*`` is a pattern (``000.00.49.*`` for one agency's units, ``000.00.*.H56`` for a province's
agencies, ``*`` matching any run of characters); any other code must match exactly.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import orjson

from hoso.errors import ConfigurationError
from producers.dvcqg import AUTHORISED_FIELD_KEYS, AgencyDefaults

DEMO_KEYS_FILE = Path(__file__).with_name("demo-keys.json")
"""The keys shipped for the demo and tests (their plain keys are listed in docs/gateway.md)."""


def hash_key(key: str) -> str:
    """The hex SHA-256 digest stored in the keys file for ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Agency:
    """An agency allowed to publish, and the codes it may publish for."""

    id: str
    name: str
    codes: tuple[str, ...]
    dvcqg: AgencyDefaults | None = None

    def allows(self, code: str) -> bool:
        """Whether an event with this ``source_system`` / receiving agency code belongs to this agency."""
        return any(fnmatchcase(code, rule) if "*" in rule else code == rule for rule in self.codes)

    def owns_dossier(self, ma_ho_so: str) -> bool:
        """Whether the dossier code's agency prefix (``{agency code}-{yyMMdd}-{nnnn}``, vn-egov.md §3.1) is ours.

        The dossier code is the Kafka key: without this check one agency's key could publish events for
        another agency's dossiers as long as it named itself as the source.
        """
        return self.allows(dossier_prefix(ma_ho_so))


def dossier_prefix(ma_ho_so: str) -> str:
    """The agency part of a dossier code: everything before the first ``-`` (the whole code if none)."""
    return ma_ho_so.strip().split("-", 1)[0]


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid key; ``label`` names the key in logs (never the key itself)."""

    label: str
    agency: Agency | None
    operator: bool = False


class KeyRing:
    """The accepted keys (as digests) and whom each one identifies."""

    def __init__(self, entries: list[tuple[bytes, Principal]]) -> None:
        """``entries`` pairs a raw SHA-256 digest with its principal."""
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal of an ``Authorization: Bearer <key>`` header, or None if absent or unknown."""
        if not authorization:
            return None
        scheme, _, key = authorization.strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return None
        digest = hashlib.sha256(key.encode()).digest()
        found: Principal | None = None
        for stored, principal in self._entries:  # no early exit: time does not depend on which key matched
            if hmac.compare_digest(stored, digest):
                found = principal
        return found

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        """Load a keys file, failing with a message that names the file and the problem."""
        try:
            raw = orjson.loads(path.read_bytes())
        except OSError as exc:
            raise ConfigurationError(f"gateway keys file {path}: {exc.strerror or exc}") from exc
        except orjson.JSONDecodeError as exc:
            raise ConfigurationError(f"gateway keys file {path}: not valid JSON ({exc})") from exc
        try:
            return cls.from_mapping(raw)
        except ConfigurationError as exc:
            raise ConfigurationError(f"gateway keys file {path}: {exc}") from exc

    @classmethod
    def from_mapping(cls, raw: Any) -> KeyRing:
        """Build from the parsed keys file."""
        if not isinstance(raw, dict) or not isinstance(raw.get("keys"), list):
            raise ConfigurationError('expected {"agencies": {...}, "keys": [...]}')
        agencies = {aid: _agency(aid, a) for aid, a in (raw.get("agencies") or {}).items()}
        entries = []
        for i, k in enumerate(raw["keys"]):
            where = f"keys[{i}]"
            if not isinstance(k, dict):
                raise ConfigurationError(f"{where}: expected an object")
            digest = str(k.get("sha256", ""))
            try:
                raw_digest = bytes.fromhex(digest)
            except ValueError:
                raw_digest = b""
            if len(raw_digest) != 32:
                raise ConfigurationError(f"{where}.sha256: expected 64 hex digits (sha256 of the key)")
            agency_id = k.get("agency")
            if agency_id is not None and agency_id not in agencies:
                raise ConfigurationError(f"{where}.agency: unknown agency {agency_id!r}")
            operator = k.get("operator", False)
            if not isinstance(operator, bool):
                raise ConfigurationError(f"{where}.operator: expected true or false")
            if agency_id is None and not operator:
                raise ConfigurationError(f"{where}: a key needs an agency, or operator: true")
            label = str(k.get("label") or f"key{i}")
            entries.append((raw_digest, Principal(label, agencies.get(agency_id) if agency_id else None, operator)))
        return cls(entries)


def _agency(agency_id: str, raw: Any) -> Agency:
    where = f"agencies.{agency_id}"
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where}: expected an object")
    codes = raw.get("codes")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and c.strip("*") for c in codes):
        raise ConfigurationError(f"{where}.codes: expected a non-empty list of agency codes or * patterns")
    dvcqg = raw.get("dvcqg")
    defaults = None
    if dvcqg is not None:
        if not isinstance(dvcqg, Mapping):
            raise ConfigurationError(f"{where}.dvcqg: expected an object")
        missing = [k for k in ("ten_don_vi", "tinh", "tra_cuu_url") if not isinstance(dvcqg.get(k), str)]
        if missing:
            raise ConfigurationError(f"{where}.dvcqg: missing {', '.join(missing)}")
        consent = dvcqg.get("zalo_consent_at_intake", False)
        if not isinstance(consent, bool):
            raise ConfigurationError(f"{where}.dvcqg.zalo_consent_at_intake: expected true or false")
        defaults = AgencyDefaults(
            ten_don_vi=dvcqg["ten_don_vi"],
            tinh=dvcqg["tinh"],
            tra_cuu_url=dvcqg["tra_cuu_url"],
            xa=dvcqg.get("xa"),
            zalo_consent_at_intake=consent,
            **{k: str(dvcqg[k]) for k in AUTHORISED_FIELD_KEYS if isinstance(dvcqg.get(k), str) and dvcqg[k].strip()},
        )
    return Agency(agency_id, str(raw.get("name") or agency_id), tuple(codes), defaults)
