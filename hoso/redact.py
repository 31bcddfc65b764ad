"""A log-record factory that strips payloads and personal data from every log line, at every level.

Holding Faust's payload loggers at INFO (``streams.app.PAYLOAD_LOGGERS``) covers the loggers known to print
records; this covers the rest, including third-party DEBUG lines nobody has read yet: each record's message
is rendered once, byte-string literals (how Faust, aiokafka and kafka-python print record keys and values)
are replaced by their length, and Vietnamese mobile numbers, 12-digit citizen ids and access tokens by a
marker. A log line keeps its shape (which logger, which partition, which offset) without its content.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

_SEP = r"[ .\-]?"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"""\bb(?:'(?:[^'\\]|\\.){16,}'|"(?:[^"\\]|\\.){16,}")"""), "<bytes redacted>"),
    (re.compile(rf"(?<![\w+])(?:\+84|84|0){_SEP}[35789]\d(?:{_SEP}\d){{7}}(?!\w)"), "<phone>"),
    (re.compile(r"(?<![\w\-])\d{12}(?![\w\-])"), "<id>"),
    (re.compile(r"""(["']?(?:access_token|refresh_token|secret_key)["']?\s*[:=]\s*["']?)[^"',\s}]+"""), r"\1<secret>"),
)


def redact(text: str) -> str:
    """``text`` without byte payloads, phone numbers, citizen ids or tokens."""
    for pattern, marker in _PATTERNS:
        text = pattern.sub(marker, text)
    return text


_installed: list[Callable[..., logging.LogRecord]] = []


def install() -> None:
    """Make every log record created from now on a redacted one (idempotent)."""
    if _installed:
        return
    inner = logging.getLogRecordFactory()
    _installed.append(inner)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = inner(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging to report
            return record
        record.msg, record.args = redact(message), ()
        return record

    logging.setLogRecordFactory(factory)


def uninstall() -> None:
    """Restore the record factory that ``install`` wrapped (for tests)."""
    if _installed:
        logging.setLogRecordFactory(_installed.pop())
