"""Ratings on the real broker: compacted per dossier and citizen, posted to the agency once, exported as CSV.

The agency's system is a local HTTP server that records what it receives and can be made to fail; the
sync-back is stopped mid-retry and restarted, and re-read by a fresh consumer group, and the agency must
still see each rating exactly once.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from kafka import KafkaProducer

from consumers.ratings.export import current_ratings, select, write_csv
from consumers.ratings.sync import RatingSync
from hoso import metrics
from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from schemas.rating import Rating, RatingChannel, RatingLevel
from streams.ratings import rating_record
from tests.integration.agency_system import endpoints
from tests.integration.dispatching import run_until

pytestmark = pytest.mark.broker

QN = "000.00.49.H22"
QT = "000.00.12.H44"


@pytest.fixture
def settings(settings):
    return settings.replace(ratings_sync_group=f"{settings.topic_prefix}-ratings")


def rating(code: str, who: str, level: int, at: str, *, agency: str = QN, comment: str | None = None) -> Rating:
    return Rating(
        ma_ho_so=code,
        subscriber_id=who,
        agency=agency,
        muc_do=RatingLevel(level),
        noi_dung=comment,
        channel=RatingChannel.ZALO_CHAT,
        rated_at=datetime.fromisoformat(at),
        oa_id="hoso-demo-oa",
        answer_id=f"msg-{who}-{at}",
    )


def publish(settings, ratings: list[Rating]) -> None:
    create_topics(kafka_python(settings), settings.topics)
    producer = KafkaProducer(**kafka_python(settings))
    for r in ratings:
        key, value = rating_record(r)
        producer.send(settings.topics.ratings.name, key=key, value=value).get(10)
    producer.close()


def count(agency: str, level: str) -> float:
    return metrics.RATINGS.labels(agency, level)._value.get()


async def test_each_rating_reaches_its_agency_once_even_across_a_restart_mid_retry(settings, agency):
    before = count(QN, "rat_hai_long")
    publish(
        settings,
        [
            rating("H22-0001", "p:lan", 3, "2026-11-28T10:00:00+07:00", comment="Cán bộ nhiệt tình"),
            rating("H44-0002", "p:minh", 1, "2026-11-28T10:05:00+07:00", agency=QT),  # no endpoint configured
        ],
    )
    agency.failing = 1_000
    first = RatingSync(settings, endpoints=endpoints(agency.url), backoff_s=(0.05,))
    await run_until(first, lambda: agency.attempts >= 3)
    assert agency.received == [] and count(QN, "rat_hai_long") == before, "killed mid-retry: nothing counted"

    agency.failing = 0
    second = RatingSync(settings, endpoints=endpoints(agency.url), backoff_s=(0.05,))
    await run_until(second, lambda: first.handled + second.handled == 2)
    assert first.outcomes.get("synced") is None and second.outcomes["synced"] == 1

    fresh = RatingSync(
        settings.replace(ratings_sync_group=settings.ratings_sync_group + "-fresh"),
        endpoints=endpoints(agency.url),
        backoff_s=(0.05,),
    )
    await run_until(fresh, lambda: fresh.handled == 2)
    assert fresh.outcomes == {"already_synced": 1, "no_endpoint": 1}

    assert agency.received == [
        {
            "MaHoSo": "H22-0001",
            "LoaiDanhGia": "1",
            "NguoiDanhGia": "p:lan",
            "ThoiGianDanhGia": "20261128100000",
            "DanhGia": 3,
            "NoiDungDanhGia": "Cán bộ nhiệt tình",
        }
    ]
    assert agency.headers[0]["Authorization"] == "Bearer t-qn" and len(agency.headers[0]["Idempotency-Key"]) == 32
    assert count(QN, "rat_hai_long") == before + 1


async def test_a_later_answer_replaces_the_earlier_one_in_the_export(settings, agency):
    publish(
        settings,
        [
            rating("H22-0007", "p:lan", 1, "2026-11-28T10:00:00+07:00"),
            rating("H22-0008", "p:hoa", 2, "2026-11-29T08:00:00+07:00"),
            rating("H22-0007", "p:lan", 3, "2026-11-28T11:00:00+07:00", comment="Đã được giải thích rõ"),
            rating("H22-0007", "p:tuan", 2, "2026-11-28T12:00:00+07:00"),  # the other recipient of the dossier
            rating("H44-0009", "p:minh", 1, "2026-11-28T10:05:00+07:00", agency=QT),
        ],
    )
    sync = RatingSync(settings, endpoints=endpoints(agency.url), backoff_s=(0.05,))
    await run_until(sync, lambda: sync.handled == 5)
    assert sorted((r["MaHoSo"], r["NguoiDanhGia"], r["DanhGia"]) for r in agency.received) == [
        ("H22-0007", "p:lan", 1),
        ("H22-0007", "p:lan", 3),
        ("H22-0007", "p:tuan", 2),
        ("H22-0008", "p:hoa", 2),
    ]
    lan = [r["DanhGia"] for r in agency.received if r["NguoiDanhGia"] == "p:lan"]
    assert lan == [1, 3], "one citizen's answers about a dossier share a key, so the agency sees them in order"

    live = current_ratings(kafka_python(settings), settings.topics.ratings.name)
    out = io.StringIO()
    rows = write_csv(out, select(live, "000.00.*.H22", date(2026, 11, 28), date(2026, 11, 28)))
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows == 2
    assert [(t["MaHoSo"], t["NguoiDanhGia"], t["DanhGia"], t["MucDo"], t["NoiDungDanhGia"]) for t in table] == [
        ("H22-0007", "p:lan", "3", "Rất hài lòng", "Đã được giải thích rõ"),
        ("H22-0007", "p:tuan", "2", "Hài lòng", ""),
    ]


def test_hoso_ratings_export_writes_the_csv_and_refuses_bad_dates(settings, monkeypatch, capsys):
    from hosoctl.cli import main

    publish(settings, [rating("H22-0100", "p:an", 2, "2026-11-03T09:00:00+07:00", comment="Nhanh")])
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    assert main(["ratings", "export", "--agency", QN, "--from", "01/11/2026", "--to", "2026-11-30"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0].startswith("MaHoSo,LoaiDanhGia,NguoiDanhGia,ThoiGianDanhGia,DanhGia")
    assert "H22-0100,1,p:an,20261103090000,2,Hài lòng,Nhanh,000.00.49.H22,ZALO_CHAT" in out.out
    assert "1 ratings of 000.00.49.H22" in out.err
    assert main(["ratings", "export", "--agency", QN, "--from", "2026-13-01"]) == 2
    assert "is not a date" in capsys.readouterr().err
    assert main(["ratings", "export"]) == 2
