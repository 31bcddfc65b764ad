"""Starting and stopping hoso's own processes (simulator, workers, dispatchers) for the demo and tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hoso.errors import HosoError


def free_port() -> int:
    """A free TCP port on loopback (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until something listens on ``port``; fail early if ``proc`` dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise HosoError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise HosoError(f"nothing listening on port {port} after {timeout:.0f}s")


@dataclass
class Process:
    """A ``hoso`` subcommand running as a child process, its output in a log file."""

    name: str
    args: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> Process:
        """Launch ``python -m hosoctl.cli <args>`` in its own process group."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "hosoctl.cli", *self.args],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def alive(self) -> bool:
        """Whether it is still running."""
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int:
        """Its process id."""
        assert self.popen is not None
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL, no goodbye: what a crash looks like."""
        if self.alive:
            os.killpg(self.pid, signal.SIGKILL)
            assert self.popen is not None
            self.popen.wait()

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (drain and commit), then SIGKILL after ``timeout``; returns the exit code."""
        if self.popen is None:
            return None
        if self.alive:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait()
        return self.popen.returncode

    def tail(self, lines: int = 30) -> str:
        """The end of its log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
