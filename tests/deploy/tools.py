"""External tools the deployment tests run (prometheus, promtool, docker compose): found, or skipped outside CI.

On a developer's machine a missing tool skips its test; in CI (``CI=true``) .ci/run installs every one of them,
so a missing tool there is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def in_ci() -> bool:
    """Whether this run is CI's (where every tool must be present)."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_tool(name: str) -> str:
    """The path of executable ``name``; skips the test when it is missing, fails instead in CI."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (Debian package installed by .ci/run)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def compose_command() -> list[str]:
    """``docker compose`` (the v2 plugin) when it works, else Debian's ``docker-compose``; skip/fail as above."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    return [require_tool("docker-compose")]


def kustomize_command() -> list[str]:
    """``kustomize`` from PATH or from ``go install`` (GOPATH/bin, where .ci/run puts it); skip/fail as above."""
    path = shutil.which("kustomize")
    if path:
        return [path]
    gopath = Path(os.environ.get("GOPATH") or Path.home() / "go")
    installed = gopath / "bin" / "kustomize"
    if installed.is_file():
        return [str(installed)]
    return [require_tool("kustomize")]
