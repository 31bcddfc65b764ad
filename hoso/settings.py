"""Every setting hoso reads, in one typed, validated object: the only module that looks at the environment.

Each field names its environment variable and carries a one-line description, so that
``hoso settings`` (and the README's configuration table) are generated from this file and cannot drift.
Defaults are the embedded demo values: a local broker on loopback and the Zalo simulator.
Secrets are ``SecretStr``: they print as ``**********`` in logs, reprs and ``hoso settings``; code that needs
the value asks for it (``.get_secret_value()``), and ``to_env`` hands it on to child processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from hoso.errors import ConfigurationError
from schemas.topics import Topics, catalogue

if TYPE_CHECKING:
    from hoso.accounts import OARegistry

_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hoso"

_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("hoso_settings_environ", default=None)
"""The mapping ``Settings.from_env`` reads (None: the process environment)."""


def _setting(env: str, default: Any, doc: str) -> Any:
    return Field(default=default, validation_alias=env, description=doc)


class _Environ(EnvSettingsSource):
    """pydantic-settings' environment source, reading the mapping handed to ``from_env`` when there is one."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        given = _ENVIRON.get()
        return dict(os.environ if given is None else given)


class Settings(BaseSettings):
    """Runtime configuration of every hoso process (read once at start-up)."""

    model_config = SettingsConfigDict(
        frozen=True, case_sensitive=True, extra="ignore", validate_default=True, populate_by_name=True
    )

    @field_validator("*", mode="before")
    @classmethod
    def _from_text(cls, value: Any, info: ValidationInfo) -> Any:
        """Environment text the way an operator writes it: ``~`` in paths, an empty flag meaning off."""
        kind = cls.model_fields[info.field_name].annotation if info.field_name else None
        if isinstance(value, str) and kind in (Path, "Path"):
            return Path(value).expanduser()
        if value == "" and kind in (bool, "bool"):
            return False
        return value

    # --- Kafka -------------------------------------------------------------------------------
    kafka_bootstrap: str = _setting(
        "KAFKA_BOOTSTRAP", "", "Existing Kafka cluster (host:port,...). Empty: the local broker below."
    )
    kafka_home: Path = _setting(
        "HOSO_KAFKA_HOME", _CACHE / "kafka", "Folder of the local broker: jars, data, logs, pid file."
    )
    kafka_version: str = _setting("HOSO_KAFKA_VERSION", "4.4.0", "Apache Kafka release run by `hoso kafka`.")
    kafka_port: int = _setting("HOSO_KAFKA_PORT", 19092, "Loopback port of the local broker.")
    kafka_controller_port: int = _setting(
        "HOSO_KAFKA_CONTROLLER_PORT", 19093, "Loopback port of the local KRaft controller."
    )
    kafka_heap_mb: int = _setting("HOSO_KAFKA_HEAP_MB", 512, "JVM heap of the local broker (MiB).")
    kafka_security_protocol: str = _setting(
        "HOSO_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL for every client."
    )
    kafka_sasl_mechanism: str = _setting(
        "HOSO_KAFKA_SASL_MECHANISM", "PLAIN", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."
    )
    kafka_sasl_username: str = _setting("HOSO_KAFKA_SASL_USERNAME", "", "SASL user name.")
    kafka_sasl_password: SecretStr = _setting("HOSO_KAFKA_SASL_PASSWORD", "", "SASL password (keep it in a secret).")
    kafka_ssl_cafile: str = _setting("HOSO_KAFKA_SSL_CAFILE", "", "CA bundle for SSL listeners (empty: system CAs).")
    topic_prefix: str = _setting(
        "HOSO_TOPIC_PREFIX", "hoso", "Prefix of every topic name; lets several deployments share a cluster."
    )
    partitions: int = _setting(
        "HOSO_PARTITIONS", 8, "Partitions of the dossier-keyed topics (and so of the Faust tables)."
    )
    replication_factor: int = _setting("HOSO_REPLICATION_FACTOR", 1, "Replication factor of new topics.")

    # --- Streams (Faust) ---------------------------------------------------------------------
    app_id: str = _setting("HOSO_APP_ID", "hoso-streams", "Faust application id (consumer group, table names).")
    streams_session_timeout_s: float = _setting(
        "HOSO_STREAMS_SESSION_TIMEOUT_S",
        10.0,
        "Kafka session timeout of Faust workers: how soon a crashed worker's partitions move (seconds).",
    )
    state_dir: Path = _setting(
        "HOSO_STATE_DIR",
        _CACHE / "state",
        "Faust data folder (RocksDB tables). Delete it if the broker is reset.",
    )
    pseudonym_key: SecretStr = _setting(
        "HOSO_PSEUDONYM_KEY",
        "hoso-demo-pseudonym-key",
        "Secret for keyed hashes of phone numbers in record keys and ids. Set a real secret in production.",
    )
    default_oa_id: str = _setting(
        "HOSO_DEFAULT_OA_ID", "hoso-demo-oa", "Zalo Official Account that sends when no route matches."
    )

    # --- Lifecycle rules, templates, area alerts (streams) -------------------------------------
    reorder_hold_s: float = _setting(
        "HOSO_REORDER_HOLD_S", 5.0, "Seconds an event after a sequence gap waits for the missing ones (0: no wait)."
    )
    low_value_throttle_s: float = _setting(
        "HOSO_LOW_VALUE_THROTTLE_S", 86400.0, "At most one IN_PROCESS/TRANSFERRED message per dossier per this many s."
    )
    collapse_window_s: float = _setting(
        "HOSO_COLLAPSE_WINDOW_S", 600.0, "A low-value status followed by another change within this many s is not sent."
    )
    settle_s: float = _setting(
        "HOSO_SETTLE_S", 5.0, "Least wall-clock wait before a held message is released (lets in-flight events land)."
    )
    quiet_hours: str = _setting(
        "HOSO_QUIET_HOURS", "21:00-07:00", "Vietnam-time window when non-emergency messages are deferred (empty: off)."
    )
    survey_delay_s: float = _setting(
        "HOSO_SURVEY_DELAY_S", 7200.0, "Seconds after RESULT_RETURNED before the survey invitation (negative: off)."
    )
    lifecycle_tick_s: float = _setting(
        "HOSO_LIFECYCLE_TICK_S", 1.0, "How often a worker releases due held, deferred and survey messages (s)."
    )
    overdue_scan_s: float = _setting(
        "HOSO_OVERDUE_SCAN_S",
        60.0,
        "How often a worker scans its dossiers for missed appointment dates and lapsed waiting follows (s).",
    )
    template_catalogue: str = _setting(
        "HOSO_TEMPLATE_CATALOGUE", "", "JSON file of ZNS templates per OA and status. Empty: the packaged catalogue."
    )

    # --- Dispatcher / Zalo -------------------------------------------------------------------
    dispatcher_group: str = _setting("HOSO_DISPATCHER_GROUP", "hoso-dispatcher", "Consumer group of dispatchers.")
    zalo_zbs_url: str = _setting(
        "HOSO_ZALO_ZBS_URL",
        "http://127.0.0.1:18080",
        "ZBS template API base (production: https://business.openapi.zalo.me).",
    )
    zalo_oa_url: str = _setting(
        "HOSO_ZALO_OA_URL",
        "http://127.0.0.1:18080",
        "OA Open API base (production: https://openapi.zalo.me).",
    )
    zalo_oauth_url: str = _setting(
        "HOSO_ZALO_OAUTH_URL", "http://127.0.0.1:18080", "OAuth base (production: https://oauth.zaloapp.com)."
    )
    zalo_access_token: SecretStr = _setting(
        "HOSO_ZALO_ACCESS_TOKEN",
        "sim-demo-access-token",
        "OA access token used until the token store has one.",
    )
    zalo_timeout_s: float = _setting("HOSO_ZALO_TIMEOUT_S", 10.0, "Timeout of one Zalo HTTP request (seconds).")
    dispatch_concurrency: int = _setting(
        "HOSO_DISPATCH_CONCURRENCY", 64, "Zalo requests in flight per dispatcher process."
    )
    dispatch_batch: int = _setting("HOSO_DISPATCH_BATCH", 500, "Records fetched per dispatcher poll.")
    oa_config: str = _setting(
        "HOSO_OA_CONFIG", "", "JSON file of Official Accounts (credentials, provinces, rate). Empty: the demo OA."
    )
    dispatch_max_in_flight: int = _setting(
        "HOSO_DISPATCH_MAX_IN_FLIGHT", 2000, "Records fetched but not finished per dispatcher (backpressure)."
    )
    token_refresh_margin_s: float = _setting(
        "HOSO_TOKEN_REFRESH_MARGIN_S", 300.0, "Refresh an OA access token this long before it expires."
    )
    sent_log_lookback_s: float = _setting(
        "HOSO_SENT_LOG_LOOKBACK_S", 21600.0, "How far back the sent-log is read when a partition is assigned."
    )
    dispatch_max_attempts: int = _setting(
        "HOSO_DISPATCH_MAX_ATTEMPTS", 6, "Attempts for a transient Zalo failure before it is dead-lettered."
    )

    # --- Ingest gateway (HTTP) ---------------------------------------------------------------
    gateway_host: str = _setting(
        "HOSO_GATEWAY_HOST", "127.0.0.1", "Interface the ingest gateway listens on (0.0.0.0 in containers)."
    )
    gateway_port: int = _setting("HOSO_GATEWAY_PORT", 18088, "Port of the ingest gateway (`hoso gateway`).")
    gateway_keys_file: str = _setting(
        "HOSO_GATEWAY_KEYS_FILE",
        "",
        "JSON file of agency API keys (sha256) and profiles. Empty: the shipped demo keys (docs/gateway.md).",
    )
    gateway_max_body_bytes: int = _setting(
        "HOSO_GATEWAY_MAX_BODY_BYTES", 4_194_304, "Largest request body the gateway reads (bigger: 413)."
    )
    gateway_max_batch: int = _setting("HOSO_GATEWAY_MAX_BATCH", 500, "Most items in one gateway request (more: 413).")
    gateway_read_timeout_s: float = _setting(
        "HOSO_GATEWAY_READ_TIMEOUT_S", 15.0, "Time a client has to send its whole request body (slower: 408)."
    )

    # --- Citizens on Zalo: webhook receiver, chat, operator lookup ---------------------------
    webhook_host: str = _setting(
        "HOSO_WEBHOOK_HOST", "127.0.0.1", "Interface the Zalo webhook receiver listens on (0.0.0.0 in containers)."
    )
    webhook_port: int = _setting("HOSO_WEBHOOK_PORT", 18089, "Port of the Zalo webhook receiver (`hoso webhook`).")
    zalo_app_id: str = _setting(
        "HOSO_ZALO_APP_ID", "hoso-demo-app", "Zalo app id: the first part of the webhook signature (app_id variant)."
    )
    zalo_oa_secret_keys: SecretStr = _setting(
        "HOSO_ZALO_OA_SECRET_KEYS",
        "hoso-demo-oa-secret",
        "Comma-separated OA secret keys accepted for webhook signatures (several during a rotation).",
    )
    webhook_signature_variants: str = _setting(
        "HOSO_WEBHOOK_SIGNATURE_VARIANTS",
        "app_id,oa_id",
        "Which id opens the signed string, tried in order: app_id (Zalo's docs) and/or oa_id (some SDKs).",
    )
    operator_key: SecretStr = _setting(
        "HOSO_OPERATOR_KEY", "", "Bearer key of the operator lookup API (/v1/dossiers/...). Empty: API refuses all."
    )
    streams_web_port: int = _setting(
        "HOSO_STREAMS_WEB_PORT", 0, "Port of a Faust worker's web server and operator lookup API (0: off)."
    )
    streams_web_host: str = _setting(
        "HOSO_STREAMS_WEB_HOST",
        "127.0.0.1",
        "Address a worker's web server binds and tells peers (pod IP in a cluster).",
    )

    # --- SMS fallback (`hoso sms`) ------------------------------------------------------------
    sms_config: str = _setting(
        "HOSO_SMS_CONFIG",
        "",
        "JSON file of brandname-SMS providers per OA (url, key, brandname). Empty: the SMS fallback is off.",
    )
    sms_group: str = _setting("HOSO_SMS_GROUP", "hoso-sms", "Consumer group of the SMS fallback.")
    sms_timeout_s: float = _setting("HOSO_SMS_TIMEOUT_S", 10.0, "Timeout of one SMS provider request (seconds).")
    sms_max_attempts: int = _setting(
        "HOSO_SMS_MAX_ATTEMPTS", 8, "Attempts for a transient SMS provider failure before the text is given up."
    )
    sms_max_age_s: float = _setting(
        "HOSO_SMS_MAX_AGE_S", 86400.0, "Failures older than this are not texted (a late text about old news misleads)."
    )
    sms_simulator_port: int = _setting("HOSO_SMS_SIMULATOR_PORT", 18081, "Port of `hoso sms-simulator` on loopback.")

    # --- Satisfaction ratings (`hoso ratings`) ---------------------------------------------------
    ratings_sync_config: str = _setting(
        "HOSO_RATINGS_SYNC_CONFIG",
        "",
        "JSON file of agency systems' rating endpoints (codes, url, token). Empty: ratings are counted, not posted.",
    )
    ratings_sync_group: str = _setting(
        "HOSO_RATINGS_SYNC_GROUP", "hoso-ratings-sync", "Consumer group of the rating sync-back."
    )
    ratings_sync_timeout_s: float = _setting(
        "HOSO_RATINGS_SYNC_TIMEOUT_S", 10.0, "Timeout of one POST to an agency's rating endpoint (seconds)."
    )
    rating_invite_ttl_days: float = _setting(
        "HOSO_RATING_INVITE_TTL_DAYS",
        30.0,
        "How long a survey can be answered after its invitation (days); later answers are refused, invitations purged.",
    )

    # --- Audiences beyond dossiers: OA followers, area news (issue 20) ----------------------------
    policy_news_per_day: int = _setting(
        "HOSO_POLICY_NEWS_PER_DAY",
        2,
        "Policy-news broadcasts one citizen receives per Vietnam day; more that day are dropped and counted.",
    )
    area_catalogue: str = _setting(
        "HOSO_AREA_CATALOGUE",
        "",
        "JSON file of commune-level units [{code, name, province}] citizens may name in THEO DOI. Empty: built-in.",
    )

    # --- Simulator, metrics, logs ------------------------------------------------------------
    simulator_port: int = _setting("HOSO_SIMULATOR_PORT", 18080, "Port of `hoso simulator` on loopback.")
    metrics_port: int = _setting("HOSO_METRICS_PORT", 0, "Prometheus /metrics port of this process (0: off).")
    log_level: str = _setting("HOSO_LOG_LEVEL", "INFO", "Log level of hoso processes.")
    log_format: str = _setting("HOSO_LOG_FORMAT", "text", "Log lines as `text` or `json` (one object a line).")
    health_loop_stall_s: float = _setting(
        "HOSO_HEALTH_LOOP_STALL_S", 10.0, "/healthz fails once the event loop has not run for this many seconds."
    )
    health_poll_stall_s: float = _setting(
        "HOSO_HEALTH_POLL_STALL_S", 60.0, "/healthz fails once a consumer's fetch loop has not run for this long (s)."
    )
    zalo_simulated: bool = _setting(
        "HOSO_ZALO_SIMULATED",
        False,
        "The Zalo URLs are the simulator on another host (dev profile/overlay): demo secrets allowed; never real Zalo.",
    )
    max_sequence_jump: int = _setting(
        "HOSO_MAX_SEQUENCE_JUMP",
        10_000,
        "An event whose sequence exceeds its dossier's last one by more than this and more than doubles it is "
        "parked for review, not applied.",
    )
    metric_agencies: str = _setting(
        "HOSO_METRIC_AGENCIES",
        "000.00.49.H22,000.00.*.H56",
        "Agency codes or * patterns used as metric labels (a pattern labels every code it matches); others: other.",
    )
    webhook_max_age_s: float = _setting(
        "HOSO_WEBHOOK_MAX_AGE_S",
        600.0,
        "Webhook calls whose signed timestamp is older (or further ahead) than this many s have no effect.",
    )
    partial_wait_s: float = _setting(
        "HOSO_PARTIAL_WAIT_S",
        3600.0,
        "Seconds a progress step waits for its dossier before it goes to the invalid topic.",
    )

    # --- Citizens on Zalo: follows before the first sync, proof of ownership, rate limits --------------
    pending_follow_days: float = _setting(
        "HOSO_PENDING_FOLLOW_DAYS",
        14.0,
        "How long a DK for a dossier not synced yet waits for its first event before it lapses (days).",
    )
    pending_follows_per_citizen: int = _setting(
        "HOSO_PENDING_FOLLOWS_PER_CITIZEN", 5, "Most not-yet-synced dossiers one Zalo user may wait on at once."
    )
    chat_lookups_per_hour: int = _setting(
        "HOSO_CHAT_LOOKUPS_PER_HOUR", 20, "TC / DK requests one Zalo user may send per hour (more are refused)."
    )
    chat_proofs_per_hour: int = _setting(
        "HOSO_CHAT_PROOFS_PER_HOUR", 5, "XN proof attempts (code requests and typed codes) per Zalo user per hour."
    )
    proof_failures_per_dossier: int = _setting(
        "HOSO_PROOF_FAILURES_PER_DOSSIER",
        10,
        "Wrong proofs one dossier accepts per 24 h, from all users together, before it refuses proofs.",
    )
    otp_ttl_s: float = _setting("HOSO_OTP_TTL_S", 600.0, "Life of a one-time code sent to a dossier's phone (s).")
    proof_key: SecretStr = _setting(
        "HOSO_PROOF_KEY",
        "hoso-demo-proof-key",
        "Key shared with agencies for xac_thuc_hash (HMAC-SHA256 of the dossier code and the last 6 ID digits).",
    )

    @property
    def local_broker(self) -> bool:
        """True when hoso runs its own broker rather than an existing cluster."""
        return not self.kafka_bootstrap

    @property
    def bootstrap(self) -> str:
        """Where every Kafka client connects."""
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @cached_property
    def topics(self) -> Topics:
        """Every topic of this deployment (names under ``topic_prefix``), built once per settings object."""
        return catalogue(self.topic_prefix, self.partitions, self.app_id)

    @cached_property
    def accounts(self) -> OARegistry:
        """The Official Accounts (``HOSO_OA_CONFIG`` or the demo OA), read once per settings object."""
        from hoso.accounts import load_registry

        return load_registry(Path(self.oa_config) if self.oa_config else None, self.default_oa_id)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values, then the environment (no dotenv or secrets-folder magic: one place to look)."""
        return init_settings, _Environ(settings_cls, case_sensitive=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default: the process environment), failing clearly on bad values."""
        token = _ENVIRON.set(environ)
        try:
            settings = cls()
        except ValidationError as exc:
            raise ConfigurationError("bad settings: " + "; ".join(_problems(exc))) from None
        finally:
            _ENVIRON.reset(token)
        settings.check()
        return settings

    def check(self) -> None:
        """Reject values that would only fail later, far from their cause."""
        problems = []
        if self.partitions < 1:
            problems.append("HOSO_PARTITIONS must be >= 1")
        if self.sms_max_attempts < 1:
            problems.append("HOSO_SMS_MAX_ATTEMPTS must be >= 1")
        if self.policy_news_per_day < 0:
            problems.append("HOSO_POLICY_NEWS_PER_DAY must be >= 0 (0: no policy news)")
        if self.dispatch_concurrency < 1:
            problems.append("HOSO_DISPATCH_CONCURRENCY must be >= 1")
        if self.kafka_security_protocol not in {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}:
            problems.append("HOSO_KAFKA_SECURITY_PROTOCOL must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
        if self.kafka_security_protocol.startswith("SASL") and not self.kafka_sasl_username:
            problems.append("HOSO_KAFKA_SASL_USERNAME is required with a SASL security protocol")
        variants = [v.strip() for v in self.webhook_signature_variants.split(",") if v.strip()]
        if not variants or any(v not in {"app_id", "oa_id"} for v in variants):
            problems.append("HOSO_WEBHOOK_SIGNATURE_VARIANTS must list app_id and/or oa_id")
        if not self.topic_prefix or any(c in self.topic_prefix for c in " /\\"):
            problems.append("HOSO_TOPIC_PREFIX must be a non-empty topic-safe name")
        if self.log_format not in {"text", "json"}:
            problems.append("HOSO_LOG_FORMAT must be text or json")
        if problems:
            raise ConfigurationError("bad settings: " + "; ".join(problems))

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in a child process (secrets included, in clear)."""
        return {env: _text(getattr(self, name)) for name, env in _fields()}

    def shown_env(self) -> dict[str, str]:
        """Like ``to_env`` but safe to print: a secret shows only whether it is set (and if it is the demo value)."""
        return {env: _shown(name, getattr(self, name)) for name, env in _fields()}

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (used by the demo and tests to scope a run); values are validated."""
        fields = type(self).model_fields
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise TypeError(f"Settings has no field(s) {unknown}")
        current = {name: getattr(self, name) for name in fields}
        token = _ENVIRON.set({})
        try:
            return type(self)(**{**current, **changes})
        finally:
            _ENVIRON.reset(token)


def _fields() -> Iterator[tuple[str, str]]:
    for name, info in Settings.model_fields.items():
        yield name, _env_of(info)


def _env_of(info: FieldInfo) -> str:
    assert isinstance(info.validation_alias, str)
    return info.validation_alias


def _shown(name: str, value: Any) -> str:
    if not isinstance(value, SecretStr):
        return str(value)
    if not value.get_secret_value():
        return "(empty)"
    if value.get_secret_value() == Settings.model_fields[name].default:
        return "********** (the public demo value: set a real secret in production)"
    return "**********"


def _text(value: Any) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def _problems(exc: ValidationError) -> list[str]:
    """One line per bad variable, naming it and the value it had."""
    problems = []
    for error in exc.errors(include_url=False):
        env = ".".join(str(part) for part in error["loc"])
        info = Settings.model_fields.get(env) or next(
            (f for f in Settings.model_fields.values() if f.validation_alias == env), None
        )
        secret = info is not None and info.annotation in (SecretStr, "SecretStr")
        shown = "**********" if secret else repr(error.get("input"))
        problems.append(f"{env}={shown} is not valid ({error['msg']})")
    return problems


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, description) rows for documentation."""
    rows = []
    for _name, info in Settings.model_fields.items():
        default = info.default
        shown = str(default).replace(str(Path.home()), "~") if default != "" else "(empty)"
        rows.append((_env_of(info), shown, info.description or ""))
    return rows
