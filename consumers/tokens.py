"""OA access tokens: durable, refreshed before expiry and on rejection, one refresh at a time per OA.

Zalo's refresh token is single-use and rotates with every refresh: two refreshes racing with the same
refresh token lose the OA (an admin must grant access again). So:

* within a process, refreshes of one OA are single-flight (an asyncio lock; a caller whose rejected token
  was already replaced just takes the new one);
* across dispatcher processes, only the *token leader* refreshes: the dispatcher that owns partition 0 of
  the notifications topic in the consumer group. The group protocol revokes a partition before assigning it
  elsewhere, so two live members never both own it; a non-leader that meets a rejected token waits for the
  leader's new pair to appear on the token topic instead of refreshing itself;
* the new pair is written to the compacted ``oa-tokens`` topic (acks=all) *before* it is used, so a crash
  right after a refresh cannot lose it, and restarted dispatchers start from the latest pair.

A refresh that Zalo refuses (-140xx) pauses the OA: its messages are parked in Kafka (the deferred topic)
until an operator re-authorises it, and ``hoso_oa_paused`` goes to 1.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from consumers.zalo.client import TokenRefreshFailed, ZaloClient
from hoso import metrics
from hoso.accounts import OARegistry
from hoso.errors import RetryableDelivery

log = logging.getLogger("hoso.tokens")

# Never abandon a refresh call early: if Zalo rotated the pair and the answer is lost, the OA is lost.
REFRESH_TIMEOUT_S = 60.0
LEADER_WAIT_S = 30.0
SAVE_RETRY_S = 2.0
REQUEST_SUFFIX = "#refresh-request"


@dataclass(frozen=True)
class TokenState:
    """The current pair of one OA. ``expires_at`` is None while unknown (a configured initial token)."""

    access_token: str
    refresh_token: str
    expires_at: float | None
    lifetime_s: float | None
    version: int

    def to_bytes(self) -> bytes:
        """Serialised form on the token topic."""
        return orjson.dumps(asdict(self))

    @classmethod
    def from_bytes(cls, raw: bytes) -> TokenState:
        """Inverse of ``to_bytes``."""
        data: dict[str, Any] = orjson.loads(raw)
        return cls(**data)


class TokenStore:
    """The compacted token topic: read fully at start, tailed for other dispatchers' refreshes."""

    def __init__(self, client_config: dict[str, Any], topic: str) -> None:
        self._config = client_config
        self._topic = topic
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> dict[str, TokenState]:
        """Connect and return the latest state of every OA found on the topic."""
        self._producer = AIOKafkaProducer(**self._config, acks="all", enable_idempotence=True)
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(**self._config, enable_auto_commit=False, group_id=None)
        await self._consumer.start()
        tp = TopicPartition(self._topic, 0)
        self._consumer.assign([tp])
        await self._consumer.seek_to_beginning(tp)
        end = (await self._consumer.end_offsets([tp]))[tp]
        states: dict[str, TokenState] = {}
        while await self._consumer.position(tp) < end:
            batch = await self._consumer.getmany(tp, timeout_ms=1000)
            for record in batch.get(tp, []):
                key = record.key.decode() if record.key else ""
                if key and REQUEST_SUFFIX not in key and record.value:
                    states[key] = TokenState.from_bytes(record.value)
        return states

    async def updates(self) -> tuple[dict[str, TokenState], dict[str, int]]:
        """New states, and refresh requests (OA -> version asked to be replaced), since the last call."""
        assert self._consumer is not None
        states: dict[str, TokenState] = {}
        requests: dict[str, int] = {}
        for records in (await self._consumer.getmany(timeout_ms=1000)).values():
            for record in records:
                key = record.key.decode() if record.key else ""
                if not key or not record.value:
                    continue
                if key.endswith(REQUEST_SUFFIX):
                    requests[key.removesuffix(REQUEST_SUFFIX)] = int(orjson.loads(record.value)["version"])
                else:
                    states[key] = TokenState.from_bytes(record.value)
        return states, requests

    async def request_refresh(self, oa_id: str, version: int) -> None:
        """Ask the token leader to replace ``version`` (a separate key, so compaction keeps the pair)."""
        assert self._producer is not None
        value = orjson.dumps({"version": version})
        await self._producer.send_and_wait(self._topic, key=(oa_id + REQUEST_SUFFIX).encode(), value=value)

    async def save(self, oa_id: str, state: TokenState) -> None:
        """Durably write a new state (returns after the broker acknowledged it)."""
        assert self._producer is not None
        await self._producer.send_and_wait(self._topic, key=oa_id.encode(), value=state.to_bytes())

    async def stop(self) -> None:
        """Close the clients."""
        for client in (self._consumer, self._producer):
            if client is not None:
                await client.stop()


