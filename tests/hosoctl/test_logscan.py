"""The log scanner finds phones, citizen ids and tokens, masks what it reports, and ignores look-alikes."""

from __future__ import annotations

import pytest

from hosoctl.logscan import mask, scan_paths, scan_text


@pytest.mark.parametrize(
    "line",
    [
        "sending to 0912345678 now",
        "recipient=84912345678",
        "phone +84912345678,",
        "phone 0912 345 678 grouped",
        "phone 0912.345.678 dotted",
        "magic 84999000108 fails",
        "(0387654321)",
    ],
)
def test_vietnamese_mobiles_in_every_spelling_are_found(line):
    assert [f.kind for f in scan_text(line)] == ["phone"]


@pytest.mark.parametrize("line", ["cccd 001099012345 in a message", "id=034203001234;"])
def test_twelve_digit_citizen_ids_are_found(line):
    assert [f.kind for f in scan_text(line)] == ["citizen_id"]


@pytest.mark.parametrize(
    "line",
    [
        "access_token: sim-at-" + "ab12" * 12,
        "refresh sim-rt-" + "0f" * 24,
        "code=sim-code-" + "9" * 32,
        "token sim-demo-access-token used",
    ],
)
def test_simulator_token_shapes_are_found(line):
    assert [f.kind for f in scan_text(line)] == ["token"]


@pytest.mark.parametrize(
    "line",
    [
        "[2026-11-28 05:00:47,845] [24795] [INFO] Worker ready",
        "subscriber 3f0912345678ab9c0912345678d1 pseudonym",
        "tracking_id=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "event 0b1d2c3e-0912-4567-8abc-091234567890 applied",
        "dossier 000.00.49.H22-261128-0001 offset 123456",
        "epoch_ms 1732771234567 and 13 digits 1234567890123",
        "elapsed_s 12.34 partitions {0: 12, 1: 9}",
    ],
)
def test_ids_hashes_timestamps_and_offsets_are_not_mistaken_for_personal_data(line):
    assert scan_text(line) == []


def test_literal_secrets_given_by_the_caller_are_found_and_short_ones_ignored():
    found = scan_text("sasl password hunter2-secret in a line\nx", secrets=["hunter2-secret", "", "ab"])
    assert [(f.line, f.kind) for f in found] == [(1, "secret")]


def test_findings_are_masked_so_the_report_does_not_repeat_the_data():
    (finding,) = scan_text("to 0912345678", path="w.log")
    assert "0912345678" not in str(finding)
    assert finding.masked == mask("0912345678") == "09******78"
    assert str(finding).startswith("w.log:1: phone")


def test_scan_paths_walks_folders_for_log_files_only(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "worker.log").write_text("ok\nsent to +84912345678\n")
    (tmp_path / "logs" / "data.json").write_text('{"phone": "0912345678"}')
    (tmp_path / "clean.log").write_text("nothing here\n")
    found = scan_paths([tmp_path])
    assert [(f.path.endswith("worker.log"), f.line, f.kind) for f in found] == [(True, 2, "phone")]
