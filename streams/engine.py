"""The lifecycle rules as pure functions: an event (or the passing of time) in, state, holds and messages out.

``receive`` handles one valid event; ``tick`` releases whatever is due. Neither does I/O and both take
``now``, so the Faust agent and timer only move bytes, and tests drive time by hand.

Rules, in the order they apply:

1. Order: an event is applied only after every lower ``sequence`` of its dossier. One that arrives after a
   gap waits in the inbox (``Rules.reorder_hold``) for the missing ones; when the wait ends it is applied
   anyway, and the missing ones become stale. Redeliveries (same ``event_id``) are duplicates; events at
   or below the applied sequence are stale. Both are counted and never announced.
2. Low-value statuses (IN_PROCESS, TRANSFERRED), decided in event time so a replay decides the same way:
   at most one announced per ``low_value_throttle`` (the others are suppressed as ``throttled``); an
   announceable one waits in the ``low_value`` slot and is dropped (``collapsed``) if the dossier's next
   change occurred within ``collapse_window`` of it. The slot is released at
   ``max(occurred_at + collapse_window, applied + settle)`` or when the next, later, event arrives.
3. Survey: ``survey_delay`` after RESULT_RETURNED an invitation goes to the followers, unless a survey
   invitation (the agency's SURVEY_INVITED, or ours) already went; a later SURVEY_INVITED is then suppressed.
   Also decided in event time: a later event occurring after the due time releases ours first, and an
   agency invitation occurring before it replaces ours. Otherwise the timer sends it at
   ``max(returned + survey_delay, applied + settle)``.
4. Quiet hours: a non-emergency message created inside them is deferred to the end of the window.
5. Compliance: a second supplement request or extension is flagged on its messages and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from schemas.dossier_event import DossierEvent, Status
from schemas.notification import ComplianceFlag, Notification
from streams import followers as fol
from streams.complete import complete
from streams.dossier_state import DossierState, advance
from streams.hold import Hold
from streams.notify import NOTIFY, SURVEY_SUFFIX, notifications_for, survey_event
from streams.refine import refine
from streams.rules import LOW_VALUE, Rules
from streams.template_catalogue import Catalogue

FOREIGN = "foreign_source"
"""Verdict for an event whose ``source_system`` is not the agency that owns the dossier: refused."""
FIRST_SEQUENCE_CEILING = 2**62
"""A dossier's first event above this is held for review: half the range is left for its later events."""
REVIEW = "sequence_jump"
"""Verdict for an event whose sequence jumps past ``Rules.max_sequence_jump``: parked for review, not applied."""


def owner_of(state: DossierState | None, hold: Hold) -> str | None:
    """The agency (``source_system``) the dossier is bound to: the one of its first accepted event.

    States written before ownership existed say ``unknown``; their next event binds them.
    """
    if state is not None and state.source_system != "unknown":
        return state.source_system
    if hold.inbox:
        return str(hold.inbox[0]["event"]["source_system"])
    return None


@dataclass
class Outcome:
    """What one call decided; the caller writes exactly this back (tables first read, then sends)."""

    state: DossierState | None
    hold: Hold
    followers: fol.Followers
    notifications: list[Notification] = field(default_factory=list)
    verdict: str | None = None
    """For ``receive``: applied, held, duplicate, stale, or refused (``FOREIGN``, ``REVIEW``: nothing changed)."""
    suppressed: list[str] = field(default_factory=list)
    flags: list[ComplianceFlag] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    followers_changed: bool = False
    state_changed: bool = False
    orphaned: list[dict[str, Any]] = field(default_factory=list)
    """Partial events whose dossier never arrived within ``Rules.partial_wait`` (they go to the invalid topic)."""


