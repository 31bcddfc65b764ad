"""Every Prometheus metric hoso exports, declared once, with bounded labels only.

Labels are agencies, OAs, statuses, outcomes and error codes: never a dossier code, phone or citizen id,
which would both leak personal data and explode the series count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from hoso.health import Health

# `_created` series double every counter and histogram and no hoso query or dashboard reads them.
disable_created_metrics()

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# --- streams -----------------------------------------------------------------------------------
EVENTS = Counter(
    "hoso_dossier_events_total",
    "Dossier events read by the streams stage, by outcome (applied, duplicate, stale, invalid).",
    ["outcome", "agency"],
)
NOTIFICATIONS_EMITTED = Counter(
    "hoso_notifications_emitted_total", "Notifications produced for the dispatcher.", ["status", "kind"]
)
NOTIFICATIONS_SUPPRESSED = Counter(
    "hoso_notifications_suppressed_total",
    "Notifications not emitted, by reason (throttled, quiet_hours_deferred, opted_out, not_announced, ...).",
    ["reason"],
)
AGENCY_LAST_EVENT = Gauge(
    "hoso_agency_last_event_timestamp_seconds", "Unix time of the last valid event from each agency.", ["agency"]
)
OVERDUE_DOSSIERS = Counter("hoso_dossiers_overdue_total", "Dossiers detected past their appointment date.", ["agency"])
COMPLIANCE_FLAGS = Counter(
    "hoso_compliance_flags_total",
    "Events breaking a one-time rule (second_supplement_request, second_extension), by agency.",
    ["flag", "agency"],
)
HELD_MESSAGES = Counter(
    "hoso_held_released_total", "Held items released when due, by kind (reorder, low_value, survey, ...).", ["kind"]
)
SUBSCRIPTION_CHANGES = Counter(
    "hoso_subscription_changes_total", "Follower changes applied, by source and action.", ["source", "action"]
)
WORKER_REREADS = Counter(
    "hoso_worker_rereads_total",
    "Partitions read again because a record was fetched but no agent finished it while later ones were "
    "(streams.commit_guard); the commit waited for it, so nothing was lost.",
    ["topic"],
)

# --- dispatcher --------------------------------------------------------------------------------
ZALO_REQUESTS = Counter(
    "hoso_zalo_requests_total",
    "Zalo API requests by OA, endpoint, outcome and Zalo error code (0 on success).",
    ["oa", "endpoint", "outcome", "code"],
)
ZALO_REQUEST_SECONDS = Histogram(
    "hoso_zalo_request_duration_seconds",
    "Time of one Zalo API request.",
    ["oa", "endpoint"],
    buckets=LATENCY_BUCKETS,
)
END_TO_END_SECONDS = Histogram(
    "hoso_end_to_end_seconds",
    "From the dossier event's occurred_at to Zalo accepting the message.",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)
DELIVERIES = Counter(
    "hoso_deliveries_total",
    "Notifications finished by the dispatcher, by final outcome (sent, permanent_failure, dead_lettered).",
    ["oa", "outcome"],
)
RETRIES = Counter("hoso_delivery_retries_total", "Retried Zalo sends, by reason.", ["oa", "reason"])
POSSIBLE_DUPLICATES = Counter(
    "hoso_zalo_possible_duplicates_total",
    "Sends that timed out and were repeated with the same tracking id (Zalo may have accepted both).",
    ["oa"],
)
ALREADY_SENT = Counter(
    "hoso_dispatcher_already_sent_total", "Records skipped because the sent-log shows Zalo accepted them.", ["oa"]
)
PARKED = Counter(
    "hoso_dispatcher_parked_total", "Notifications parked in Kafka, by where (retry tier, deferred).", ["oa", "topic"]
)
IN_FLIGHT = Gauge("hoso_dispatcher_in_flight", "Zalo sends in flight in this dispatcher.")
DEAD_LETTERED = Counter(
    "hoso_dead_lettered_total", "Notifications written to the dead-letter topic, by reason.", ["oa", "reason"]
)
TOKEN_EXPIRES_IN = Gauge("hoso_zalo_token_expiry_seconds", "Seconds until the OA access token expires.", ["oa"])
TOKEN_REFRESHES = Counter("hoso_zalo_token_refreshes_total", "OA token refreshes, by outcome.", ["oa", "outcome"])
QUOTA_REMAINING = Gauge("hoso_zalo_quota_remaining", "Remaining daily ZBS quota reported by Zalo.", ["oa"])
QUOTA_DAILY = Gauge("hoso_zalo_quota_daily", "Daily ZBS quota reported by Zalo.", ["oa"])
OA_PAUSED = Gauge("hoso_oa_paused", "1 while an OA is paused (token refresh failed, billing, configuration).", ["oa"])
BROADCAST_TARGETED = Counter(
    "hoso_broadcast_recipients_total", "Recipients an area alert was fanned out to, by area level.", ["level"]
)
BROADCASTS = Counter("hoso_broadcasts_total", "Area alerts accepted, by area level.", ["level"])
CONSUMER_LAG = Gauge(
    "hoso_consumer_lag_records",
    "Records behind the log end, per topic partition.",
    ["group", "topic", "partition"],
)

# --- ingest gateway ----------------------------------------------------------------------------
GATEWAY_REQUESTS = Counter(
    "hoso_gateway_requests_total", "Ingest gateway requests, by route template and HTTP status.", ["route", "status"]
)
GATEWAY_ITEMS = Counter(
    "hoso_gateway_items_total",
    "Items posted to the ingest gateway, by route template and outcome (accepted, invalid, forbidden).",
    ["route", "outcome"],
)
GATEWAY_PUBLISH_SECONDS = Histogram(
    "hoso_gateway_publish_seconds",
    "Time from a request's validated items to Kafka acknowledging all of them.",
    buckets=LATENCY_BUCKETS,
)


# --- citizens on Zalo (webhook receiver, chat flow) -------------------------------------------
WEBHOOK_REQUESTS = Counter(
    "hoso_webhook_requests_total",
    "Zalo webhook calls, by outcome (accepted, duplicate, unsigned, forged, malformed, publish_failed), "
    "the signature variant that matched (app_id, oa_id, none) and the Zalo server (OA, ZNS).",
    ["outcome", "variant", "server"],
)
WEBHOOK_SECONDS = Histogram(
    "hoso_webhook_request_duration_seconds",
    "Time from reading a webhook call to answering it (Zalo gives up after 2 s).",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
ZALO_EVENTS = Counter(
    "hoso_zalo_events_total",
    "Webhook events processed by the streams stage, by event name (known names only) and outcome.",
    ["event", "outcome"],
)
CHAT_COMMANDS = Counter(
    "hoso_chat_commands_total", "Citizen chat commands answered, by command and outcome.", ["command", "outcome"]
)
IN_FLIGHT_LIMIT = Gauge(
    "hoso_dispatcher_in_flight_limit", "Most Zalo sends this dispatcher runs at once (HOSO_DISPATCH_CONCURRENCY)."
)
CHAT_REFUSALS = Counter(
    "hoso_chat_refusals_total",
    "Citizen requests refused to keep codes from being enumerated or dossiers from being taken over, by reason "
    "(lookup_rate, proof_rate, otp_rate, pending_limit, proof_wrong, proof_locked).",
    ["reason"],
)

# --- SMS fallback ------------------------------------------------------------------------------
SMS_MESSAGES = Counter(
    "hoso_sms_messages_total",
    "Delivery failures handled by the SMS fallback, by OA and outcome (sent, already_sent, no_consent, no_phone, "
    "not_fallback, no_provider, stale, rejected, gave_up).",
    ["oa", "outcome"],
)
SMS_REQUESTS = Counter(
    "hoso_sms_requests_total", "SMS provider requests, by OA, outcome and provider code.", ["oa", "outcome", "code"]
)
SMS_REQUEST_SECONDS = Histogram(
    "hoso_sms_request_duration_seconds", "Time of one SMS provider request.", ["oa"], buckets=LATENCY_BUCKETS
)

# --- satisfaction ratings ----------------------------------------------------------------------
RATINGS = Counter(
    "hoso_ratings_total",
    "Citizens' satisfaction ratings received, by receiving agency and level "
    "(khong_hai_long, hai_long, rat_hai_long); a replaced rating counts again.",
    ["agency", "level"],
)
RATING_SYNCS = Counter(
    "hoso_rating_syncs_total",
    "Ratings posted back to agency systems, by agency and outcome (synced, already_synced, no_endpoint, "
    "rejected, retry).",
    ["agency", "outcome"],
)


DOSSIER_EVENTS_REFUSED = Counter(
    "hoso_dossier_events_refused_total",
    "Dossier events refused and parked on the invalid topic: foreign_source (the sender does not own the dossier), "
    "sequence_jump (held for review), by the sending agency.",
    ["reason", "agency"],
)
WEBHOOK_REPLAY_WINDOW = Gauge(
    "hoso_webhook_replay_window_ids", "Accepted webhook ids remembered for the replay window (recovered from Kafka)."
)
DOSSIER_EVENTS_REPARTITIONED = Counter(
    "hoso_dossier_events_repartitioned_total",
    "Dossier events that arrived off their murmur2 partition (e.g. a CRC32-partitioning client) and were forwarded.",
)

# --- audiences beyond dossiers (OA followers, area news) ----------------------------------------
OA_AUDIENCE_CHANGES = Counter(
    "hoso_oa_audience_changes_total",
    "Changes to the OA audience, by change (followed_oa, unfollowed_oa, area_added, area_removed, areas_cleared, "
    "area_unknown).",
    ["change"],
)
POLICY_NEWS = Counter(
    "hoso_policy_news_total",
    "Policy-news messages at the per-citizen pacing step, by outcome (sent, deferred_quiet_hours, released, "
    "dropped_daily_limit, duplicate).",
    ["outcome"],
)

OTHER = "other"
"""The label value of every agency or OA outside the configured sets."""


class BoundedLabels:
    """Agency and OA label values from configured sets, so a sender cannot mint new series.

    ``source_system`` comes from agencies (wildcard keys accept whole families of codes) and ``oa_id`` from
    records; used as label values directly, each new string would be a new time series forever. A process
    configures the sets once at start (``configure``); until then values pass through (library use, tests).
    """

    def __init__(self) -> None:
        self._agencies: tuple[str, ...] | None = None
        self._oas: frozenset[str] | None = None

    def configure(self, *, agencies: Iterable[str] | None = None, oas: Iterable[str] | None = None) -> None:
        """Agency codes or ``*`` patterns (a matching code is reported as the pattern), and OA ids."""
        if agencies is not None:
            self._agencies = tuple(a.strip() for a in agencies if a.strip())
        if oas is not None:
            self._oas = frozenset(oas)

    def agency(self, code: str | None) -> str:
        """The label for an agency code: itself, the configured pattern it matches, or ``other``."""
        if self._agencies is None:
            return code or "unknown"
        if not code:
            return OTHER
        for rule in self._agencies:
            if code == rule or ("*" in rule and fnmatchcase(code, rule)):
                return rule
        return OTHER

    def oa(self, oa_id: str | None) -> str:
        """The label for an OA id: itself if configured, else ``other``."""
        if self._oas is None:
            return oa_id or "unknown"
        return oa_id if oa_id in self._oas else OTHER


LABELS = BoundedLabels()


# --- which role exports what ------------------------------------------------------------------
ROLE_FAMILIES: dict[str, tuple[Collector, ...]] = {
    "worker": (
        EVENTS,
        WORKER_REREADS,
        NOTIFICATIONS_EMITTED,
        NOTIFICATIONS_SUPPRESSED,
        AGENCY_LAST_EVENT,
        OVERDUE_DOSSIERS,
        COMPLIANCE_FLAGS,
        HELD_MESSAGES,
        SUBSCRIPTION_CHANGES,
        BROADCAST_TARGETED,
        ZALO_EVENTS,
        CHAT_COMMANDS,
        CONSUMER_LAG,
        DOSSIER_EVENTS_REFUSED,
        DOSSIER_EVENTS_REPARTITIONED,
        CHAT_REFUSALS,
        OA_AUDIENCE_CHANGES,
        POLICY_NEWS,
    ),
    "dispatcher": (
        ZALO_REQUESTS,
        ZALO_REQUEST_SECONDS,
        END_TO_END_SECONDS,
        DELIVERIES,
        RETRIES,
        POSSIBLE_DUPLICATES,
        ALREADY_SENT,
        PARKED,
        IN_FLIGHT,
        IN_FLIGHT_LIMIT,
        DEAD_LETTERED,
        TOKEN_EXPIRES_IN,
        TOKEN_REFRESHES,
        QUOTA_REMAINING,
        QUOTA_DAILY,
        OA_PAUSED,
        CONSUMER_LAG,
    ),
    "gateway": (GATEWAY_REQUESTS, GATEWAY_ITEMS, GATEWAY_PUBLISH_SECONDS, BROADCASTS),
    "webhook": (WEBHOOK_REQUESTS, WEBHOOK_SECONDS, WEBHOOK_REPLAY_WINDOW),
    "sms": (SMS_MESSAGES, SMS_REQUESTS, SMS_REQUEST_SECONDS, CONSUMER_LAG),
    "ratings-sync": (RATINGS, RATING_SYNCS, CONSUMER_LAG),
}
"""The hoso families each role serves: a dispatcher does not export the gateway's histogram at 0.
A family declared above but listed under no role is served by every role (nothing is lost when a family is
added without updating this map); tests/hoso/test_health.py insists every family has a role."""

RUNTIME_COLLECTORS: tuple[Collector, ...] = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR)


def unassigned_families() -> list[Collector]:
    """Collectors in the default registry that no role lists (served by every role meanwhile)."""
    assigned = {id(c) for families in ROLE_FAMILIES.values() for c in families}
    runtime = {id(c) for c in RUNTIME_COLLECTORS}
    collectors: Iterable[Collector] = list(REGISTRY._collector_to_names)  # no public listing of collectors
    return [c for c in collectors if id(c) not in assigned and id(c) not in runtime]


def role_registry(role: str) -> CollectorRegistry:
    """A registry with only ``role``'s families (plus process metrics and any family no role claims yet)."""
    if role not in ROLE_FAMILIES:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(sorted(ROLE_FAMILIES))}")
    registry = CollectorRegistry(auto_describe=True)
    for collector in (*RUNTIME_COLLECTORS, *ROLE_FAMILIES[role], *unassigned_families()):
        registry.register(collector)
    return registry


