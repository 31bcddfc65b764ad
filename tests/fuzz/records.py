"""Hypothesis strategies for raw records a misbehaving agency could write to the dossier-events topic.

Each bad record says which kind of damage it carries and where a clear rejection must point (a field path,
or a phrase of the message for damage with no field: bad bytes, size, tombstones). Valid records come from
the same builder, so "interleaved valid records are all delivered" uses the exact shapes the fuzzer mutates.
"""

from __future__ import annotations

import types
import typing
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas.codec import MAX_RECORD_BYTES
from schemas.dossier_event import DossierEvent, Status
from tests import factories

NEVER_UTF8 = bytes([0xC0, 0xC1, *range(0xF5, 0x100)])
"""Bytes that cannot appear anywhere in valid UTF-8."""


@dataclass(frozen=True)
class RawRecord:
    """A Kafka record as bytes, with what the validator must say about it."""

    kind: str
    key: bytes | None
    value: bytes | None
    valid: bool = False
    path: str | None = None  # a problem's path must start with this
    phrase: str | None = None  # ... or, when no path applies, a problem's message must contain this


def _annotation_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (``Agency``, ``Agency | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


def required_paths(model: type[BaseModel], obj: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of required fields present in ``obj`` (walked through nested models and lists)."""
    paths: list[str] = []
    for name, info in model.model_fields.items():
        if name not in obj:
            continue
        path = f"{prefix}.{name}" if prefix else name
        if info.is_required():
            paths.append(path)
        value = obj[name]
        nested = _annotation_model(info.annotation)
        if nested is not None and isinstance(value, dict):
            paths += required_paths(nested, value, path)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            (item_type,) = typing.get_args(info.annotation) or (None,)
            if isinstance(item_type, type) and issubclass(item_type, BaseModel):
                paths += required_paths(item_type, value[0], f"{path}[0]")
    return paths


def all_paths(obj: Any, prefix: str = "") -> list[str]:
    """Every path in a JSON object (dict keys and list items)."""
    out: list[str] = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        path = f"{prefix}[{k}]" if isinstance(k, int) else (f"{prefix}.{k}" if prefix else k)
        out.append(path)
        out += all_paths(v, path)
    return out


def _split(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for chunk in path.replace("[", ".[").split("."):
        if chunk.startswith("["):
            parts.append(int(chunk[1:-1]))
        elif chunk:
            parts.append(chunk)
    return parts


def _parent(obj: Any, path: str) -> tuple[Any, str | int]:
    parts = _split(path)
    for p in parts[:-1]:
        obj = obj[p]
    return obj, parts[-1]


def _key(event: dict[str, Any]) -> bytes:
    return event["data"]["ma_ho_so"].encode()


def _dump(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


# ---------------------------------------------------------------------- valid records

STATUSES = [s.value for s in Status]


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event in any status, with its own dossier code and id."""
    status = draw(st.sampled_from(STATUSES))
    # The agency part of a dossier code (before the first "-") is the sending agency's own code (issue 15).
    code = "000.00.49.H22-FZ" + draw(st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=6, max_size=12))
    return factories.event(status, dossier=code, sequence=draw(st.integers(1, 10**6)), event_id=str(uuid.uuid4()))


def valid_records() -> st.SearchStrategy[RawRecord]:
    """Valid events as the publisher would write them."""
    return valid_events().map(lambda e: RawRecord("valid", _key(e), _dump(e), valid=True))


# ---------------------------------------------------------------------- bad records


@st.composite
def malformed_json(draw: st.DrawFn) -> RawRecord:
    """A valid record cut short: every proper prefix of a JSON object is invalid JSON."""
    e = draw(valid_events())
    raw = _dump(e)
    cut = draw(st.integers(0, len(raw) - 1))
    return RawRecord("malformed_json", _key(e), raw[:cut], phrase="not valid")


@st.composite
def random_bytes(draw: st.DrawFn) -> RawRecord:
    """Arbitrary bytes (sometimes valid JSON that is not an object)."""
    raw = draw(st.one_of(st.binary(max_size=300), st.sampled_from([b"null", b"[]", b'"x"', b"1", b"true", b"{}"])))
    return RawRecord("random_bytes", draw(st.one_of(st.none(), st.binary(max_size=40))), raw, phrase="")


@st.composite
def invalid_utf8(draw: st.DrawFn) -> RawRecord:
    """A valid record with a byte that UTF-8 never uses, inside a string or between tokens."""
    e = draw(valid_events())
    raw = _dump(e)
    where = draw(st.integers(0, len(raw)))
    bad = bytes([draw(st.sampled_from(NEVER_UTF8))])
    return RawRecord("invalid_utf8", _key(e), raw[:where] + bad + raw[where:], phrase="not valid")


def _other_type(value: Any) -> Any:
    return 42 if isinstance(value, dict | list) else {"unexpected": "object"}


@st.composite
def wrong_type(draw: st.DrawFn) -> RawRecord:
    """Any field replaced by a value of an incompatible JSON type."""
    e = draw(valid_events())
    path = draw(st.sampled_from([p for p in all_paths(e) if p != "schema_version"]))
    parent, leaf = _parent(e, path)
    parent[leaf] = _other_type(parent[leaf])
    return RawRecord("wrong_type", _key_or_old(e), _dump(e), path=path)


@st.composite
def missing_field(draw: st.DrawFn) -> RawRecord:
    """A required field removed."""
    e = draw(valid_events())
    path = draw(st.sampled_from(required_paths(DossierEvent, e)))
    parent, leaf = _parent(e, path)
    del parent[leaf]
    return RawRecord("missing_field", _key_or_old(e), _dump(e), path=path)


@st.composite
def null_field(draw: st.DrawFn) -> RawRecord:
    """A required field set to null."""
    e = draw(valid_events())
    path = draw(st.sampled_from(required_paths(DossierEvent, e)))
    parent, leaf = _parent(e, path)
    parent[leaf] = None
    return RawRecord("null_value", _key_or_old(e), _dump(e), path=path)


@st.composite
def extra_field(draw: st.DrawFn) -> RawRecord:
    """An unknown field in the envelope or in any nested object (the schema forbids extras)."""
    e = draw(valid_events())
    objects = [""] + [p for p in all_paths(e) if isinstance(_get(e, p), dict)]
    where = draw(st.sampled_from(objects))
    target = e if not where else _get(e, where)
    name = "x_" + draw(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20))
    target[name] = draw(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=20)))
    return RawRecord("extra_field", _key(e), _dump(e), path=f"{where}.{name}" if where else name)