@dataclass(frozen=True)
class Engine:
    """The rules bound to their configuration and template catalogue."""

    rules: Rules
    catalogue: Catalogue

    # --- entry points -------------------------------------------------------------------------

    def receive(
        self, state: DossierState | None, hold: Hold, followers: fol.Followers, event: DossierEvent, now: datetime
    ) -> Outcome:
        """Apply (or hold, or drop) one valid event of this dossier."""
        out = Outcome(state=state, hold=_copy(hold), followers=followers)
        owner = owner_of(state, hold)
        if owner is not None and event.source_system != owner:
            out.verdict = FOREIGN
            return out
        eid = str(event.event_id)
        if event.partial and state is None:
            self._wait_for_dossier(out, event, now)
            return out
        if event.partial and state is not None:
            event = complete(state, event)
        held = {e["event"]["event_id"]: e["event"]["sequence"] for e in out.hold.inbox}
        if _repeats(state, held, eid, event.sequence):
            out.verdict = "duplicate"
            return out
        if (state is not None and event.sequence <= state.sequence) or event.sequence in held.values():
            out.verdict = "stale"
            return out
        if self._leaps(state, event):
            out.verdict = REVIEW
            return out
        if self._is_next(state, event) or self.rules.reorder_hold.total_seconds() <= 0:
            self._apply(out, event, now)
            self._drain_inbox(out, now, force_until=None)
            self._release_waiting(out, now)
            out.verdict = "applied"
        else:
            entry = {"release_at": (now + self.rules.reorder_hold).isoformat(), "event": _wire(event)}
            out.hold.inbox = sorted([*out.hold.inbox, entry], key=lambda e: e["event"]["sequence"])
            out.verdict = "held"
        return out

    def tick(self, state: DossierState | None, hold: Hold, followers: fol.Followers, now: datetime) -> Outcome:
        """Release what is due at ``now``: held events, the low-value slot, the survey, deferred messages."""
        out = Outcome(state=state, hold=_copy(hold), followers=followers)
        due = [e["event"]["sequence"] for e in out.hold.inbox if datetime.fromisoformat(e["release_at"]) <= now]
        if due:
            self._drain_inbox(out, now, force_until=max(due))
        self._release_waiting(out, now)
        if out.state is None:
            expired = [w for w in out.hold.waiting if datetime.fromisoformat(w["release_at"]) <= now]
            out.hold.waiting = [w for w in out.hold.waiting if w not in expired]
            out.orphaned += [w["event"] for w in expired]
        slot = out.hold.low_value
        if slot is not None and datetime.fromisoformat(slot["due"]) <= now:
            out.hold.low_value = None
            self._announce_low_value(out, DossierEvent.model_validate(slot["event"]), now)
            out.released.append("low_value")
        survey = out.hold.survey
        if survey is not None and datetime.fromisoformat(survey["due"]) <= now:
            out.hold.survey = None
            self._invite(out, DossierEvent.model_validate(survey["event"]), now)
            out.released.append("survey")
        ready = [d for d in out.hold.deferred if datetime.fromisoformat(d["due"]) <= now]
        if ready:
            out.hold.deferred = [d for d in out.hold.deferred if datetime.fromisoformat(d["due"]) > now]
            out.notifications += [Notification.model_validate(d["notification"]) for d in ready]
            out.released += ["quiet_hours"] * len(ready)
        return out

    # --- steps --------------------------------------------------------------------------------

    def _leaps(self, state: DossierState | None, event: DossierEvent) -> bool:
        """Whether the sequence leaps so far that applying it could silence every later real event.

        Counters (1, 2, 3…) and clock-derived sequences (the national adapter's epoch ms x 100 + code, .NET
        ticks) both pass: a leap must exceed ``max_sequence_jump`` *and* more than double the last sequence,
        which a clock never does within a dossier's life. A first event only has to stay below 2**62.
        """
        if state is None:
            return event.sequence > FIRST_SEQUENCE_CEILING
        return event.sequence - state.sequence > max(self.rules.max_sequence_jump, state.sequence)

    @staticmethod
    def _is_next(state: DossierState | None, event: DossierEvent) -> bool:
        return event.sequence <= 1 if state is None else event.sequence == state.sequence + 1

    def _drain_inbox(self, out: Outcome, now: datetime, force_until: int | None) -> None:
        """Apply held events that now follow in sequence, and (when forced) every one up to ``force_until``."""
        while out.hold.inbox:
            head = out.hold.inbox[0]["event"]
            seq = head["sequence"]
            if out.state is not None and seq <= out.state.sequence:
                out.hold.inbox.pop(0)
                out.suppressed.append("stale_after_hold")
                continue
            forced = force_until is not None and seq <= force_until
            if not (forced or seq == (out.state.sequence + 1 if out.state else 1)):
                return
            out.hold.inbox.pop(0)
            self._apply(out, DossierEvent.model_validate(head), now)
            out.released.append("reorder")

    def _wait_for_dossier(self, out: Outcome, event: DossierEvent, now: datetime) -> None:
        """Keep a partial event whose dossier is not known yet, bounded by ``Rules.partial_wait``."""
        if any(w["event"]["event_id"] == str(event.event_id) for w in out.hold.waiting):
            out.verdict = "duplicate"
            return
        entry = {"release_at": (now + self.rules.partial_wait).isoformat(), "event": _wire(event)}
        out.hold.waiting = sorted([*out.hold.waiting, entry], key=lambda e: e["event"]["sequence"])
        out.verdict = "waiting"

    def _release_waiting(self, out: Outcome, now: datetime) -> None:
        """Apply waiting partial events once their dossier is known, after it, in the order they arrived."""
        while out.hold.waiting and out.state is not None:
            step = DossierEvent.model_validate(out.hold.waiting.pop(0)["event"])
            if str(step.event_id) in out.state.seen:
                out.suppressed.append("duplicate_step")
                continue
            self._apply(out, complete(out.state, step, sequence=out.state.sequence + 1), now)
            out.released.append("waiting_step")

    def _apply(self, out: Outcome, event: DossierEvent, now: datetime) -> None:
        event = refine(out.state, event)
        status = event.data.trang_thai
        slot = out.hold.low_value
        if slot is not None:
            out.hold.low_value = None
            pending = DossierEvent.model_validate(slot["event"])
            if event.occurred_at - pending.occurred_at < self.rules.collapse_window:
                out.suppressed.append("collapsed")
            else:
                self._announce_low_value(out, pending, now)
        survey = out.hold.survey
        if survey is not None and self.rules.survey_delay is not None:
            returned = DossierEvent.model_validate(survey["event"])
            if event.occurred_at >= returned.occurred_at + self.rules.survey_delay:
                out.hold.survey = None  # in event time, our invitation was due before this event
                self._invite(out, returned, now)
        updated = out.followers
        for change in fol.consent_changes(event, self.rules.pseudonym_key, out.followers):
            updated = fol.apply(updated, change)
        if updated != out.followers:
            out.followers, out.followers_changed = updated, True
        state = advance(out.state, event)
        out.state, out.state_changed = state, True
        flags = state.flags_for(event)
        out.flags += flags
        if status not in NOTIFY:
            out.suppressed.append("not_announced")
        elif status in LOW_VALUE:
            last = state.last_low_value_at
            if last is not None and event.occurred_at - datetime.fromisoformat(last) < self.rules.low_value_throttle:
                out.suppressed.append("throttled")
            else:
                due = max(event.occurred_at + self.rules.collapse_window, now + self.rules.settle)
                out.hold.low_value = {"due": due.isoformat(), "event": _wire(event)}
        elif status is Status.SURVEY_INVITED:
            if state.survey_invited:
                out.suppressed.append("survey_already_sent")
            else:
                out.hold.survey = None
                out.state = replace(state, survey_invited=True, survey_invited_at=now.isoformat())
                self._emit(
                    out, notifications_for(event, out.followers, **self._render_args(now, event), flags=flags), now
                )
        else:
            self._emit(out, notifications_for(event, out.followers, **self._render_args(now, event), flags=flags), now)
        if status is Status.RESULT_RETURNED and self.rules.survey_delay is not None and not out.state.survey_invited:
            due = max(event.occurred_at + self.rules.survey_delay, now + self.rules.settle)
            out.hold.survey = {"due": due.isoformat(), "event": _wire(event)}

    def _announce_low_value(self, out: Outcome, event: DossierEvent, now: datetime) -> None:
        if out.state is not None:
            out.state = replace(out.state, last_low_value_at=event.occurred_at.isoformat())
            out.state_changed = True
        self._emit(out, notifications_for(event, out.followers, **self._render_args(now, event)), now)

    def _invite(self, out: Outcome, returned: DossierEvent, now: datetime) -> None:
        if out.state is None or out.state.survey_invited:
            out.suppressed.append("survey_already_sent")
            return
        out.state = replace(out.state, survey_invited=True, survey_invited_at=now.isoformat())
        out.state_changed = True
        invite = survey_event(returned)
        message_id = str(returned.event_id) + SURVEY_SUFFIX
        self._emit(
            out, notifications_for(invite, out.followers, **self._render_args(now, invite), message_id=message_id), now
        )

    def _emit(self, out: Outcome, notifications: list[Notification], now: datetime) -> None:
        if not notifications:
            return
        if not self.rules.is_quiet(now):
            out.notifications += notifications
            return
        assert self.rules.quiet is not None
        due = self.rules.quiet.ends_after(now).isoformat()
        for n in notifications:
            out.hold.deferred.append({"due": due, "notification": n.model_dump(mode="json", exclude_none=True)})
            out.suppressed.append("quiet_hours_deferred")

    def _render_args(self, now: datetime, event: DossierEvent) -> dict[str, Any]:
        oa_id = self.rules.oa_for(event.data.ma_dvhc.tinh)
        return {"oa_id": oa_id, "now": now, "catalogue": self.catalogue}


def _repeats(state: DossierState | None, held: dict[str, int], eid: str, sequence: int) -> bool:
    """A redelivered copy, or a re-sync saying exactly what the dossier's latest event said.

    Ids the gateway derives from national payloads depend on content only, so the same id can come back later
    as a real transition (4 → 6 → 4 repeats the first 4's id with a higher sequence): an id is a repeat when it
    is the dossier's latest (held or applied), or when it comes back at or below the sequence it had.
    """
    latest = max(held.items(), key=lambda kv: kv[1])[0] if held else (state.seen[-1] if state and state.seen else None)
    if eid == latest or (eid in held and sequence <= held[eid]):
        return True
    return state is not None and eid in state.seen and sequence <= state.sequence


def _wire(event: DossierEvent) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude_none=True)


def _copy(hold: Hold) -> Hold:
    return Hold(
        inbox=list(hold.inbox),
        low_value=hold.low_value,
        deferred=list(hold.deferred),
        survey=hold.survey,
        waiting=list(hold.waiting),
    )
