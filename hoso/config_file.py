"""Reading an operator's JSON file of entries (``HOSO_OA_CONFIG``, ``HOSO_SMS_CONFIG``, ``HOSO_RATINGS_SYNC_CONFIG``).

Each is ``{"<key>": [ {...}, ... ], ...}``; a bad file must stop the process at start-up with a message
naming the setting, the file and the entry, never half-load. The shape checks every such file needs are
here; what an entry's fields mean is checked by its own loader.
"""

from __future__ import annotations

from collections.abc import Iterator, Set
from pathlib import Path
from typing import Any

import orjson

from hoso.errors import ConfigurationError


def config_entries(
    path: Path, setting: str, key: str, *, fields: Set[str], required: Set[str]
) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The whole file, and its non-empty list ``key`` of objects each with only ``fields`` and all of ``required``.

    The file is read at once; each entry is checked as it is iterated, so an error names the first bad entry
    whatever the loader checks of its own. Errors read ``<setting> <path>: <key>[<i>] ...``, the form the
    loaders continue (``<key>[<i>].url must be ...``).
    """
    try:
        raw: Any = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ConfigurationError(f"{setting} {path}: {exc}") from exc
    items = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise ConfigurationError(f"{setting} {path}: expected {{'{key}': [ {{...}}, ... ]}}")

    def checked() -> Iterator[dict[str, Any]]:
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ConfigurationError(f"{setting} {path}: {key}[{i}] is not an object")
            unknown, missing = set(item) - fields, required - set(item)
            if unknown or missing:
                raise ConfigurationError(
                    f"{setting} {path}: {key}[{i}] unknown keys {sorted(unknown)}, missing {sorted(missing)}"
                )
            yield item

    return raw, checked()
