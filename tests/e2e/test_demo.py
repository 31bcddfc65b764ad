"""`hoso demo` end to end: real broker, Faust worker, dispatcher and simulator as separate processes."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest

pytestmark = pytest.mark.e2e


def run_demo(kafka_bootstrap: str, tmp_path, *args: str, timeout: float = 300) -> dict:
    env = {**os.environ, "KAFKA_BOOTSTRAP": kafka_bootstrap, "HOSO_KAFKA_HOME": str(tmp_path / "kafka")}
    proc = subprocess.run(
        [sys.executable, "-m", "hosoctl.cli", "demo", "--json", *args],
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    lines = proc.stdout.decode().strip().splitlines()
    assert lines, f"no output; stderr:\n{proc.stderr.decode()[-3000:]}"
    summary = orjson.loads(lines[-1])
    summary["_exit"] = proc.returncode
    summary["_stderr"] = proc.stderr.decode()[-3000:]
    return summary


def test_demo_delivers_every_expected_notification_exactly_once(kafka_bootstrap, tmp_path):
    s = run_demo(kafka_bootstrap, tmp_path, "--dossiers", "25", "--seed", "7")
    assert s["_exit"] == 0, s["_stderr"]
    assert s["events_published"] > 25 * 3
    assert s["notifications_expected"] > 25
    assert s["notifications_delivered"] == s["notifications_expected"]
    assert s["lost"] == 0 and s["duplicates"] == 0 and s["unexpected"] == 0
    assert s["invalid"] == 2, "the two malformed records end on the invalid-events topic"
    # The agency's national-format payloads went through the gateway and were reconciled with the rest.
    assert s["national_events"] == 3
    # The citizen's three commands were each answered by the OA (whatever the wording), and the area alert
    # reached both national-format citizens' phones.
    typed = [line["text"] for line in s["conversation"] if line["who"] == "citizen"]
    assert [t.split()[0] for t in typed] == ["DK", "tc", "Huỷ"] and s["chat_answers"] >= 3
    assert s["alerts_delivered"] >= 2
    assert "WARNING" not in s["_stderr"] and "Traceback" not in s["_stderr"], s["_stderr"]
    assert set(s) >= {
        "events_published",
        "notifications_expected",
        "notifications_delivered",
        "duplicates",
        "lost",
        "invalid",
        "elapsed_s",
    }
