"""The ZNS template catalogue: packaged default, per-OA overrides, and a clear failure at start-up."""

from __future__ import annotations

import orjson
import pytest

from hoso.settings import Settings
from schemas.dossier_event import Status
from streams import template_catalogue as catalogue
from streams.app import build
from streams.notify import NOTIFY
from streams.template_catalogue import CatalogueError, Template


def test_the_packaged_catalogue_covers_every_announced_status_and_alerts():
    cat = catalogue.load(None, NOTIFY)
    assert set(cat.default) == {s.value for s in NOTIFY} | {"ALERT", "OTP"}
    assert cat.template("any-oa", "RECEIVED").template_id == "hoso-received"


def test_an_oa_override_wins_and_other_statuses_fall_back_to_the_default():
    doc = orjson.loads(catalogue.packaged_path().read_bytes())
    doc["oas"] = {"oa-qn": {"RECEIVED": {"template_id": "412345", "params": {"customer_name": "ten_nguoi_dan"}}}}
    cat = catalogue.parse(doc, NOTIFY)
    assert cat.template("oa-qn", "RECEIVED") == Template("412345", {"customer_name": ("ten_nguoi_dan", 30)})
    assert cat.template("oa-qn", "STOPPED").template_id == "hoso-stopped"


def test_parameters_are_composed_to_nfc_and_cut_to_their_limit():
    t = Template("1", {"note": ("noi_dung", 12)})
    data = t.data({"noi_dung": "Hồ sơ đã được tiếp nhận".replace("ồ", "ồ")})
    assert len(data["note"]) <= 12 and data["note"].startswith("Hồ sơ")


def test_every_problem_is_reported_with_its_path():
    doc = {
        "default": {
            "RECEIVED": {"template_id": "bad id!", "params": {"x": "no_such_value"}},
            "NOT_A_STATUS": {"template_id": "1", "params": {"a": "ma_ho_so"}},
            "STOPPED": {"template_id": "2", "params": {"a": {"from": "ten_nguoi_dan", "max": 31}}},
        },
        "extra": 1,
    }
    with pytest.raises(CatalogueError) as err:
        catalogue.parse(doc, NOTIFY)
    message = str(err.value)
    for expected in (
        "default.RECEIVED.template_id",
        "default.RECEIVED.params.x: unknown value 'no_such_value'",
        "default.NOT_A_STATUS: not a status",
        "default.STOPPED.params.a.max: must be an integer from 1 to 30",
        "extra: unknown key",
        "default: no template for",
    ):
        assert expected in message


def test_a_bad_catalogue_stops_the_worker_at_start_up(tmp_path):
    bad = tmp_path / "catalogue.json"
    bad.write_text('{"default": {"RECEIVED": ')
    settings = Settings.from_env({"HOSO_STATE_DIR": str(tmp_path), "HOSO_TEMPLATE_CATALOGUE": str(bad)})
    with pytest.raises(CatalogueError, match="not valid JSON"):
        build(settings, store="memory://")
    with pytest.raises(CatalogueError, match="cannot read"):
        build(settings.replace(template_catalogue=str(tmp_path / "missing.json")), store="memory://")


def test_the_default_templates_keep_the_status_naming():
    cat = catalogue.load(None, NOTIFY)
    assert cat.template("x", Status.DUE_DATE_EXTENDED.value).template_id == "hoso-due-date-extended"
