"""Running the simulator as a process: readiness line, health, clean SIGTERM shutdown."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_process_prints_listening_line_and_stops_cleanly_on_sigterm():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zalo_simulator", "--port", "0", "--faults", "latency=fixed:1ms", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    try:
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"zalo-simulator listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        url = match.group(1)
        assert httpx.get(f"{url}/_sim/health", timeout=5).json()["status"] == "ok"
        assert httpx.get(f"{url}/_sim/faults", timeout=5).json()["latency_fixed"] is True
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