class TokenManager:
    """Current access token per OA, refreshes, and the paused set."""

    def __init__(
        self,
        registry: OARegistry,
        client: ZaloClient,
        store: TokenStore,
        *,
        margin_s: float,
        is_leader: Callable[[], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry
        self._client = client
        self._store = store
        self._margin_s = margin_s
        self._is_leader = is_leader
        self._clock = clock
        self._states: dict[str, TokenState] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._changed = asyncio.Condition()
        self.paused: dict[str, str] = {}
        self.refreshes = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Load stored tokens (newest wins over configured ones) and start the background loops."""
        stored = await self._store.start()
        for oa in self._registry.oas.values():
            self._states[oa.oa_id] = stored.get(oa.oa_id) or TokenState(
                oa.access_token, oa.refresh_token, None, None, 0
            )
            metrics.OA_PAUSED.labels(oa.oa_id).set(0)
        self._tasks = [asyncio.create_task(self._follow()), asyncio.create_task(self._renew())]

    async def stop(self) -> None:
        """Stop background loops and close the store."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._store.stop()

    def token(self, oa_id: str) -> str:
        """The access token to use now."""
        return self._states[oa_id].access_token

    def expires_in(self, oa_id: str) -> float | None:
        """Seconds until the current token expires, when known."""
        state = self._states[oa_id]
        return None if state.expires_at is None else state.expires_at - self._clock()

    async def refresh(self, oa_id: str, rejected: str | None = None) -> str:
        """A token newer than ``rejected``: refresh it (leader) or wait for the leader's new pair."""
        lock = self._locks.setdefault(oa_id, asyncio.Lock())
        async with lock:
            current = self._states[oa_id]
            if rejected is not None and current.access_token != rejected:
                return current.access_token  # someone already replaced it
            if oa_id in self.paused:
                raise TokenRefreshFailed(f"OA {oa_id} is paused: {self.paused[oa_id]}")
            if not self._is_leader():
                await self._store.request_refresh(oa_id, current.version)
                return await self._wait_for_newer(oa_id, current.version)
            return await self._do_refresh(oa_id, current)

    async def quiesce(self) -> None:
        """Wait for refreshes in progress (before giving up token leadership in a rebalance)."""
        for lock in list(self._locks.values()):
            async with lock:
                pass

    async def _do_refresh(self, oa_id: str, current: TokenState) -> str:
        oa = self._registry.get(oa_id)
        try:
            pair = await asyncio.wait_for(
                self._client.refresh(
                    app_id=oa.app_id,
                    secret_key=oa.secret_key,
                    refresh_token=current.refresh_token,
                    timeout=REFRESH_TIMEOUT_S,
                ),
                REFRESH_TIMEOUT_S,
            )
        except TokenRefreshFailed as exc:
            self.paused[oa_id] = str(exc)
            metrics.OA_PAUSED.labels(oa_id).set(1)
            metrics.TOKEN_REFRESHES.labels(oa_id, "refused").inc()
            log.error("OA %s paused: %s; an OA admin must grant access again", oa_id, exc)
            raise
        except (RetryableDelivery, TimeoutError) as exc:
            metrics.TOKEN_REFRESHES.labels(oa_id, "transient_failure").inc()
            raise RetryableDelivery(f"token refresh for {oa_id} failed: {exc}") from exc
        now = self._clock()
        new = TokenState(
            pair.access_token, pair.refresh_token, now + pair.expires_in, pair.expires_in, current.version + 1
        )
        # Zalo has already rotated the pair: keep it in memory at once, and do not use it (nor release the
        # lock) before it is durable, however long Kafka takes.
        self._states[oa_id] = new
        while True:
            try:
                await self._store.save(oa_id, new)
                break
            except Exception:
                log.exception("cannot store the new token pair of %s yet; retrying", oa_id)
                await asyncio.sleep(SAVE_RETRY_S)
        self.refreshes += 1
        metrics.TOKEN_REFRESHES.labels(oa_id, "ok").inc()
        metrics.TOKEN_EXPIRES_IN.labels(oa_id).set(pair.expires_in)
        log.info("OA %s token refreshed (version %d, lifetime %.0fs)", oa_id, new.version, pair.expires_in)
        async with self._changed:
            self._changed.notify_all()
        return new.access_token

    async def _wait_for_newer(self, oa_id: str, version: int) -> str:
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._states[oa_id].version > version), LEADER_WAIT_S
                )
            except TimeoutError:
                raise RetryableDelivery(f"no new token for {oa_id} from the token leader yet") from None
        return self._states[oa_id].access_token

    async def _follow(self) -> None:
        """Pick up pairs written by other dispatchers, and (as leader) answer their refresh requests."""
        while True:
            try:
                updates, requests = await self._store.updates()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading the token topic failed; retrying")
                await asyncio.sleep(1.0)
                continue
            for oa_id, version in requests.items():
                state = self._states.get(oa_id)
                if state is not None and state.version == version and self._is_leader() and oa_id not in self.paused:
                    self._tasks.append(asyncio.create_task(self._answer(oa_id, state.access_token)))
            if not updates:
                continue
            for oa_id, state in updates.items():
                if oa_id in self._states and state.version > self._states[oa_id].version:
                    self._states[oa_id] = state
                    if self.paused.pop(oa_id, None) is not None:  # an operator stored a newly granted pair
                        metrics.OA_PAUSED.labels(oa_id).set(0)
                        log.info("OA %s resumed with a newly stored token pair", oa_id)
            async with self._changed:
                self._changed.notify_all()

    async def _answer(self, oa_id: str, rejected: str) -> None:
        try:
            await self.refresh(oa_id, rejected=rejected)
        except Exception:
            log.warning("refresh requested by another dispatcher for %s failed", oa_id, exc_info=True)

    async def _renew(self) -> None:
        """Refresh ahead of expiry (the leader only); keep the expiry gauge current."""
        while True:
            await asyncio.sleep(1.0)
            for oa_id, state in list(self._states.items()):
                left = self.expires_in(oa_id)
                if left is None:
                    continue
                metrics.TOKEN_EXPIRES_IN.labels(oa_id).set(max(0.0, left))
                margin = min(self._margin_s, (state.lifetime_s or self._margin_s) * 0.2)
                if left < margin and self._is_leader() and oa_id not in self.paused:
                    try:
                        await self.refresh(oa_id, rejected=state.access_token)
                    except Exception:  # the next send will meet the rejection and retry the refresh
                        log.warning("ahead-of-expiry refresh of %s failed", oa_id, exc_info=True)
