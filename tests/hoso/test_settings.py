"""Settings come from the environment, with documented defaults and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

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
