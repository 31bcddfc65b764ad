"""No personal data or token in what the pipeline logs: run the demo once at DEBUG, then scan every log it wrote.

The demo's events carry real-looking phone numbers (in every spelling), names and citizen-id hashes, and the
dispatcher holds a Zalo access token; none of it may appear in the worker, dispatcher or simulator logs, nor
in the demo's own output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from hoso.settings import Settings
from hosoctl.logscan import Finding, scan_paths, scan_text

pytestmark = pytest.mark.e2e

DEBUG_LINE = re.compile(r"\[DEBUG\]| DEBUG ")


@dataclass
class DemoLogs:
    folder: Path
    findings: list[Finding]


@pytest.fixture(scope="module")
def demo_logs(kafka_bootstrap, tmp_path_factory) -> DemoLogs:
    home = tmp_path_factory.mktemp("logscan") / "kafka"
    env = {**os.environ, "KAFKA_BOOTSTRAP": kafka_bootstrap, "HOSO_KAFKA_HOME": str(home), "HOSO_LOG_LEVEL": "DEBUG"}
    proc = subprocess.run(
        [sys.executable, "-m", "hosoctl.cli", "demo", "--json", "--dossiers", "15", "--seed", "5"],
        env=env, capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    run_id = orjson.loads(proc.stdout.decode().strip().splitlines()[-1])["run_id"]
    folder = home.parent / "demo" / run_id / "logs"
    token = Settings.from_env().zalo_access_token.get_secret_value()
    findings = scan_paths([folder], secrets=[token])
    findings += scan_text(proc.stderr.decode(errors="replace"), secrets=[token], path="demo stderr")
    return DemoLogs(folder, findings)


def _line(f: Finding) -> str:
    if not f.path.endswith(".log"):
        return ""
    return Path(f.path).read_text(errors="replace").splitlines()[f.line - 1]


def test_every_process_of_the_demo_wrote_a_log(demo_logs):
    roles = ["dispatcher.log", "gateway.log", "simulator.log", "webhook.log", "worker.log"]
    # demo.log holds the demo's own library chatter (kept off the terminal); it may be empty.
    assert sorted(p.name for p in demo_logs.folder.glob("*.log")) == sorted(["demo.log", *roles])
    assert all((demo_logs.folder / name).stat().st_size > 0 for name in roles)


def test_no_phone_citizen_id_or_token_is_logged_at_info_and_above(demo_logs):
    leaks = [f for f in demo_logs.findings if not DEBUG_LINE.search(_line(f))]
    assert not leaks, [str(f) for f in leaks[:10]]


def test_no_phone_citizen_id_or_token_is_logged_even_at_debug(demo_logs):
    assert not demo_logs.findings, [str(f) for f in demo_logs.findings[:10]]
