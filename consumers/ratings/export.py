"""``hoso ratings export``: an agency's current ratings in a period, as CSV in the national field names.

Reads the compacted ratings topic from the start (the latest rating per dossier and citizen wins, a
tombstone removes it), so the export matches what was synced even if the agency's system lost it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime
from fnmatch import fnmatchcase
from typing import Any, TextIO

from hoso.kafka.read_to_end import read_compacted
from schemas.codec import decode
from schemas.common import VN_TZ
from schemas.rating import RATING_LABEL_VI, Rating, danh_gia_hai_long

COLUMNS = (
    "MaHoSo",
    "LoaiDanhGia",
    "NguoiDanhGia",
    "ThoiGianDanhGia",
    "DanhGia",
    "MucDo",
    "NoiDungDanhGia",
    "CoQuan",
    "Kenh",
)


def current_ratings(client_config: dict[str, Any], topic: str) -> dict[bytes, Rating]:
    """The live rating of every key on the topic (invalid records are skipped)."""
    return read_compacted(client_config, topic, lambda value: decode(Rating, value)[0])


def select(ratings: dict[bytes, Rating], agency: str, start: date, end: date) -> Iterator[Rating]:
    """Ratings of ``agency`` (exact code or ``*`` pattern) rated on days ``start``..``end`` (Vietnam time)."""
    for r in sorted(ratings.values(), key=lambda r: (r.rated_at, r.ma_ho_so)):
        day = r.rated_at.astimezone(VN_TZ).date()
        matches = fnmatchcase(r.agency, agency) if "*" in agency else r.agency == agency
        if matches and start <= day <= end:
            yield r


def write_csv(out: TextIO, ratings: Iterator[Rating]) -> int:
    """Write the CSV (UTF-8, header row); returns the number of rows."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    n = 0
    for r in ratings:
        row = danh_gia_hai_long(r)
        writer.writerow(
            [
                row["MaHoSo"],
                row["LoaiDanhGia"],
                row["NguoiDanhGia"],
                row["ThoiGianDanhGia"],
                row["DanhGia"],
                RATING_LABEL_VI[r.muc_do],
                r.noi_dung or "",
                r.agency,
                r.channel.value,
            ]
        )
        n += 1
    return n


def parse_day(value: str) -> date:
    """A day as ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (how Vietnamese reports write it)."""
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")
