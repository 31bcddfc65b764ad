"""Each province speaks through its own Official Account; unclaimed provinces use the default OA."""

from __future__ import annotations

import orjson

from hoso.settings import Settings
from streams.rules import Rules


def test_notifications_are_routed_to_the_oa_of_the_dossiers_province(tmp_path):
    oa_file = tmp_path / "oas.json"
    oa_file.write_bytes(
        orjson.dumps(
            {
                "default_oa": "oa-quangninh",
                "oas": [
                    {"oa_id": "oa-quangninh", "app_id": "a1", "secret_key": "s1", "provinces": ["22"]},
                    {"oa_id": "oa-quangtri", "app_id": "a2", "secret_key": "s2", "provinces": ["44"]},
                ],
            }
        )
    )
    rules = Rules.from_settings(Settings.from_env({"HOSO_OA_CONFIG": str(oa_file)}))
    assert rules.oa_for("44") == "oa-quangtri"
    assert rules.oa_for("22") == "oa-quangninh"
    assert rules.oa_for("79") == "oa-quangninh"
