"""A table-recovery step that Kafka leaves unanswered exits the worker; Faust alone ends its recovery for good.

The step here is a coroutine that outlasts its timeout, as a seek or an offset fetch does while the broker is
down longer than ``broker_request_timeout``. The broker side of it was seen in ``hoso chaos``
(docs/reliability.md): a worker whose broker went down during the seek never resumed.
"""

from __future__ import annotations

import asyncio

import pytest
from faust.tables.recovery import Recovery, ServiceStopped

from hoso.settings import Settings
from streams.app import build
from streams.recovery_guard import ExitingRecovery


@pytest.fixture
def app():
    return build(Settings.from_env({"HOSO_QUIET_HOURS": ""}), store="memory://").app


async def test_faust_takes_a_step_that_times_out_for_the_service_being_stopped(app):
    """The defect: the recovery loop catches this and ends, and no later rebalance is recovered."""
    recovery = Recovery(app, app.tables)
    with pytest.raises(ServiceStopped):
        await recovery._wait(asyncio.sleep(5), timeout=0.05)


async def test_the_worker_exits_when_a_recovery_step_gets_no_answer(app, exits):
    recovery = app.tables.recovery
    assert isinstance(recovery, ExitingRecovery)
    with pytest.raises(asyncio.CancelledError):
        await recovery._wait(asyncio.sleep(5), timeout=0.05)
    assert exits == ["a table recovery step got no answer from Kafka within 0.05s"]


async def test_a_step_that_answers_in_time_goes_on(app, exits):
    await app.tables.recovery._wait(asyncio.sleep(0), timeout=5)
    assert exits == []


async def test_a_worker_that_is_stopping_stops_its_recovery_without_exiting(app, exits):
    recovery = app.tables.recovery
    recovery._stopped.set()
    with pytest.raises(ServiceStopped):
        await recovery._wait(asyncio.sleep(5), timeout=5)
    assert exits == []
