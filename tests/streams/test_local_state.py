"""Local table stores survive a clean stop only (see ``streams.local_state``)."""

from __future__ import annotations

from pathlib import Path

from streams.local_state import CLEAN_STOP_MARKER, discard_unless_clean, mark_clean_stop


def stores(datadir: Path) -> Path:
    table = datadir / "v1" / "tables" / "dossier_hold-0.db"
    table.mkdir(parents=True)
    (table / "000001.log").write_bytes(b"held message")
    return table


def test_a_first_start_has_nothing_to_discard(tmp_path: Path):
    assert discard_unless_clean(tmp_path / "app") is False
    assert (tmp_path / "app").is_dir()


def test_stores_left_by_a_crash_are_discarded(tmp_path: Path):
    table = stores(tmp_path)
    assert discard_unless_clean(tmp_path) is True
    assert not table.exists() and list(tmp_path.iterdir()) == []


def test_stores_left_by_a_clean_stop_are_kept_and_the_marker_consumed(tmp_path: Path):
    table = stores(tmp_path)
    mark_clean_stop(tmp_path)
    assert discard_unless_clean(tmp_path) is False
    assert (table / "000001.log").read_bytes() == b"held message"
    assert not (tmp_path / CLEAN_STOP_MARKER).exists(), "a crash of this run must be noticed at the next start"
    assert discard_unless_clean(tmp_path) is True, "no clean stop since: discarded"
