"""Hypothesis profiles of the fuzz campaign, kept here so other tests' hypothesis settings are untouched.

``ci`` (the default) generates at least 5,000 bad records for the validation path, derandomized so that CI
runs are repeatable; ``dev`` is a quick local pass; ``deep`` keeps searching with fresh randomness. Pick one
with ``FUZZ_PROFILE=dev``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


@dataclass(frozen=True)
class FuzzBudget:
    """How many inputs each fuzz property draws under one profile."""

    name: str
    bad: int
    valid: int
    huge: int
    broker_sample: int


BUDGETS = {
    "ci": FuzzBudget("ci", bad=5_000, valid=500, huge=40, broker_sample=300),
    "dev": FuzzBudget("dev", bad=500, valid=100, huge=8, broker_sample=120),
    "deep": FuzzBudget("deep", bad=50_000, valid=5_000, huge=200, broker_sample=600),
}

for _budget in BUDGETS.values():
    settings.register_profile(
        f"hoso-fuzz-{_budget.name}",
        deadline=None,
        suppress_health_check=_SLOW_OK,
        derandomize=_budget.name != "deep",
        database=None,
        print_blob=True,
    )


@pytest.fixture(scope="session")
def fuzz_budget() -> FuzzBudget:
    """The active budget (FUZZ_PROFILE, default ci)."""
    name = os.environ.get("FUZZ_PROFILE", "ci")
    if name not in BUDGETS:
        raise pytest.UsageError(f"FUZZ_PROFILE={name!r}: choose one of {sorted(BUDGETS)}")
    return BUDGETS[name]


@pytest.fixture(scope="session")
def fuzz_settings(fuzz_budget: FuzzBudget) -> settings:
    """Hypothesis settings of the active profile (examples are set per property from the budget)."""
    return settings.get_profile(f"hoso-fuzz-{fuzz_budget.name}")
