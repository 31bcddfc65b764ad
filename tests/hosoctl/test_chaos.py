"""The chaos plan: disruptions spread over the load, kills alternating, the broker restarted between kills."""

from __future__ import annotations

import pytest

from hoso.errors import ConfigurationError
from hosoctl.chaos import ChaosOptions, schedule


def test_kills_alternate_worker_and_dispatcher_and_the_broker_restart_sits_between_them():
    plan = schedule(ChaosOptions(duration_s=60, kills=3), broker_restarts=1)
    disruptions = [(a.kind, a.target) for a in plan if a.kind != "faults"]
    assert disruptions == [("kill", "worker"), ("kill", "dispatcher"), ("broker", ""), ("kill", "worker")]


def test_every_disruption_happens_while_the_load_runs_and_faults_are_lifted_before_it_ends():
    plan = schedule(ChaosOptions(duration_s=100, kills=4), broker_restarts=1)
    times = [a.at_s for a in plan]
    assert times == sorted(times) and times[0] > 0 and times[-1] < 100
    faults = [a for a in plan if a.kind == "faults"]
    assert faults[0].target != "none" and faults[-1].target == "none"
    assert all(faults[0].at_s < a.at_s < faults[-1].at_s for a in plan if a.kind != "faults")


def test_without_a_local_broker_nothing_restarts_it():
    plan = schedule(ChaosOptions(duration_s=60, kills=2), broker_restarts=0)
    assert [a.kind for a in plan if a.kind != "faults"] == ["kill", "kill"]


@pytest.mark.parametrize("bad", [{"duration_s": 0}, {"rate": -1}, {"kills": -1}])
def test_nonsense_options_are_refused_with_a_configuration_error(bad):
    with pytest.raises(ConfigurationError):
        ChaosOptions(**bad)
