"""Every Prometheus metric hoso exports, declared once, with bounded labels only.

Labels are agencies, OAs, statuses, outcomes and error codes: never a dossier code, phone or citizen id,
which would both leak personal data and explode the series count.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

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
SUBSCRIPTION_CHANGES = Counter(
    "hoso_subscription_changes_total", "Follower changes applied, by source and action.", ["source", "action"]
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
IN_FLIGHT = Gauge("hoso_dispatcher_in_flight", "Zalo sends in flight in this dispatcher.")
CONSUMER_LAG = Gauge(
    "hoso_consumer_lag_records",
    "Records behind the log end, per topic partition.",
    ["group", "topic", "partition"],
)


def serve(port: int) -> None:
    """Expose /metrics on ``port`` (0 disables), bound to all interfaces so Prometheus can scrape pods."""
    if port:
        start_http_server(port)
