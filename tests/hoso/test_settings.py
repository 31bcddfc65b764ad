"""Settings come from the environment, with documented defaults and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from hoso.errors import ConfigurationError
from hoso.settings import Settings, describe


def test_defaults_point_at_the_local_broker_and_the_simulator():
    s = Settings.from_env({})
    assert s.local_broker and s.bootstrap == "127.0.0.1:19092"
    assert s.zalo_zbs_url.startswith("http://127.0.0.1")


def test_kafka_bootstrap_switches_to_an_existing_cluster():
    s = Settings.from_env({"KAFKA_BOOTSTRAP": "k1:9092,k2:9092"})
    assert not s.local_broker and s.bootstrap == "k1:9092,k2:9092"


def test_values_are_converted_to_their_types():
    s = Settings.from_env({"HOSO_PARTITIONS": "16", "HOSO_ZALO_TIMEOUT_S": "2.5", "HOSO_STATE_DIR": "~/x"})
    assert s.partitions == 16 and s.zalo_timeout_s == 2.5 and s.state_dir == Path.home() / "x"


def test_bad_values_name_the_variable():
    with pytest.raises(ConfigurationError, match="HOSO_PARTITIONS='many'"):
        Settings.from_env({"HOSO_PARTITIONS": "many"})
    with pytest.raises(ConfigurationError, match="HOSO_PARTITIONS must be >= 1"):
        Settings.from_env({"HOSO_PARTITIONS": "0"})


def test_to_env_reproduces_the_settings_in_a_child_process():
    s = Settings.from_env({"HOSO_TOPIC_PREFIX": "t1", "HOSO_PARTITIONS": "3"})
    assert Settings.from_env(s.to_env()) == s


def test_every_setting_is_documented():
    rows = describe()
    assert all(doc and env for env, _, doc in rows)
    assert len({env for env, _, _ in rows}) == len(rows)


def test_readme_configuration_table_matches_the_settings():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for env, default, doc in describe():
        assert f"| `{env}` | `{default}` | {doc} |" in readme, f"README row for {env} is out of date"


SECRETS = {
    "HOSO_KAFKA_SASL_PASSWORD": "sasl-pw-7f3a",
    "HOSO_PSEUDONYM_KEY": "pseudo-key-91c2",
    "HOSO_ZALO_ACCESS_TOKEN": "zalo-token-55e0",
    "HOSO_ZALO_OA_SECRET_KEYS": "oa-old-1b9d, oa-new-c4e8",
    "HOSO_OPERATOR_KEY": "operator-key-0d6f",
}


def _hoso_settings(extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSO_")} | extra_env
    done = subprocess.run(
        [sys.executable, "-m", "hosoctl.cli", "settings"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_hoso_settings_never_prints_a_secret():
    out = _hoso_settings(SECRETS)
    for value in SECRETS.values():
        for part in value.split(","):
            assert part.strip() not in out
    assert "HOSO_KAFKA_SASL_PASSWORD=**********" in out
    assert "HOSO_TOPIC_PREFIX=hoso" in out, "ordinary settings are still shown"


def test_a_one_letter_sasl_password_is_not_shown_either():
    lines = _hoso_settings({"HOSO_KAFKA_SASL_PASSWORD": "x"}).splitlines()
    [line] = [line for line in lines if line.startswith("HOSO_KAFKA_SASL_PASSWORD=")]
    assert line == "HOSO_KAFKA_SASL_PASSWORD=**********"
    assert "x" not in line


def test_an_empty_secret_says_so_without_a_value():
    assert Settings.from_env({"HOSO_OPERATOR_KEY": ""}).shown_env()["HOSO_OPERATOR_KEY"] == "(empty)"


def test_secrets_stay_masked_in_reprs_and_errors_but_reach_child_processes():
    s = Settings.from_env(SECRETS)
    assert not any(v in repr(s) or v in str(s) for v in SECRETS.values())
    assert s.kafka_sasl_password.get_secret_value() == "sasl-pw-7f3a"
    assert {k: s.to_env()[k] for k in SECRETS} == SECRETS
    assert Settings.from_env(s.to_env()) == s


def test_every_secret_setting_is_typed_secret():
    fields = {info.validation_alias: info.annotation for info in Settings.model_fields.values()}
    assert all(fields[env] is SecretStr for env in SECRETS)


def test_replace_validates_and_wraps_secrets():
    s = Settings.from_env({}).replace(operator_key="op-key", partitions="3")
    assert isinstance(s.operator_key, SecretStr) and s.operator_key.get_secret_value() == "op-key"
    assert s.partitions == 3
    with pytest.raises(ValueError, match="partitions"):
        Settings.from_env({}).replace(partitions="several")
    with pytest.raises(TypeError, match="partition_count"):
        Settings.from_env({}).replace(partition_count=3)


def test_a_careless_environment_is_read_the_way_it_was_meant():
    s = Settings.from_env({"HOSO_PARTITIONS": " 4 ", "HOSO_SETTLE_S": "2", "HOSO_KAFKA_HOME": "~/k"})
    assert s.partitions == 4 and s.settle_s == 2.0 and s.kafka_home == Path.home() / "k"
    with pytest.raises(ConfigurationError, match="HOSO_ZALO_TIMEOUT_S='ten'"):
        Settings.from_env({"HOSO_ZALO_TIMEOUT_S": "ten"})


def test_the_accounts_are_read_once_per_settings_object(tmp_path):
    s = Settings.from_env({})
    assert s.accounts is s.accounts and s.accounts.default_oa == "hoso-demo-oa"
    bad = tmp_path / "oas.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigurationError, match="HOSO_OA_CONFIG"):
        _ = Settings.from_env({"HOSO_OA_CONFIG": str(bad)}).accounts


def test_a_secret_left_at_its_public_demo_value_is_pointed_out():
    shown = Settings.from_env({}).shown_env()
    assert shown["HOSO_PSEUDONYM_KEY"].startswith("**********") and "demo value" in shown["HOSO_PSEUDONYM_KEY"]
    assert Settings.from_env(SECRETS).shown_env()["HOSO_PSEUDONYM_KEY"] == "**********"
