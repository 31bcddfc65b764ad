"""The live stack around the Faust worker for broker tests: Zalo simulator, webhook receiver, dispatcher, agency.

The worker itself is started by the test (``tests.integration.workers``): some tests kill and restart it,
some share one for a whole module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from consumers.dispatcher import Dispatcher
from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from producers.publisher import Publisher
from producers.webhook import WebhookReceiver
from zalo_simulator import SimulatorConfig, start

CS = "/v3.0/oa/message/cs"
"""The simulator endpoint of OA consultation messages (what a citizen reads in the OA chat)."""
ZBS = "/message/template"
"""The simulator endpoint of ZBS template messages (sent to a phone number)."""


@dataclass
class Stack:
    """One test's view of the stack: its settings (pointed at the simulator), the receiver's URL, the simulator
    and an agency publishing dossier events."""

    settings: Settings
    url: str
    sim: Any
    publisher: Publisher

    def to_user(self, user: str) -> list[str]:
        """The OA chat messages Zalo accepted for ``user``, oldest first."""
        return [m.text or "" for m in self.sim.state.messages if m.endpoint == CS and m.recipient == user]


@asynccontextmanager
async def zalo_stack(settings: Settings, *, receipts: bool = True, **overrides: Any) -> AsyncIterator[Stack]:
    """The webhook receiver, the simulator (posting signed ZNS delivery receipts to the receiver, as Zalo would,
    when ``receipts``), a dispatcher and a publisher, with ``settings`` pointed at the simulator plus ``overrides``."""
    receiver = WebhookReceiver(settings)
    url = await receiver.start(host="127.0.0.1", port=0)
    config = SimulatorConfig(receipt_delay_s=0.05, webhook_url=url) if receipts else SimulatorConfig()
    async with await start(config) as sim:
        scoped = settings.replace(zalo_zbs_url=sim.url, zalo_oa_url=sim.url, zalo_oauth_url=sim.url, **overrides)
        dispatcher = Dispatcher(scoped)
        dispatching = asyncio.create_task(dispatcher.run())
        publisher = Publisher(kafka_python(scoped), scoped.topics.dossier_events.name)
        try:
            yield Stack(scoped, url, sim, publisher)
        finally:
            publisher.close()
            dispatcher.stop()
            await dispatching
            await receiver.stop()
