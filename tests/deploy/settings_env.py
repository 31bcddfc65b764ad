"""The environment variable names hoso reads: every field of hoso.settings.Settings names one."""

from __future__ import annotations

import dataclasses

from hoso.settings import Settings


def declared_settings() -> set[str]:
    """Every environment variable hoso reads."""
    return {f.metadata["env"] for f in dataclasses.fields(Settings)}
