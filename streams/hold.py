"""What one dossier is waiting for, kept in the ``dossier_hold`` table until a timer or a later event releases it.

Four kinds of waiting, all per dossier so they live in the partition that owns the dossier:

* ``inbox``: events that arrived after a sequence gap, held briefly so the missing ones can overtake them;
* ``low_value``: the latest IN_PROCESS / TRANSFERRED event, not yet announced (a quick next change supersedes it);
* ``deferred``: rendered messages created during quiet hours, with the time they may go;
* ``survey``: the RESULT_RETURNED event whose satisfaction-survey invitation is due later;
* ``waiting``: progress steps that arrived before their dossier, until it arrives or their wait ends.

The table holds personal data (events carry phones), so it is separate from the PII-free ``dossier_state``.
Keys with nothing held are deleted, so timers scan only dossiers that wait for something.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson


@dataclass
class Hold:
    """The held items of one dossier; timestamps are ISO strings in +07:00."""

    inbox: list[dict[str, Any]] = field(default_factory=list)
    low_value: dict[str, Any] | None = None
    deferred: list[dict[str, Any]] = field(default_factory=list)
    survey: dict[str, Any] | None = None
    waiting: list[dict[str, Any]] = field(default_factory=list)
    """Partial events (progress steps) that arrived before their dossier, each with the time it gives up."""

    def is_empty(self) -> bool:
        """Nothing held: the table key can be deleted."""
        return (
            not self.inbox and self.low_value is None and not self.deferred and self.survey is None and not self.waiting
        )

    def next_due(self) -> datetime | None:
        """The earliest time something here becomes releasable."""
        times = [e["release_at"] for e in (*self.inbox, *self.waiting)] + [d["due"] for d in self.deferred]
        times += [x["due"] for x in (self.low_value, self.survey) if x is not None]
        return min((datetime.fromisoformat(t) for t in times), default=None)

    def to_bytes(self) -> bytes:
        """Table bytes."""
        return orjson.dumps(asdict(self))

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Hold:
        """Inverse of ``to_bytes``; an absent key is an empty hold."""
        return cls(**orjson.loads(raw)) if raw else cls()
