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
    dossier_state_changelog: TopicSpec
    followers_changelog: TopicSpec

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


def changelog_name(app_id: str, table: str) -> str:
    """The changelog topic Faust uses for ``table``."""
    return f"{app_id}-{table}-changelog"


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
    )
