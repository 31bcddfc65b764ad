"""The simulator's live parts wired together: clock, tokens, faults, state, receipts.

Handlers and control endpoints share one ``Simulator``; keeping the wiring here
lets app.py stay a route table and lets tests poke at the parts directly
(``RunningSimulator.simulator``).
"""

from __future__ import annotations

import random

import orjson

from zalo_simulator.clock import SimClock
from zalo_simulator.config import OAConfig, SimulatorConfig
from zalo_simulator.faults import FaultInjector, FaultSpec
from zalo_simulator.feedback import Rating, build_feedback
from zalo_simulator.receipts import ReceiptSender
from zalo_simulator.state import ZBS_SEND_ENDPOINTS, SimState
from zalo_simulator.tokens import TokenStore


class Simulator:
    """One simulated Zalo: all mutable state of a running simulator lives here."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.clock = SimClock(config.clock)
        seed = config.seed
        self.faults = FaultInjector(config.faults, seed)
        self._ids_rng = random.Random(None if seed is None else seed + 2)
        self._token_rng = random.Random(None if seed is None else seed + 3)
        self.state = SimState(self._ids_rng)
        self.tokens = TokenStore(
            config.oas, self.clock, self.access_token_ttl, config.refresh_token_ttl_s, self._token_rng
        )
        self.receipts: ReceiptSender | None = (
            ReceiptSender(config.webhook_url, config, self.clock, self.state.note_receipt)
            if config.webhook_url
            else None
        )

    def access_token_ttl(self) -> float:
        """Current access-token lifetime: the fault override, else the configured one."""
        override = self.faults.spec.token_ttl_s
        return self.config.access_token_ttl_s if override is None else override

    def daily_quota(self, oa: OAConfig) -> int:
        """The OA's phone-send quota per day: the fault override, else its own."""
        override = self.faults.spec.quota
        return oa.daily_quota if override is None else override

    def set_faults(self, spec: FaultSpec) -> None:
        """Change fault injection at run time."""
        self.faults.set_spec(spec)

    def reset(self, *, tokens: bool = False) -> None:
        """Forget recorded traffic and counters; optionally restore the initial tokens."""
        self.state.reset()
        self.faults.reset()
        if tokens:
            self.tokens.reset()

    async def rate(self, message: str, rating: Rating) -> dict[str, object]:
        """The recipient of ZBS message ``message`` (its msg_id or tracking id) rates it: post ``user_feedback``.

        Raises LookupError for an unknown or non-ZBS message and RuntimeError without a webhook; returns the
        event posted and the webhook's last HTTP status.
        """
        if self.receipts is None:
            raise RuntimeError("no webhook_url configured: nowhere to post the rating")
        found = self.state.lookup(message)
        if found is None:
            seqs = [i for i, m in enumerate(self.state.messages) if m.tracking_id == message]
            found = (seqs[-1], self.state.messages[seqs[-1]]) if seqs else None
        if found is None or found[1].endpoint not in ZBS_SEND_ENDPOINTS:
            raise LookupError(f"no ZBS message with msg_id or tracking_id {message!r}")
        seq, m = found
        oa = self.tokens.oas[m.oa_id].config
        now_ms = self.clock.now_ms()
        body = build_feedback(oa, m.recipient, self.state.message_id(seq), m.tracking_id, rating, now_ms, now_ms)
        status = await self.receipts.post_event(oa, body, str(now_ms))
        return {"event": orjson.loads(body), "webhook_status": status}
