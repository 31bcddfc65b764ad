"""Parse human durations ("20s", "500ms", "2m") for fault specs and CLI flags.

Kept apart from the fault grammar because config loading and the command line
accept the same duration strings.
"""

from __future__ import annotations

_UNITS: tuple[tuple[str, float], ...] = (
    # Longest suffix first so "ms" is not read as "m" followed by garbage.
    ("ms", 0.001),
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
    ("d", 86400.0),
)


def parse_duration(text: str) -> float:
    """Return seconds for "20s", "500ms", "2m", "1h", "3d" or a plain number of seconds.

    Raises ValueError for anything else, including negative or non-finite values.
    """
    raw = text.strip().lower()
    number, scale = raw, 1.0
    for suffix, factor in _UNITS:
        if raw.endswith(suffix):
            number, scale = raw[: -len(suffix)], factor
            break
    try:
        value = float(number) * scale
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (use e.g. 20s, 500ms, 2m or plain seconds)") from None
    if not (value >= 0.0 and value != float("inf")):
        raise ValueError(f"duration must be finite and >= 0: {text!r}")
    return value


def format_duration(seconds: float) -> str:
    """Render seconds so that parse_duration gives the same float back."""
    return f"{seconds!r}s"