class _Handler(BaseHTTPRequestHandler):
    registry: CollectorRegistry = REGISTRY
    health: Health | None = None

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(self.registry), CONTENT_TYPE_LATEST)
        elif path in ("/healthz", "/readyz") and self.health is not None:
            verdict = self.health.liveness() if path == "/healthz" else self.health.readiness()
            self._send(verdict.status, orjson.dumps(verdict.body()), "application/json")
        else:
            self._send(404, b"not found\n", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Probes every few seconds would flood the log."""


def serve(port: int, role: str | None = None, health: Health | None = None) -> ThreadingHTTPServer | None:
    """Serve /metrics (``role``'s families only) and, given ``health``, /healthz and /readyz on ``port``.

    Runs in a daemon thread independent of the event loop, so a blocked loop is reported (503) rather than
    hidden behind a timeout. Bound to all interfaces so Prometheus and the kubelet reach pods. Port 0: off.
    """
    if not port:
        return None
    handler = type(
        "HosoProbeHandler",
        (_Handler,),
        {"registry": role_registry(role) if role else REGISTRY, "health": health},
    )
    server = ThreadingHTTPServer(("", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="hoso-metrics", daemon=True).start()
    return server


_children: dict[tuple[object, tuple[str, ...]], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once per label set.

    prometheus_client's ``labels()`` validates its arguments and takes a lock on every call; the dispatcher
    makes several such calls per message, which showed in its profile. Label values are bounded (see
    ``LABELS``), so the cache is too.
    """
    key = (metric, labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found
