"""Scan log files for personal data and secrets that must never be logged.

hoso promises that phone numbers, citizen ids and access tokens never reach its logs (record keys and log
lines use a keyed pseudonym instead). That promise is only as good as the last change to a log call, so the
tests run the pipeline and scan everything it wrote with this module. Findings are reported with the match
masked, so the scanner's own output does not repeat what it found.

What counts:

* ``phone``: a Vietnamese mobile number as ``0…``, ``84…`` or ``+84…`` (10 digits after the leading 0),
  optionally grouped with spaces, dots or dashes;
* ``citizen_id``: a 12-digit number standing alone (the CCCD / personal identification number);
* ``token``: the Zalo simulator's token shapes (``sim-at-…``, ``sim-rt-…``, ``sim-code-…``, the demo
  tokens), plus any literal secret the caller passes (a configured access token, a SASL password).

Usage: ``python -m hosoctl.logscan DIR_OR_FILE ...`` prints findings and exits 1 when there are any.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

_SEP = r"[ .\-]?"
PATTERNS: dict[str, re.Pattern[str]] = {
    # Not inside a longer run of letters/digits (hex digests, uuids, epoch millis).
    "phone": re.compile(rf"(?<![\w+])(?:\+84|84|0){_SEP}[35789]\d(?:{_SEP}\d){{7}}(?![\w])"),
    "citizen_id": re.compile(r"(?<![\w\-])\d{12}(?![\w\-])"),
    "token": re.compile(r"\bsim-(?:at|rt|code)-[0-9a-f]{16,}|\bsim-demo-(?:access|refresh)-token\b"),
}

DEFAULT_GLOBS = ("*.log", "*.txt", "*.out", "*.err")


@dataclass(frozen=True)
class Finding:
    """One match: where it is and what kind, with the matched text masked."""

    path: str
    line: int
    kind: str
    masked: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} {self.masked}"


def mask(text: str) -> str:
    """Keep the first and last two characters, so a reader can locate a match without learning it."""
    return text if len(text) <= 4 else f"{text[:2]}{'*' * (len(text) - 4)}{text[-2:]}"


def scan_text(text: str, *, secrets: Iterable[str] = (), path: str = "<text>") -> list[Finding]:
    """Every finding in ``text``; ``secrets`` are literal strings that must not appear (empty ones ignored)."""
    literal = [s for s in secrets if s and len(s) >= 4]
    findings: list[Finding] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for kind, pattern in PATTERNS.items():
            findings += [Finding(path, lineno, kind, mask(m.group(0))) for m in pattern.finditer(line)]
        findings += [Finding(path, lineno, "secret", mask(s)) for s in literal if s in line]
    return findings


def log_files(roots: Sequence[Path], globs: Sequence[str] = DEFAULT_GLOBS) -> Iterator[Path]:
    """Files under ``roots`` (recursively) matching ``globs``; a root that is a file is yielded as is."""
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            seen: set[Path] = set()
            for glob in globs:
                for p in sorted(root.rglob(glob)):
                    if p.is_file() and p not in seen:
                        seen.add(p)
                        yield p


def scan_paths(roots: Sequence[Path], *, secrets: Iterable[str] = ()) -> list[Finding]:
    """Scan every log file under ``roots``."""
    wanted = list(secrets)
    findings: list[Finding] = []
    for p in log_files(roots):
        findings += scan_text(p.read_text(errors="replace"), secrets=wanted, path=str(p))
    return findings


def main(argv: Sequence[str] | None = None) -> int:
    """Print findings under the given paths; exit 1 if there are any."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m hosoctl.logscan PATH [PATH ...]", file=sys.stderr)
        return 2
    findings = scan_paths([Path(a) for a in args])
    for f in findings:
        print(f)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
