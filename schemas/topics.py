"""Every Kafka topic hoso reads or writes, declared once: name, partitions, key, value, retention, privacy.

Deployment manifests, ``hoso topics create``, the Faust app and the dispatcher all take names from here.
Dossier-keyed topics and the Faust table changelogs share one partition count, because a Faust table
writes to the changelog partition of the record being processed (co-partitioning).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """One topic and the contract of its records."""

    name: str
    partitions: int
    key: str
    value: str
    doc: str
    cleanup_policy: str = "delete"
    retention_ms: int | None = 30 * DAY_MS
    personal_data: bool = False
    configs: dict[str, str] = field(default_factory=dict)

    def kafka_configs(self) -> dict[str, str]:
        """Topic-level configs for CreateTopics."""
        out = {"cleanup.policy": self.cleanup_policy, **self.configs}
        if self.retention_ms is not None and "delete" in self.cleanup_policy:
            out["retention.ms"] = str(self.retention_ms)
        return out


@dataclass(frozen=True)
class Topics:
    """The catalogue for one deployment (prefix, partition count and Faust app id)."""

    dossier_events: TopicSpec
    dossier_events_invalid: TopicSpec
    subscription_changes: TopicSpec
    notifications: TopicSpec
    delivery_failures: TopicSpec
    notifications_retry_1: TopicSpec
    notifications_retry_2: TopicSpec
    notifications_retry_3: TopicSpec
    notifications_deferred: TopicSpec
    notifications_dead: TopicSpec
    sent_log: TopicSpec
    oa_tokens: TopicSpec
    dossier_state_changelog: TopicSpec
    followers_changelog: TopicSpec
    # --- lifecycle rules and area alerts ---
    broadcasts: TopicSpec
    lifecycle_ticks: TopicSpec
    dossier_hold_changelog: TopicSpec
    # --- citizens on Zalo (webhook, chat, citizen tables) ---
    zalo_events: TopicSpec
    dossier_commands: TopicSpec
    citizen_commands: TopicSpec
    chat_seen_changelog: TopicSpec
    citizen_contact_changelog: TopicSpec
    citizen_dossiers_changelog: TopicSpec
    zbs_delivery_changelog: TopicSpec
    # --- trust boundaries ---
    dossier_events_repartition: TopicSpec
    pending_follows_changelog: TopicSpec
    dossier_proofs_changelog: TopicSpec
    # --- SMS fallback ---
    sms_sent_log: TopicSpec
    # --- satisfaction ratings ---
    ratings: TopicSpec
    ratings_sync_log: TopicSpec
    rating_invites: TopicSpec
    rating_invites_changelog: TopicSpec
    # --- audiences beyond dossiers: OA followers, area news ---
    policy_news: TopicSpec
    oa_audience_changelog: TopicSpec
    policy_pacing_changelog: TopicSpec

    def all(self) -> list[TopicSpec]:
        """Every topic, in declaration order."""
        return [getattr(self, name) for name in self.__dataclass_fields__]

    def by_name(self) -> dict[str, TopicSpec]:
        """Index by topic name."""
        return {t.name: t for t in self.all()}


# Faust names a table's changelog "<app id>-<table name>-changelog"; the table names live here too so the
# two cannot disagree.
DOSSIER_STATE_TABLE = "dossier_state"
FOLLOWERS_TABLE = "followers"
# Per-dossier messages and events waiting for a time: reordering, flip collapse, quiet hours, survey.
DOSSIER_HOLD_TABLE = "dossier_hold"
# Citizens on Zalo: recent webhook ids per key (dedupe), contact and OA consent per citizen, the dossiers
# each citizen follows (for "HUY" = stop all), ZBS delivery receipts by tracking id.
CHAT_SEEN_TABLE = "chat_seen"
CITIZEN_CONTACT_TABLE = "citizen_contact"
CITIZEN_DOSSIERS_TABLE = "citizen_dossiers"
ZBS_DELIVERY_TABLE = "zbs_delivery"
# Per dossier: follows waiting for the dossier's first sync, and outstanding one-time codes / failed proofs.
PENDING_FOLLOWS_TABLE = "pending_follows"
DOSSIER_PROOFS_TABLE = "dossier_proofs"
# Survey invitations sent as ZBS templates, by tracking id: what the rating template's callback is about.
RATING_INVITES_TABLE = "rating_invites"
# OA followers and the areas they asked news of (keyed by citizen), and each citizen's policy-news pacing.
OA_AUDIENCE_TABLE = "oa_audience"
POLICY_PACING_TABLE = "policy_pacing"


def changelog_name(app_id: str, table: str) -> str:
    """The changelog topic Faust uses for ``table``."""
    return f"{app_id}-{table}-changelog"


def _retry_tier(prefix: str, partitions: int, tier: int, delay: str) -> TopicSpec:
    return TopicSpec(
        name=f"{prefix}.notifications.retry-{tier}.v1",
        partitions=partitions,
        key="subscriber_id (pseudonymous)",
        value="Notification (JSON); headers hoso-attempt, hoso-not-before, hoso-reason",
        doc=f"Retry tier {tier}: transient Zalo failures wait about {delay} here, in Kafka, not in memory.",
        personal_data=True,
        retention_ms=7 * DAY_MS,
    )


def catalogue(prefix: str, partitions: int, app_id: str) -> Topics:
    """Build the topic catalogue for one deployment."""
    return Topics(
        dossier_events=TopicSpec(
            name=f"{prefix}.dossier-events.v1",
            partitions=partitions,
            key="ma_ho_so (UTF-8)",
            value="DossierEvent v1 (JSON)",
            doc="State changes of dossiers, published by agency systems and the ingest gateway.",
            personal_data=True,
        ),
        dossier_events_invalid=TopicSpec(
            name=f"{prefix}.dossier-events.invalid.v1",
            partitions=1,
            key="original key (bytes)",
            value="InvalidEvent: the original bytes, the problems with their paths, source offset",
            doc="Records on the dossier topic that failed validation, kept for the publishing agency to fix.",
            personal_data=True,
        ),
        subscription_changes=TopicSpec(
            name=f"{prefix}.subscription-changes.v1",
            partitions=partitions,
            key="ma_ho_so (UTF-8)",
            value="Subscription (JSON)",
            doc="Follow / unfollow requests for a dossier, from chat and from agency consent records.",
            personal_data=True,
        ),
        notifications=TopicSpec(
            name=f"{prefix}.notifications.v1",
            partitions=partitions,
            key="subscriber_id (pseudonymous)",
            value="Notification (JSON)",
            doc="Rendered messages for the dispatcher; keyed by recipient so one person's messages stay in order.",
            personal_data=True,
            retention_ms=7 * DAY_MS,
        ),
        delivery_failures=TopicSpec(
            name=f"{prefix}.delivery-failures.v1",
            partitions=partitions,
            key="subscriber_id (pseudonymous)",
            value="DeliveryFailure: the notification, Zalo's code and the reason",
            doc="Messages Zalo will never deliver to this person; an SMS or letter fallback can consume them.",
            personal_data=True,
        ),
        notifications_retry_1=_retry_tier(prefix, partitions, 1, "five seconds"),
        notifications_retry_2=_retry_tier(prefix, partitions, 2, "a minute"),
        notifications_retry_3=_retry_tier(prefix, partitions, 3, "ten minutes"),
        notifications_deferred=TopicSpec(
            name=f"{prefix}.notifications.deferred.v1",
            partitions=partitions,
            key="subscriber_id (pseudonymous)",
            value="Notification (JSON); header hoso-not-before (epoch ms)",
            doc="Messages held until a known time: the OA's quota reset (midnight) or the end of the night ban.",
            personal_data=True,
        ),
        notifications_dead=TopicSpec(
            name=f"{prefix}.notifications.dead.v1",
            partitions=1,
            key="subscriber_id (pseudonymous)",
            value="DeadLetter: the original notification, the reason, attempts",
            doc="Messages that kept failing transiently; inspect and replay with `hoso dlq list|replay`.",
            personal_data=True,
            retention_ms=90 * DAY_MS,
        ),
        sent_log=TopicSpec(
            name=f"{prefix}.sent-log.v1",
            partitions=partitions,
            key="subscriber_id (same partition as the notification)",
            value="{tracking_id, msg_id, oa_id, sent_at}",
            doc="What Zalo accepted, so a record re-read after a crash is not sent twice.",
            retention_ms=3 * DAY_MS,
        ),
        oa_tokens=TopicSpec(
            name=f"{prefix}.oa-tokens.v1",
            partitions=1,
            key="oa_id",
            value="{access_token, refresh_token, expires_at, version}",
            doc="Latest OA token pair, written before it is used; survives restarts, shared by dispatchers.",
            cleanup_policy="compact",
            retention_ms=None,
            personal_data=False,
            configs={"min.compaction.lag.ms": "0"},
        ),
        dossier_state_changelog=TopicSpec(
            name=changelog_name(app_id, DOSSIER_STATE_TABLE),
            partitions=partitions,
            key="ma_ho_so",
            value="DossierState (JSON)",
            doc="Changelog of the Faust table holding each dossier's latest state and seen event ids.",
            cleanup_policy="compact",
            retention_ms=None,
            personal_data=False,
        ),
        followers_changelog=TopicSpec(
            name=changelog_name(app_id, FOLLOWERS_TABLE),
            partitions=partitions,
            key="ma_ho_so",
            value="followers: {subscriber_id: Subscription}",
            doc="Changelog of the Faust table of who follows each dossier.",
            cleanup_policy="compact",
            retention_ms=None,
            personal_data=True,
        ),
        broadcasts=TopicSpec(
            name=f"{prefix}.broadcasts.v1",
            partitions=partitions,
            key="broadcast_id; the same request is written to every partition",
            value="Broadcast (JSON): an area alert request",
            doc="Area alerts; one copy per partition so every worker fans out over its own table partitions.",
            personal_data=False,
        ),
        lifecycle_ticks=TopicSpec(
            name=f"{prefix}.lifecycle-ticks.v1",
            partitions=partitions,
            key="ma_ho_so (UTF-8); a survey invitation's tracking_id for expire_invite",
            value="{kind: release|overdue|purge|expire_invite, at: time}",
            doc="Timers telling their own worker's agent that a dossier has something due (only agents write tables).",
            retention_ms=DAY_MS,
        ),
        dossier_hold_changelog=TopicSpec(
            name=changelog_name(app_id, DOSSIER_HOLD_TABLE),
            partitions=partitions,
            key="ma_ho_so",
            value="Hold (JSON): events awaiting order, a low-value event, deferred messages, a survey due",
            doc="Changelog of the table of what each dossier is waiting for (timers release it).",
            cleanup_policy="compact",
            retention_ms=None,
            personal_data=True,
        ),
        **_citizen_topics(prefix, partitions, app_id),
        dossier_events_repartition=TopicSpec(
            name=f"{prefix}.dossier-events.repartition.v1",
            partitions=partitions,
            key="ma_ho_so (UTF-8)",
            value="DossierEvent v1 (JSON), the original bytes",
            doc="Internal: dossier events a producer put on another partition than murmur2 of their key, re-keyed "
            "onto the right one before any table read (docs/gateway.md, Kafka producers).",
            personal_data=True,
            retention_ms=7 * DAY_MS,
        ),
        sms_sent_log=TopicSpec(
            name=f"{prefix}.sms-sent-log.v1",
            partitions=partitions,
            key="subscriber_id (same partition as the delivery failure)",
            value="{tracking_id, msg_id, oa_id, sent_at}",
            doc="Notifications the SMS provider accepted, so a failure re-read after a restart is not texted twice.",
            retention_ms=30 * DAY_MS,
        ),
        ratings=TopicSpec(
            name=f"{prefix}.ratings.v1",
            partitions=partitions,
            key="ma_ho_so|subscriber_id",
            value="Rating (JSON): a citizen's current 3-level satisfaction rating of a dossier",
            doc="One rating per dossier and citizen, a later one replacing it; synced back to the agency.",
            cleanup_policy="compact",
            retention_ms=None,
            personal_data=True,
        ),
        ratings_sync_log=TopicSpec(
            name=f"{prefix}.ratings-sync-log.v1",
            partitions=partitions,
            key="rating key (same partition as the rating)",
            value="{tracking_id: rating sync id, msg_id, oa_id: agency, sent_at}",
            doc="Ratings the agency's system accepted, so a rating re-read after a restart is not posted twice.",
            retention_ms=30 * DAY_MS,
        ),
        rating_invites=TopicSpec(
            name=f"{prefix}.rating-invites.v1",
            partitions=partitions,
            key="tracking_id of the survey invitation",
            value="RatingInvite (JSON): dossier, subscriber_id, agency and OA of a ZBS survey invitation",
            doc="Survey invitations sent as ZBS templates, re-keyed by tracking id where Zalo's rating callbacks "
            "arrive (zalo-events.v1), so a rating through the template finds its dossier.",
            personal_data=False,
            retention_ms=30 * DAY_MS,
        ),
        rating_invites_changelog=TopicSpec(
            name=changelog_name(app_id, RATING_INVITES_TABLE),
            partitions=partitions,
            key="tracking_id",
            value="RatingInvite (JSON)",
            doc="Changelog of the table of ZBS survey invitations, by tracking id (matches rating callbacks).",
            cleanup_policy="compact",
            retention_ms=None,
            personal_data=False,
        ),
        policy_news=TopicSpec(
            name=f"{prefix}.policy-news.v1",
            partitions=partitions,
            key="subscriber_id (pseudonymous)",
            value="Notification (JSON) of a POLICY broadcast for one citizen, or a pacing tick {tick, at}",
            doc="Internal: policy news re-keyed by citizen, where quiet hours, the daily cap and the "
            "one-message-per-broadcast rule are applied against the citizen's pacing table.",
            personal_data=True,
            retention_ms=7 * DAY_MS,
        ),
        oa_audience_changelog=TopicSpec(
            name=changelog_name(app_id, OA_AUDIENCE_TABLE),
            partitions=partitions,
            key="subscriber_id (z:…, the zalo-events key)",
            value="OA audience entry (JSON): Zalo user id, OA, follows the OA, areas asked for",
            doc="Changelog of the table of OA followers and the areas whose news they asked for (THEO DOI).",
            cleanup_policy="compact",
            retention_ms=None,
            personal_data=True,
        ),
        policy_pacing_changelog=TopicSpec(
            name=changelog_name(app_id, POLICY_PACING_TABLE),
            partitions=partitions,
            key="subscriber_id",
            value="pacing (JSON): Vietnam day, news sent that day, broadcasts seen, news waiting for quiet hours",
            doc="Changelog of the per-citizen policy-news pacing table (daily cap, dedupe, quiet-hours wait).",
            cleanup_policy="compact",
            retention_ms=None,
            personal_data=True,
        ),
    )


def _citizen_topics(prefix: str, partitions: int, app_id: str) -> dict[str, TopicSpec]:
    """Topics of the citizen chat flow; all share the dossier partition count (Faust tables write to them)."""

    def changelog(table: str, key: str, value: str, doc: str, personal: bool) -> TopicSpec:
        return TopicSpec(
            name=changelog_name(app_id, table),
            partitions=partitions,
            key=key,
            value=value,
            doc=doc,
            cleanup_policy="compact",
            retention_ms=None,
            personal_data=personal,
        )

    return {
        "zalo_events": TopicSpec(
            name=f"{prefix}.zalo-events.v1",
            partitions=partitions,
            key="subscriber_id of the Zalo user (pseudonymous); tracking_id for ZNS receipts",
            value="ZaloEvent (JSON): Zalo's webhook payload as received, with its identity",
            doc="Verified Zalo webhook calls (chat messages, follow/unfollow, shared info, ZNS receipts).",
            personal_data=True,
            retention_ms=7 * DAY_MS,
        ),
        "dossier_commands": TopicSpec(
            name=f"{prefix}.dossier-commands.v1",
            partitions=partitions,
            key="ma_ho_so (UTF-8)",
            value="DossierCommand (JSON): follow, look up or unfollow one dossier",
            doc="Citizen chat requests re-keyed by dossier, so state and followers are read where they live.",
            personal_data=True,
            retention_ms=7 * DAY_MS,
        ),
        "citizen_commands": TopicSpec(
            name=f"{prefix}.citizen-commands.v1",
            partitions=partitions,
            key="subscriber_id (pseudonymous)",
            value="CitizenCommand (JSON): index a followed dossier, or stop all for one identity",
            doc="Requests about one citizen identity (Zalo user or phone), keyed by its pseudonym.",
            personal_data=False,
            retention_ms=7 * DAY_MS,
        ),
        "chat_seen_changelog": changelog(
            CHAT_SEEN_TABLE,
            "zalo-events key",
            "recent webhook event ids (JSON list)",
            "Changelog of the table that makes Zalo's webhook retries harmless.",
            False,
        ),
        "citizen_contact_changelog": changelog(
            CITIZEN_CONTACT_TABLE,
            "subscriber_id (z:…)",
            "CitizenContact (JSON): Zalo user id, linked phone, follows the OA",
            "Changelog of the table of how to reach a citizen and whether they follow the OA.",
            True,
        ),
        "citizen_dossiers_changelog": changelog(
            CITIZEN_DOSSIERS_TABLE,
            "subscriber_id",
            "dossier codes the identity follows (JSON list)",
            "Changelog of the citizen → dossiers index used to stop all notifications at once.",
            False,
        ),
        "zbs_delivery_changelog": changelog(
            ZBS_DELIVERY_TABLE,
            "tracking_id",
            "delivery receipt (JSON): msg_id, delivery time",
            "Changelog of the table of ZBS delivery receipts, by the tracking id the dispatcher sent.",
            False,
        ),
        "pending_follows_changelog": changelog(
            PENDING_FOLLOWS_TABLE,
            "ma_ho_so",
            "follows waiting for the dossier's first sync (JSON): subscriber id -> Zalo user, expiry",
            "Changelog of the table of DK requests for dossiers no agency event has announced yet.",
            True,
        ),
        "dossier_proofs_changelog": changelog(
            DOSSIER_PROOFS_TABLE,
            "ma_ho_so",
            "outstanding one-time codes (keyed hashes, expiry, attempts) and failed-proof counts (JSON)",
            "Changelog of the table that checks proofs of dossier ownership typed back in chat.",
            False,
        ),
    }
