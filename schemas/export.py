"""Writes the JSON Schema files integrators use; a test fails when they drift from the models.

Run ``python -m schemas.export`` after changing a model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
from pydantic import BaseModel

from schemas.broadcast import Broadcast
from schemas.dossier_event import DossierEvent
from schemas.notification import Notification
from schemas.rating import Rating
from schemas.subscription import Subscription

JSON_DIR = Path(__file__).resolve().parent / "json"

EXPORTED: dict[str, type[BaseModel]] = {
    "dossier-event.v1.schema.json": DossierEvent,
    "subscription.v1.schema.json": Subscription,
    "notification.v1.schema.json": Notification,
    "broadcast.v1.schema.json": Broadcast,
    "rating.v1.schema.json": Rating,
}


def render(model: type[BaseModel]) -> bytes:
    """The JSON Schema of ``model`` as stable, pretty bytes."""
    schema = model.model_json_schema(mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main() -> int:
    """Write every schema file; print what changed."""
    JSON_DIR.mkdir(exist_ok=True)
    for filename, model in EXPORTED.items():
        path = JSON_DIR / filename
        data = render(model)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
