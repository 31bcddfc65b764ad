"""The JSON Schema files integrators read must be exactly what the models produce."""

from __future__ import annotations

import pytest

from schemas.export import EXPORTED, JSON_DIR, render


@pytest.mark.parametrize("filename", sorted(EXPORTED))
def test_schema_file_matches_the_model(filename):
    path = JSON_DIR / filename
    assert path.exists(), f"{path} missing: run `make schemas`"
    assert path.read_bytes() == render(EXPORTED[filename]), f"{filename} drifted: run `make schemas`"
