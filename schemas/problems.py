"""A validation problem: where it is (a field path) and what is wrong, for humans and machines alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a record, e.g. ``data.nguoi_nhan_thong_bao[0].phone: not a Vietnamese mobile``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form used in HTTP replies and on the invalid-records topic."""
        return {"path": self.path, "message": self.message}


def join_path(parts: Sequence[int | str]) -> str:
    """Render pydantic's location tuple as ``a.b[0].c``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def from_pydantic(errors: Iterable[dict[str, Any]]) -> list[Problem]:
    """Convert pydantic's error list, dropping its internal tags (``function-after[...]``)."""
    problems = []
    for err in errors:
        loc = [p for p in err.get("loc", ()) if not (isinstance(p, str) and "[" in p and p.endswith("]"))]
        message = str(err.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        problems.append(Problem(join_path(loc), message))
    return problems
