"""``hoso broadcast --dry-run``: how many people a broadcast would reach, without sending it.

The audience lives in the workers' Faust tables (dossier state, dossier followers, OA audience), spread over
partitions and workers. Counting on one worker would miss the others' partitions, and summing per-worker
counts would count twice a person present on two partitions. So the preview reads the tables' compacted
changelogs from the start (the latest value per key, a tombstone deleting it: what a worker restores on
start-up) and applies the same selection code the fan-out agent runs (``streams.fanout.recipients``,
``streams.audience.recipients``) over all partitions at once, deduplicating by subscriber id. It is as
current as the workers' last flushed table writes (seconds), and needs no worker to be up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from hoso.kafka.read_to_end import read_compacted
from hoso.settings import Settings
from schemas.broadcast import Broadcast
from streams import audience as aud
from streams.areas import load as load_areas
from streams.fanout import recipients
from streams.rules import Rules


@dataclass(frozen=True)
class AudiencePreview:
    """People a broadcast would reach: by source, and in all after removing people reached both ways."""

    dossier_followers: int
    oa_audience: int
    total: int

    def line(self, broadcast: Broadcast) -> str:
        """The human summary ``hoso broadcast --dry-run`` prints."""
        both = self.dossier_followers + self.oa_audience - self.total
        return (
            f"dry run: {broadcast.priority} broadcast to {broadcast.area_level.value.lower()} {broadcast.area_code} "
            f"would reach {self.total} people ({self.dossier_followers} following a dossier there, "
            f"{self.oa_audience} OA followers placed there, {both} counted once though both); nothing was sent"
        )


def preview(settings: Settings, client_config: dict[str, Any], broadcast: Broadcast) -> AudiencePreview:
    """Count the broadcast's audience from the table changelogs (see the module docstring)."""
    topics = settings.topics
    rules = Rules.from_settings(settings)
    areas = load_areas(settings.area_catalogue)
    served: dict[str, tuple[str, ...]] = {}
    for province, oa_id in rules.oa_by_province:
        served[oa_id] = (*served.get(oa_id, ()), province)
    followers: dict[str, Any] = {}
    if not broadcast.is_policy:  # policy news goes to the OA audience only (streams.audience)
        states = read_compacted(client_config, topics.dossier_state_changelog.name)
        follower_rows = read_compacted(client_config, topics.followers_changelog.name)
        followers = recipients(states.items(), follower_rows.get, broadcast)
    rows = read_compacted(client_config, topics.oa_audience_changelog.name)
    contacts = read_compacted(client_config, topics.citizen_contact_changelog.name)

    def person_of(sid: str) -> str:
        raw = contacts.get(sid.encode())
        return str((orjson.loads(raw) if raw else {}).get("proven_phone_sid") or sid)

    audience = aud.recipients(
        rows.items(),
        broadcast,
        province_of=areas.province_of,
        oa_provinces=lambda oa: served.get(oa, ()),
        person_of=person_of,
    )
    return AudiencePreview(
        dossier_followers=len(followers), oa_audience=len(audience), total=len(set(followers) | set(audience))
    )
