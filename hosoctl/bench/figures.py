"""One measured figure, and its JSON line: the unit of every scenario's output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class Figure:
    """A value with its unit, and, when the scenario measured one, the baseline it is compared with."""

    scenario: str
    metric: str
    value: float
    unit: str
    baseline: float | None = None
    note: str = ""
    """Free text for the report (not part of the JSON line)."""

    @property
    def ratio(self) -> float | None:
        """``value / baseline``, or None without a (non-zero) baseline."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        """The JSON-line fields, in their documented order."""
        ratio = self.ratio
        return {
            "scenario": self.scenario,
            "metric": self.metric,
            "value": round(self.value, 4),
            "unit": self.unit,
            "baseline": None if self.baseline is None else round(self.baseline, 4),
            "ratio": None if ratio is None else round(ratio, 4),
        }

    def json_line(self) -> str:
        """One line of ``hoso bench --json``."""
        return orjson.dumps(self.as_dict()).decode()
