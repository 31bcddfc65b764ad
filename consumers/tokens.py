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

* fenced by the token record's version: before spending the refresh token of version *v*, the leader reads
  the token topic to its end and writes a *claim* for *v*; a leader that finds another member's recent
  claim for *v* (an old leader whose refresh was still running when partition 0 moved) waits for *v + 1*
  instead of spending the same single-use token;
* a non-leader asks the leader and waits for the new pair *without* holding the OA's lock (nor, in the
  dispatcher, a concurrency slot), so one OA's token trouble never blocks another OA's sends.

A refresh that Zalo refuses (-140xx) pauses the OA: the pause is written to the token topic (a durable,
shared fact every dispatcher follows), its messages are parked in Kafka until an operator stores a newly
granted pair, and ``hoso_oa_paused`` goes to 1. A damaged record on the topic is skipped with a warning: it
neither stops start-up nor costs the valid records read with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from consumers.zalo.client import TokenRefreshFailed, ZaloClient
from hoso import metrics
from hoso.accounts import OARegistry
from hoso.errors import RetryableDelivery
from hoso.kafka.producer import RenewingProducer

log = logging.getLogger("hoso.tokens")

# Never abandon a refresh call early: if Zalo rotated the pair and the answer is lost, the OA is lost.
REFRESH_TIMEOUT_S = 60.0
LEADER_WAIT_S = 30.0
SAVE_RETRY_S = 2.0
REQUEST_SUFFIX = "#refresh-request"
PAUSED_SUFFIX = "#paused"
CLAIM_SUFFIX = "#refresh-claim"
CATCH_UP_S = 5.0


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


@dataclass
class Updates:
    """What was read from the token topic since the last call."""

    states: dict[str, TokenState] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    paused: dict[str, tuple[int, str]] = field(default_factory=dict)  # OA -> (version paused, reason)
    claims: dict[str, tuple[int, str, float]] = field(default_factory=dict)  # OA -> (version, member, when)

    def add(self, key: str, value: bytes) -> None:
        """Sort one record in (raises on a damaged value; the caller skips it)."""
        if key.endswith(REQUEST_SUFFIX):
            self.requests[key.removesuffix(REQUEST_SUFFIX)] = int(orjson.loads(value)["version"])
        elif key.endswith(PAUSED_SUFFIX):
            data = orjson.loads(value)
            self.paused[key.removesuffix(PAUSED_SUFFIX)] = (int(data["version"]), str(data.get("reason", "")))
        elif key.endswith(CLAIM_SUFFIX):
            data = orjson.loads(value)
            claim = (int(data["version"]), str(data["member"]), float(data["at"]))
            self.claims[key.removesuffix(CLAIM_SUFFIX)] = claim
        else:
            self.states[key] = TokenState.from_bytes(value)


