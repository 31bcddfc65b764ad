"""Fixtures the stream tests share."""

from __future__ import annotations

import asyncio

import pytest

from streams import batching


@pytest.fixture
def exits(monkeypatch) -> list[str]:
    """The reasons the streams stage gave for exiting the worker (the exit itself stopped where it happens)."""
    reasons: list[str] = []

    def fake_exit(reason: str) -> None:
        reasons.append(reason)
        raise asyncio.CancelledError  # stands in for os._exit: nothing after it runs

    monkeypatch.setattr(batching, "exit_worker", fake_exit)
    return reasons
