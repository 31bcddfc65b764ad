"""A table-recovery step Kafka does not answer in time makes the worker exit, not go quiet for good.

Faust's recovery service runs every step of a rebalance (highwaters, offsets, the seek of the stream partitions
to their committed offsets) under ``broker_request_timeout``, and takes a step that times out for the service
being stopped: its loop ends, and no later rebalance is ever recovered. The worker stays in its group, holds its
partitions and processes nothing; its consumer lag grows while its health check only says "not ready". A broker
outage longer than the timeout that starts during a rebalance does exactly this (seen in ``hoso chaos``: the
broker went down during the seek, and the worker never resumed). The worker exits instead, and its restart
rejoins the group and recovers afresh.
"""

from __future__ import annotations

from typing import Any

from faust.tables import TableManager
from faust.tables.recovery import Recovery, ServiceStopped

from streams import batching


class ExitingRecovery(Recovery):
    """Faust's recovery, exiting the worker when a step gets no answer instead of ending the recovery loop."""

    async def _wait(self, coro: Any, timeout: Any = None) -> None:  # noqa: ASYNC109 - Faust's signature
        try:
            await super()._wait(coro, timeout=timeout)
        except ServiceStopped:
            if self.should_stop or self.app.should_stop:
                raise
            batching.exit_worker(f"a table recovery step got no answer from Kafka within {timeout}s")


class GuardedTableManager(TableManager):
    """Faust's table manager with the exiting recovery."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = ExitingRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
