"""The environment variable names hoso reads: every field of hoso.settings.Settings names one."""

from __future__ import annotations

from hoso.settings import describe


def declared_settings() -> set[str]:
    """Every environment variable hoso reads."""
    return {env for env, _default, _doc in describe()}