class TokenStore:
    """The compacted token topic: read fully at start, tailed for other dispatchers' refreshes."""

    def __init__(self, client_config: dict[str, Any], topic: str) -> None:
        self._config = client_config
        self._topic = topic
        self._producer: RenewingProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self.read_to = 0
        self.skipped = 0

    def _take(self, into: Updates, records: list[Any]) -> None:
        for record in records:
            self.read_to = max(self.read_to, record.offset + 1)
            key = record.key.decode(errors="replace") if record.key else ""
            if not key or not record.value:
                continue
            try:
                into.add(key, record.value)
            except Exception as exc:  # one damaged record must not cost the others
                self.skipped += 1
                log.warning("skipping a damaged record on the token topic at offset %d: %s", record.offset, exc)

    async def start(self) -> Updates:
        """Connect and return the latest state of every OA found on the topic (and pauses, claims)."""
        self._producer = RenewingProducer.idempotent(self._config, name="token store producer")
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(**self._config, enable_auto_commit=False, group_id=None)
        await self._consumer.start()
        tp = TopicPartition(self._topic, 0)
        self._consumer.assign([tp])
        await self._consumer.seek_to_beginning(tp)
        end = (await self._consumer.end_offsets([tp]))[tp]
        found = Updates()
        while await self._consumer.position(tp) < end:
            batch = await self._consumer.getmany(tp, timeout_ms=1000)
            self._take(found, batch.get(tp, []))
        found.requests.clear()  # old requests were answered (or will be asked again)
        return found

    async def updates(self) -> Updates:
        """Everything written since the last call."""
        assert self._consumer is not None
        found = Updates()
        for records in (await self._consumer.getmany(timeout_ms=1000)).values():
            self._take(found, records)
        return found

    async def end(self) -> int:
        """The topic's current end offset (to know when the follower has read everything written so far)."""
        assert self._consumer is not None
        tp = TopicPartition(self._topic, 0)
        return (await self._consumer.end_offsets([tp]))[tp]

    async def claim(self, oa_id: str, version: int, member: str, at: float) -> None:
        """Announce that ``member`` is about to spend the refresh token of ``version``."""
        assert self._producer is not None
        value = orjson.dumps({"version": version, "member": member, "at": at})
        await self._producer.send_and_wait(self._topic, key=(oa_id + CLAIM_SUFFIX).encode(), value=value)

    async def pause(self, oa_id: str, version: int, reason: str) -> None:
        """Record durably that the pair of ``version`` was refused: every dispatcher parks this OA."""
        assert self._producer is not None
        value = orjson.dumps({"version": version, "reason": reason})
        await self._producer.send_and_wait(self._topic, key=(oa_id + PAUSED_SUFFIX).encode(), value=value)

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
        self.member = secrets.token_hex(6)
        self._claims: dict[str, tuple[int, str, float]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Load stored tokens (newest wins over configured ones) and start the background loops."""
        stored = await self._store.start()
        for oa in self._registry.oas.values():
            self._states[oa.oa_id] = stored.states.get(oa.oa_id) or TokenState(
                oa.access_token, oa.refresh_token, None, None, 0
            )
            metrics.OA_PAUSED.labels(oa.oa_id).set(0)
        self._claims.update(stored.claims)
        self._apply_pauses(stored.paused)
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
            if self._is_leader():
                fenced = await self._fenced(oa_id, current)
                if not fenced:
                    return await self._do_refresh(oa_id, current)
            else:
                await self._store.request_refresh(oa_id, current.version)
        # Waiting for another member's new pair: outside the lock, so other callers are not queued behind it.
        return await self._wait_for_newer(oa_id, current.version)

    async def _fenced(self, oa_id: str, current: TokenState) -> bool:
        """Whether another member may be spending this version's refresh token (then wait, do not refresh).

        Reads the token topic to its end first, so a newer pair or another member's claim is seen; then
        writes this member's own claim before the refresh call.
        """
        end = await self._store.end()
        deadline = time.monotonic() + CATCH_UP_S
        while self._store.read_to < end:
            if time.monotonic() > deadline:
                raise RetryableDelivery(f"token topic not read to its end; not refreshing {oa_id} yet")
            await asyncio.sleep(0.05)
        if self._states[oa_id].version != current.version:
            return True
        claim = self._claims.get(oa_id)
        recent = claim is not None and self._clock() - claim[2] < REFRESH_TIMEOUT_S + LEADER_WAIT_S
        if claim is not None and recent and claim[0] == current.version and claim[1] != self.member:
            log.warning("OA %s: another dispatcher claimed token version %d; waiting for it", oa_id, claim[0])
            return True
        now = self._clock()
        await self._store.claim(oa_id, current.version, self.member, now)
        self._claims[oa_id] = (current.version, self.member, now)
        return not self._is_leader()  # leadership lost while claiming: do not spend the token

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
            with contextlib.suppress(Exception):  # others learn it from the topic; memory holds it here anyway
                await self._store.pause(oa_id, current.version, str(exc))
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
                    self._changed.wait_for(lambda: self._states[oa_id].version > version or oa_id in self.paused),
                    LEADER_WAIT_S,
                )
            except TimeoutError:
                raise RetryableDelivery(f"no new token for {oa_id} from the token leader yet") from None
        if oa_id in self.paused:
            raise TokenRefreshFailed(f"OA {oa_id} is paused: {self.paused[oa_id]}")
        return self._states[oa_id].access_token

    async def _follow(self) -> None:
        """Pick up pairs written by other dispatchers, and (as leader) answer their refresh requests."""
        while True:
            try:
                found = await self._store.updates()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading the token topic failed; retrying")
                await asyncio.sleep(1.0)
                continue
            updates = found.states
            self._claims.update(found.claims)
            for oa_id, version in found.requests.items():
                state = self._states.get(oa_id)
                if state is not None and state.version == version and self._is_leader() and oa_id not in self.paused:
                    self._tasks.append(asyncio.create_task(self._answer(oa_id, state.access_token)))
            for oa_id, state in updates.items():
                if oa_id in self._states and state.version > self._states[oa_id].version:
                    self._states[oa_id] = state
                    if self.paused.pop(oa_id, None) is not None:  # an operator stored a newly granted pair
                        metrics.OA_PAUSED.labels(oa_id).set(0)
                        log.info("OA %s resumed with a newly stored token pair", oa_id)
            self._apply_pauses(found.paused)
            if updates or found.paused:
                async with self._changed:
                    self._changed.notify_all()

    def _apply_pauses(self, paused: dict[str, tuple[int, str]]) -> None:
        """Pauses read from the topic that still concern the current pair (a newer pair lifts a pause)."""
        for oa_id, (version, reason) in paused.items():
            state = self._states.get(oa_id)
            if state is not None and version >= state.version and oa_id not in self.paused:
                self.paused[oa_id] = reason
                metrics.OA_PAUSED.labels(oa_id).set(1)
                log.error("OA %s is paused (recorded on the token topic): %s", oa_id, reason)

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
