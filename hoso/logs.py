"""Log output of hoso processes: human text, or one JSON object a line for log collectors (HOSO_LOG_FORMAT).

JSON lines carry time, level, logger and message, plus the exception text when there is one, so Loki or
Elasticsearch can filter by level and logger without parsing free text.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def handler(fmt: str) -> logging.Handler:
    """A stderr handler writing ``fmt`` ("text" or "json")."""
    out = logging.StreamHandler(sys.stderr)
    out.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    return out


def configure(level: str, fmt: str) -> logging.Handler:
    """Send every log record at ``level`` and above to stderr in ``fmt``; returns the handler (Faust reuses it)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    out = handler(fmt)
    root.addHandler(out)
    root.setLevel(level)
    return out