@st.composite
def unknown_status(draw: st.DrawFn) -> RawRecord:
    """A status the schema does not know (in the payload, the envelope, or both)."""
    e = draw(valid_events())
    bogus = draw(st.text(min_size=0, max_size=30).filter(lambda s: s.strip() not in STATUSES))
    field = draw(st.sampled_from(["data.trang_thai", "event_type"]))
    parent, leaf = _parent(e, field)
    parent[leaf] = bogus
    return RawRecord("unknown_status", _key(e), _dump(e), path=field)


@st.composite
def unknown_schema_version(draw: st.DrawFn) -> RawRecord:
    """Any schema version other than 1.0 (future versions must not be half-understood)."""
    e = draw(valid_events())
    e["schema_version"] = draw(
        st.one_of(st.text(max_size=10), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False)).filter(
            lambda v: v != "1.0"
        )
    )
    return RawRecord("unknown_schema_version", _key(e), _dump(e), path="schema_version")


@st.composite
def wrong_key(draw: st.DrawFn) -> RawRecord:
    """A valid event whose Kafka key is missing or is not its dossier code (it would break partitioning)."""
    e = draw(valid_events())
    key = draw(st.one_of(st.none(), st.binary(max_size=60).filter(lambda k: k != _key(e))))
    return RawRecord("wrong_key", key, _dump(e), path="key")


@st.composite
def tombstone(draw: st.DrawFn) -> RawRecord:
    """A null value (a compaction tombstone) on a topic of events."""
    e = draw(valid_events())
    return RawRecord("tombstone", draw(st.sampled_from([_key(e), None])), None, phrase="tombstone")


@st.composite
def huge(draw: st.DrawFn) -> RawRecord:
    """A record near the broker's 1 MB default, just below or above hoso's own limit."""
    e = draw(valid_events())
    base = len(_dump(e))
    size = draw(st.integers(MAX_RECORD_BYTES - 50_000, MAX_RECORD_BYTES + 40_000))
    e["data"]["noi_dung_hien_thi"] = "ạ" * max(1, (size - base) // 3)
    raw = _dump(e)
    if len(raw) > MAX_RECORD_BYTES:
        return RawRecord("huge", _key(e), raw, phrase="bytes, more than")
    return RawRecord("huge", _key(e), raw, path="data.noi_dung_hien_thi")


def _get(obj: Any, path: str) -> Any:
    parent, leaf = _parent(obj, path)
    return parent[leaf]


def _key_or_old(e: dict[str, Any]) -> bytes:
    """The dossier code as key when it survived the mutation, else something plausible."""
    data = e.get("data")
    code = data.get("ma_ho_so") if isinstance(data, dict) else None
    return code.encode() if isinstance(code, str) else b"FZ-UNKNOWN"


BAD_KINDS: dict[str, st.SearchStrategy[RawRecord]] = {
    "malformed_json": malformed_json(),
    "random_bytes": random_bytes(),
    "invalid_utf8": invalid_utf8(),
    "wrong_type": wrong_type(),
    "missing_field": missing_field(),
    "null_value": null_field(),
    "extra_field": extra_field(),
    "unknown_status": unknown_status(),
    "unknown_schema_version": unknown_schema_version(),
    "wrong_key": wrong_key(),
    "tombstone": tombstone(),
}
"""Every kind of damage; ``huge`` is kept apart because each example costs a megabyte."""


def bad_records(include_huge: bool = False) -> st.SearchStrategy[RawRecord]:
    """Any kind of bad record."""
    kinds = [*BAD_KINDS.values(), huge()] if include_huge else list(BAD_KINDS.values())
    return st.one_of(kinds)


def reason_problem(record: RawRecord, problems: list[Any]) -> str | None:
    """Why ``problems`` do not clearly explain ``record`` (None when they do)."""
    if not problems:
        return "no problem reported"
    if any(not p.message.strip() for p in problems):
        return f"a problem without a message: {problems}"
    if record.path is not None and not any(p.path.startswith(record.path) for p in problems):
        return f"no problem at {record.path!r}: {[str(p) for p in problems]}"
    if record.phrase and not any(record.phrase in p.message for p in problems):
        return f"no problem mentions {record.phrase!r}: {[str(p) for p in problems]}"
    return None


def run_property(base: Any, examples: int, strategy: st.SearchStrategy[RawRecord], body: Any) -> int:
    """Run ``body`` as a hypothesis property over ``examples`` inputs; returns how many it saw."""
    from hypothesis import given, settings

    count = 0

    def counted(record: RawRecord) -> None:
        nonlocal count
        count += 1
        body(record)

    settings(base, max_examples=examples)(given(strategy)(counted))()
    return count
