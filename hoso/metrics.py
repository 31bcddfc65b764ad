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


def serve(port: int) -> None:
    """Expose /metrics on ``port`` (0 disables), bound to all interfaces so Prometheus can scrape pods."""
    if port:
        start_http_server(port)
