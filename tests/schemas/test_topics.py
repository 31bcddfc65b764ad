"""The topic catalogue: one declaration per topic, co-partitioned where Faust tables need it."""

from __future__ import annotations

from schemas.topics import catalogue


def test_dossier_keyed_topics_and_changelogs_share_one_partition_count():
    topics = catalogue("hoso", 12, "hoso-streams")
    co = [
        topics.dossier_events,
        topics.subscription_changes,
        topics.dossier_state_changelog,
        topics.followers_changelog,
    ]
    assert {t.partitions for t in co} == {12}


def test_changelogs_are_compacted_and_keep_no_time_retention():
    topics = catalogue("hoso", 8, "app")
    for t in (topics.dossier_state_changelog, topics.followers_changelog):
        assert t.kafka_configs() == {"cleanup.policy": "compact"}
        assert t.name.startswith("app-") and t.name.endswith("-changelog")


def test_names_are_unique_and_prefixed():
    names = [t.name for t in catalogue("prov22", 8, "prov22-streams").all()]
    assert len(names) == len(set(names))
    assert all(n.startswith("prov22") for n in names)


def test_readme_lists_every_declared_topic():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for t in catalogue("hoso", 8, "hoso-streams").all():
        shown = t.name.replace("hoso-streams-", "<app>-").replace("hoso.", "")
        assert f"| `{shown}` |" in readme, f"README topic table misses {t.name}"
