"""Bytes in, validated models out (and back), with orjson; every failure becomes a list of Problems."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from schemas.dossier_event import DossierEvent, rule_problems
from schemas.problems import Problem, from_pydantic

M = TypeVar("M", bound=BaseModel)

MAX_RECORD_BYTES = 1_000_000


def dumps(model: BaseModel) -> bytes:
    """Serialise a model to compact JSON bytes (timestamps in +07:00, no nulls dropped)."""
    return orjson.dumps(model.model_dump(mode="json", exclude_none=True))


def loads_json(raw: bytes | str) -> tuple[Any, list[Problem]]:
    """Parse JSON, reporting size, encoding and syntax problems instead of raising."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_RECORD_BYTES:
        return None, [Problem("", f"record is {len(raw)} bytes, more than the {MAX_RECORD_BYTES} allowed")]
    try:
        return orjson.loads(raw), []
    except orjson.JSONDecodeError as exc:
        reason = "not valid UTF-8" if "utf-8" in str(exc).lower() else f"not valid JSON ({exc})"
        return None, [Problem("", reason)]


def validate(model: type[M], obj: Any) -> tuple[M | None, list[Problem]]:
    """Validate a parsed object against ``model``; all field problems are reported together."""
    if not isinstance(obj, dict):
        return None, [Problem("", f"expected a JSON object, got {type(obj).__name__}")]
    try:
        return model.model_validate(obj), []
    except ValidationError as exc:
        return None, from_pydantic(exc.errors(include_url=False, include_input=False))


def decode(model: type[M], raw: bytes | str) -> tuple[M | None, list[Problem]]:
    """Parse and validate bytes as ``model``."""
    obj, problems = loads_json(raw)
    if problems:
        return None, problems
    return validate(model, obj)


def check_event(obj: Any) -> tuple[DossierEvent | None, list[Problem]]:
    """Validate a parsed dossier event: field types first, then the cross-field rules."""
    if isinstance(obj, dict) and obj.get("schema_version") not in (None, "1.0"):
        return None, [Problem("schema_version", f"unsupported schema version {obj.get('schema_version')!r}")]
    event, problems = validate(DossierEvent, obj)
    if event is None:
        return None, problems
    problems = rule_problems(event)
    return (None, problems) if problems else (event, [])


def decode_event(raw: bytes | str) -> tuple[DossierEvent | None, list[Problem]]:
    """Parse and fully validate a dossier event from bytes."""
    obj, problems = loads_json(raw)
    if problems:
        return None, problems
    return check_event(obj)
