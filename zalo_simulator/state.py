"""What the simulator saw: accepted messages, duplicates, counters and quota use.

Tests and load runs ask "was every dossier notified exactly once?"; this module
keeps the evidence.  It is on the hot path of every request and must hold a
million messages, so records are slotted objects that reference the parsed
request values (no copies), message ids are derived from sequence numbers
(``ids.MessageIdCodec``) instead of being stored, and counters are plain ints.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from zalo_simulator.clock import vn_day_iso
from zalo_simulator.ids import MessageIdCodec

# Endpoint names are the request paths, so stats read like the API.
EP_ZBS_PHONE = "/message/template"
EP_ZBS_HASH = "/message/template/hashphone"
EP_ZBS_STATUS = "/message/status"
EP_ZBS_QUOTA = "/message/quota"
EP_OA_CS = "/v3.0/oa/message/cs"
EP_OA_TEMPLATE = "/v3.0/oa/message/template"
EP_OA_V2 = "/v2.0/oa/message"
EP_OAUTH_TOKEN = "/v4/oa/access_token"  # noqa: S105 (a path, not a secret)

RECIPIENT_KEY: dict[str, str] = {
    EP_ZBS_PHONE: "phone",
    EP_ZBS_HASH: "hash_phone",
    EP_OA_CS: "user_id",
    EP_OA_TEMPLATE: "user_id",
}
"""Which request field the recorded recipient came from, per sending endpoint."""

ZBS_SEND_ENDPOINTS = frozenset({EP_ZBS_PHONE, EP_ZBS_HASH})
SEND_ENDPOINTS = ZBS_SEND_ENDPOINTS | {EP_OA_CS, EP_OA_TEMPLATE, EP_OA_V2}
"""Endpoints that record one message whenever they answer ``error: 0``."""


@dataclass(slots=True)
class AcceptedMessage:
    """One message the simulator accepted (and would have delivered)."""

    endpoint: str
    oa_id: str
    recipient: str
    """Normalised phone (84...), hash phone or OA user id, per ``RECIPIENT_KEY``."""
    tracking_id: str | None
    template_id: str | None
    template_data: dict[str, Any] | None
    text: str | None
    mode: str | None
    received_at: float
    """Simulated epoch seconds at acceptance."""


@dataclass(slots=True)
class EndpointCounters:
    """Per-endpoint outcome counters (requests = ok + errors + http_5xx)."""

    requests: int = 0
    ok: int = 0
    errors: int = 0
    http_5xx: int = 0
    accepted: int = 0

    def as_dict(self) -> dict[str, int]:
        """JSON view for /_sim/stats."""
        return {
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "http_5xx": self.http_5xx,
            "accepted": self.accepted,
        }


@dataclass(slots=True)
class OAQuota:
    """Phone-send quota use of one OA, per Vietnam-local day."""

    day: int = -1
    used_today: int = 0
    history: dict[int, int] = field(default_factory=dict)


class SimState:
    """Recorded messages and counters; everything /_sim/stats reports comes from here."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.ids = MessageIdCodec(rng)
        self.messages: list[AcceptedMessage] = []
        self.tracking_counts: dict[str, int] = {}
        self.accepted_with_tracking_id = 0
        self.requests = 0
        self.endpoints: dict[str, EndpointCounters] = {}
        self.by_error_code: dict[int, int] = {}
        self.quotas: dict[str, OAQuota] = {}
        self.typed: list[dict[str, Any]] = []
        """What citizens typed to the OA (reported by whoever plays them), for the inbox page."""
        self.receipt_posts: dict[int, bool] = {}
        """Sequence number → whether its delivery receipt reached the webhook (absent: not posted yet)."""
        self.accepted_unanswered = 0
        """Accepted messages whose answer found the caller gone (it timed out): the caller cannot know they were
        sent, so a retry of theirs is Zalo's duplicate, not the caller's."""

    def reset(self) -> None:
        """Forget all messages and counters; ids issued before no longer resolve."""
        self.ids = MessageIdCodec(self._rng)
        self.messages = []
        self.tracking_counts = {}
        self.accepted_with_tracking_id = 0
        self.requests = 0
        for counters in self.endpoints.values():
            counters.requests = counters.ok = counters.errors = counters.http_5xx = counters.accepted = 0
        self.by_error_code = {}
        self.quotas = {}
        self.receipt_posts = {}
        self.typed = []
        self.accepted_unanswered = 0

    # -- counting ---------------------------------------------------------------

    def endpoint(self, name: str) -> EndpointCounters:
        """Counters for an endpoint, created on first use (handlers keep a reference)."""
        counters = self.endpoints.get(name)
        if counters is None:
            counters = self.endpoints[name] = EndpointCounters()
        return counters

    def count_reply(self, counters: EndpointCounters, code: int) -> None:
        """Count one answered request with the ``error`` value of its body."""
        self.requests += 1
        counters.requests += 1
        if code == 0:
            counters.ok += 1
        else:
            counters.errors += 1
        by_code = self.by_error_code
        by_code[code] = by_code.get(code, 0) + 1

    def count_http_5xx(self, counters: EndpointCounters) -> None:
        """Count one request answered with an injected HTTP 5xx."""
        self.requests += 1
        counters.requests += 1
        counters.http_5xx += 1

    # -- messages ---------------------------------------------------------------

    def record(self, counters: EndpointCounters, message: AcceptedMessage) -> int:
        """Store an accepted message; returns its sequence number (the msg_id source)."""
        seq = len(self.messages)
        self.messages.append(message)
        counters.accepted += 1
        tid = message.tracking_id
        if tid is not None:
            counts = self.tracking_counts
            counts[tid] = counts.get(tid, 0) + 1
            self.accepted_with_tracking_id += 1
        return seq

    @property
    def accepted(self) -> int:
        """Number of accepted messages (all sending endpoints)."""
        return len(self.messages)

    @property
    def duplicates(self) -> int:
        """Accepted messages whose tracking_id had already been accepted before."""
        return self.accepted_with_tracking_id - len(self.tracking_counts)

    def message_id(self, seq: int) -> str:
        """The id the API returned for message ``seq`` (ZBS or OA form by endpoint)."""
        if self.messages[seq].endpoint in ZBS_SEND_ENDPOINTS:
            return self.ids.zbs_id(seq)
        return self.ids.oa_id(seq)

    def lookup(self, message_id: str) -> tuple[int, AcceptedMessage] | None:
        """Find an accepted message by the id the API returned for it."""
        seq = self.ids.decode(message_id)
        if seq is None or seq >= len(self.messages):
            return None
        if self.message_id(seq) != message_id.lower():
            return None
        return seq, self.messages[seq]

    def message_view(self, seq: int) -> dict[str, Any]:
        """JSON view of one accepted message for /_sim/messages."""
        m = self.messages[seq]
        return {
            "seq": seq,
            "msg_id": self.message_id(seq),
            "endpoint": m.endpoint,
            "oa_id": m.oa_id,
            RECIPIENT_KEY.get(m.endpoint, "recipient"): m.recipient,
            "tracking_id": m.tracking_id,
            "template_id": m.template_id,
            "template_data": m.template_data,
            "text": m.text,
            "mode": m.mode,
            "received_at": int(m.received_at * 1000),
        }

    def note_receipt(self, message_id: str, posted: bool) -> None:
        """Remember whether the webhook took the receipt of ``message_id`` (shown on the inbox page)."""
        found = self.lookup(message_id)
        if found is not None:
            self.receipt_posts[found[0]] = posted

    # -- quota ------------------------------------------------------------------

    def quota_used(self, oa_id: str, day: int) -> int:
        """Phone sends the OA used on Vietnam-local day ``day``."""
        quota = self.quotas.get(oa_id)
        if quota is None:
            return 0
        if quota.day == day:
            return quota.used_today
        return quota.history.get(day, 0)

    def consume_quota(self, oa_id: str, day: int) -> int:
        """Count one phone send against the OA's quota; returns the day's total so far."""
        quota = self.quotas.get(oa_id)
        if quota is None:
            quota = self.quotas[oa_id] = OAQuota()
        if quota.day != day:
            quota.day = day
            quota.used_today = quota.history.get(day, 0)
        quota.used_today += 1
        quota.history[day] = quota.used_today
        return quota.used_today

    def quota_history(self, oa_id: str) -> dict[str, int]:
        """{YYYY-MM-DD: sends} for one OA, oldest first."""
        quota = self.quotas.get(oa_id)
        if quota is None:
            return {}
        return {vn_day_iso(day): used for day, used in sorted(quota.history.items())}
