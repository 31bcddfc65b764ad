"""The ZNS template catalogue: which approved template, with which parameters, for each OA and status.

Templates are approved per OA by Zalo, so their ids are configuration, not code: a JSON file (the packaged
``streams/templates/catalogue.json`` or ``HOSO_TEMPLATE_CATALOGUE``) maps each status, and ``ALERT`` for area
alerts, to a template id and a mapping from the template's parameter names to the values ``render`` produces.
The file is checked completely when the worker starts; every problem is reported with its JSON path, so a
typo stops the deployment instead of every message of one status failing at Zalo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from hoso.errors import ConfigurationError
from schemas.dossier_event import Status
from streams.render import LIMITS, fit

ALERT = "ALERT"
OTP = "OTP"
"""The one-time code sent to a dossier's registered phone to prove ownership (a ZBS OTP template)."""
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PARAM = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


class CatalogueError(ConfigurationError):
    """The template catalogue cannot be used; the message lists every problem with its JSON path."""


@dataclass(frozen=True)
class Template:
    """One approved ZNS template: its id and ``param name -> (value name, max length)``."""

    template_id: str
    params: dict[str, tuple[str, int]]

    def data(self, values: dict[str, str]) -> dict[str, str]:
        """The template's parameters from rendered ``values``: NFC, within each parameter's length limit."""
        return {name: fit(values.get(source, ""), limit) for name, (source, limit) in self.params.items()}


@dataclass(frozen=True)
class Catalogue:
    """Templates per OA, falling back to the ``default`` set for OAs (and statuses) not listed."""

    default: dict[str, Template]
    oas: dict[str, dict[str, Template]]

    def template(self, oa_id: str, key: str) -> Template:
        """The template for status (or ``ALERT``) ``key`` on ``oa_id``."""
        return self.oas.get(oa_id, {}).get(key) or self.default[key]


def required_keys(notified: frozenset[Status]) -> set[str]:
    """Keys the default set must define: every announced status and area alerts."""
    return {s.value for s in notified} | {ALERT, OTP}


def parse(doc: Any, notified: frozenset[Status], origin: str = "catalogue") -> Catalogue:
    """Validate a parsed catalogue document; raise CatalogueError listing every problem."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise CatalogueError(f"{origin}: expected a JSON object with 'default' and 'oas'")
    for extra in sorted(set(doc) - {"default", "oas", "comment"}):
        problems.append(f"{extra}: unknown key (expected default, oas)")
    default = _template_set(doc.get("default"), "default", problems)
    missing = sorted(required_keys(notified) - set(default))
    if missing:
        problems.append(f"default: no template for {', '.join(missing)}")
    oas: dict[str, dict[str, Template]] = {}
    raw_oas = doc.get("oas", {})
    if not isinstance(raw_oas, dict):
        problems.append("oas: expected an object of OA id -> templates")
        raw_oas = {}
    for oa_id, templates in raw_oas.items():
        oas[oa_id] = _template_set(templates, f"oas.{oa_id}", problems)
    if problems:
        raise CatalogueError(f"{origin} has {len(problems)} problem(s): " + "; ".join(problems))
    return Catalogue(default=default, oas=oas)


def _template_set(raw: Any, path: str, problems: list[str]) -> dict[str, Template]:
    if not isinstance(raw, dict):
        problems.append(f"{path}: expected an object of status -> template")
        return {}
    known = {s.value for s in Status} | {ALERT, OTP}
    out = {}
    for key, spec in raw.items():
        if key not in known:
            problems.append(f"{path}.{key}: not a status, ALERT or OTP")
            continue
        template = _template(spec, f"{path}.{key}", problems)
        if template is not None:
            out[key] = template
    return out


def _template(spec: Any, path: str, problems: list[str]) -> Template | None:
    if not isinstance(spec, dict):
        problems.append(f"{path}: expected an object with template_id and params")
        return None
    before = len(problems)
    tid = spec.get("template_id")
    if not isinstance(tid, str) or not _ID.fullmatch(tid):
        problems.append(f"{path}.template_id: must be 1-64 letters, digits, '_', '-' or '.'")
    raw_params = spec.get("params")
    params: dict[str, tuple[str, int]] = {}
    if not isinstance(raw_params, dict) or not raw_params:
        problems.append(f"{path}.params: expected a non-empty object of ZNS parameter -> value name")
        raw_params = {}
    for name, source in raw_params.items():
        where = f"{path}.params.{name}"
        if not _PARAM.fullmatch(name):
            problems.append(f"{where}: not a valid ZNS parameter name")
        limit = None
        if isinstance(source, dict):
            source, limit = source.get("from"), source.get("max")
        if source not in LIMITS:
            problems.append(f"{where}: unknown value {source!r} (known: {', '.join(sorted(LIMITS))})")
            continue
        cap = LIMITS[source]
        if limit is None:
            limit = cap
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= cap:
            problems.append(f"{where}.max: must be an integer from 1 to {cap} (the ZNS limit of {source})")
            continue
        params[name] = (source, limit)
    if len(problems) > before:
        return None
    return Template(template_id=tid, params=params)


def packaged_path() -> Path:
    """The catalogue shipped with the package."""
    return Path(str(resources.files("streams") / "templates" / "catalogue.json"))


def load(path: str | Path | None, notified: frozenset[Status]) -> Catalogue:
    """Read and validate the catalogue at ``path`` (None or empty: the packaged one)."""
    file = Path(path) if path else packaged_path()
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise CatalogueError(f"template catalogue {file}: cannot read ({exc.strerror or exc})") from exc
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CatalogueError(f"template catalogue {file}: not valid JSON ({exc})") from exc
    return parse(doc, notified, origin=f"template catalogue {file}")
