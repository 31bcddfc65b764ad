"""The dispatcher: consumes notifications, sends them to Zalo concurrently, commits only what is finished.

* At-least-once: a record is *finished* when it was accepted by Zalo (and noted in the sent-log), recorded
  as a permanent failure, or parked in a retry / deferred / dead-letter topic — each write acknowledged by
  Kafka first. Offsets are committed per partition only up to the first unfinished record.
* Order: one recipient's messages share a key, so a partition; they are sent one after another in offset
  order, while different recipients proceed in parallel (bounded by the concurrency and in-flight limits).
  A message parked for a long wait no longer holds back that recipient's later messages.
* Isolation: every OA has its own token, rate bucket, quota state and pause; one OA's trouble parks only
  that OA's messages.
* Delays live in Kafka: retry tiers and the deferred topic carry a not-before header; their partitions are
  paused until the head record is due.
* Ownership: a chain checks before every send that its partition is still owned (in the same assignment
  generation); a revocation first marks the partitions lost (so no chain starts another send), waits for the
  requests already in flight — bounded by the Zalo request deadline, well below the rebalance timeout —
  then commits and forgets them.
* A send Zalo accepted is never sent again by this process and never dead-lettered: it is noted in the
  in-memory sent-log at once, and only the durable sent-log write is retried until it lands.
* Quiet hours are re-checked at send time: a non-emergency message met inside the window waits on the
  deferred topic until it ends (never dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from consumers.delivery import Next, RoundResult, Sender
from consumers.offsets import OffsetTracker, PartitionOffsets
from consumers.ratelimit import PriorityBucket
from consumers.retry import TIER_DELAYS_S, RetrySchedule, headers, read_headers
from consumers.sentlog import SentLog
from consumers.tokens import TokenManager, TokenStore
from consumers.zalo.client import ZaloClient
from hoso import metrics
from hoso.accounts import OARegistry, load_registry
from hoso.health import Health
from hoso.kafka import clients as kafka_clients
from hoso.kafka.lag import start_lag_exporter
from hoso.kafka.producer import RenewingProducer
from hoso.quiet_hours import QuietHours
from hoso.settings import Settings
from schemas.codec import MAX_RECORD_BYTES, decode
from schemas.common import iso_vn, now_vn
from schemas.notification import Notification, Priority
from schemas.problems import Problem

log = logging.getLogger("hoso.dispatcher")

REBALANCE_TIMEOUT_S = 45.0
"""How long the group coordinator waits for members to re-join (aiokafka's default is the 10 s session)."""
CHAIN_RETRY_S = (0.5, 1.0, 2.0, 5.0, 10.0)
DRAIN_TIMEOUT_S = 30.0


@dataclass
class DispatchStats:
    """Running totals, for logs, tests and the demo."""

    sent: int = 0
    permanent_failures: int = 0
    dead_lettered: int = 0
    parked: int = 0
    already_sent: int = 0
    invalid: int = 0
    sent_log_write_retries: int = 0
    quiet_deferred: int = 0
    stopped_for_revocation: int = 0
    by_code: dict[str, int] = field(default_factory=dict)


@dataclass
class _Chain:
    """One recipient's queue in one assignment generation, and the task working through it."""

    queue: deque[tuple[ConsumerRecord, PartitionOffsets]]
    generation: int
    task: asyncio.Task[None] | None = None


class NotOwned(Exception):
    """The record's partition was revoked (or re-assigned in a newer generation): stop, do not send."""


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if self.d.health is not None:
            self.d.health.revoked()
        # First: no chain of these partitions starts another send (token leadership goes with partition 0).
        self.d.owned.difference_update(revoked)
        # Then let the requests already in flight end (bounded well below the rebalance timeout, and at
        # least as long as one request's total deadline) so the next owner's sent-log read sees them.
        deadline = time.monotonic() + self.d.revoke_wait_s
        while any(self.d.sending.get(tp) for tp in revoked) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        late = sum(self.d.sending.get(tp, 0) for tp in revoked)
        if late:
            log.warning("%d sends of revoked partitions still in flight after %.1fs", late, self.d.revoke_wait_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.d.tokens.quiesce(), max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(Exception):
            await self.d.commit(only=revoked)
        self.d.tracker.forget(list(revoked))
        for tp in revoked:
            self.d.resume_at.pop(tp, None)
        still = {tp.partition for tp in self.d.assignment() - revoked}
        self.d.sent_log.forget([p for p in {tp.partition for tp in revoked} if p not in still])

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        loaded = await self.d.sent_log.load(sorted({tp.partition for tp in assigned}))
        for tp in assigned:
            self.d.generation[tp] = self.d.generation.get(tp, 0) + 1
        self.d.owned.update(assigned)
        log.info("assigned %d partitions; %d recent sends loaded from the sent-log", len(assigned), loaded)
        if self.d.health is not None:
            self.d.health.assigned(len(self.d.assignment()))


class Dispatcher:
    """One dispatcher process: a member of the dispatcher consumer group."""

    def __init__(
        self, settings: Settings, *, client: ZaloClient | None = None, registry: OARegistry | None = None
    ) -> None:
        self.settings = settings
        self.topics = settings.topics
        self.health: Health | None = None
        """Set by run_dispatcher: the fetch loop and rebalances report progress to it."""
        self.registry = registry or load_registry(
            Path(settings.oa_config) if settings.oa_config else None, settings.default_oa_id
        )
        metrics.LABELS.configure(oas=self.registry.oas)  # an oa_id in a record is only a label if configured
        self.client = client or ZaloClient(
            zbs_url=settings.zalo_zbs_url,
            oa_url=settings.zalo_oa_url,
            oauth_url=settings.zalo_oauth_url,
            timeout=settings.zalo_timeout_s,
            max_connections=settings.dispatch_concurrency,
        )
        self.client_config = kafka_clients.aiokafka(settings)
        self.tokens = TokenManager(
            self.registry,
            self.client,
            TokenStore(self.client_config, self.topics.oa_tokens.name),
            margin_s=settings.token_refresh_margin_s,
            is_leader=self._is_token_leader,
        )
        self._limit = asyncio.Semaphore(settings.dispatch_concurrency)
        # The concurrency slot is held only around the HTTP exchange, never while waiting for a token.
        self.sender = Sender(self.client, self.tokens, slots=self._limit)
        self.quiet = QuietHours.parse(settings.quiet_hours)
        self.owned: set[TopicPartition] = set()
        self.generation: dict[TopicPartition, int] = {}
        self.sending: dict[TopicPartition, int] = {}
        # One request can last its total deadline; the revocation waits that long (plus a margin), which
        # stays well below the rebalance timeout so the member is not ejected while it waits.
        self.revoke_wait_s = min(settings.zalo_timeout_s + 2.0, REBALANCE_TIMEOUT_S / 3)
        self.sent_log = SentLog(self.client_config, self.topics.sent_log.name, settings.sent_log_lookback_s)
        self.schedule = RetrySchedule.for_topics(self.topics, settings.dispatch_max_attempts)
        # OA-wide holds wait on the slowest tier with that tier's delay, so the tier stays in due-time order.
        self.hold_topic, self.hold_s = self.topics.notifications_retry_3.name, TIER_DELAYS_S[2]
        self.delayed_topics = {
            self.topics.notifications_retry_1.name,
            self.topics.notifications_retry_2.name,
            self.topics.notifications_retry_3.name,
            self.topics.notifications_deferred.name,
        }
        self.buckets = {oa.oa_id: PriorityBucket(oa.rate_per_s, oa.burst) for oa in self.registry.oas.values()}
        self.held_until: dict[str, float] = {}
        self.held_reason: dict[str, str] = {}
        self.tracker = OffsetTracker()
        self.resume_at: dict[TopicPartition, float] = {}
        self.stats = DispatchStats()
        self._room = asyncio.Event()
        self._chains: dict[tuple[str, bytes | None], _Chain] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: RenewingProducer | None = None
        self._committed: dict[TopicPartition, int] = {}

    # --- lifecycle -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop fetching, finish what is in flight, commit, leave (SIGTERM)."""
        self._stopping.set()

    def assignment(self) -> set[TopicPartition]:
        """Partitions currently owned."""
        return set(self._consumer.assignment()) if self._consumer else set()

    def _is_token_leader(self) -> bool:
        return TopicPartition(self.topics.notifications.name, 0) in self.owned

    def owns(self, tp: TopicPartition, generation: int) -> bool:
        """Whether ``tp`` is still ours, in the generation a chain started in."""
        return tp in self.owned and self.generation.get(tp) == generation

    async def run(self) -> None:
        """Consume until stopped."""
        self._producer = RenewingProducer.idempotent(
            self.client_config, name="dispatcher producer", linger_ms=5, client_id="hoso-dispatcher"
        )
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            **self.client_config,
            group_id=self.settings.dispatcher_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.settings.dispatch_batch,
            client_id="hoso-dispatcher",
            rebalance_timeout_ms=int(REBALANCE_TIMEOUT_S * 1000),
        )
        topics = [self.topics.notifications.name, *sorted(self.delayed_topics)]
        self._consumer.subscribe(topics, listener=_Rebalance(self))
        await self._consumer.start()
        await self.tokens.start()
        committer = asyncio.create_task(self._commit_loop())
        log.info("dispatcher consuming %s as %s", topics, self.settings.dispatcher_group)
        try:
            await self._fetch_loop()
            await self._drain()
        finally:
            committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await committer
            with contextlib.suppress(Exception):
                await self.commit()
            await self.tokens.stop()
            await self._consumer.stop()
            await self._producer.stop()
            await self.client.aclose()
            log.info("dispatcher stopped: %s", self.stats)

    async def _fetch_loop(self) -> None:
        assert self._consumer is not None
        while not self._stopping.is_set():
            if self.health is not None:
                self.health.polled()
            self._resume_due()
            if self.tracker.in_flight >= self.settings.dispatch_max_in_flight:
                self._room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), 0.5)
                continue
            batches = await self._consumer.getmany(timeout_ms=100, max_records=self.settings.dispatch_batch)
            now = time.time()
            for tp, records in batches.items():
                if tp not in self.owned:
                    # Fetched while the assignment is still being set up (sent-log not loaded yet) or just
                    # revoked: not ours to send; read again once owned.
                    with contextlib.suppress(Exception):
                        self._consumer.seek(tp, records[0].offset)
                    continue
                if tp.topic in self.delayed_topics:
                    records = self._due_part(tp, records, now)
                parts = [self.tracker.started(tp, record.offset) for record in records]
                for record, part in zip(records, parts, strict=True):
                    self._enqueue(tp, record, part)

    def _due_part(self, tp: TopicPartition, records: list[ConsumerRecord], now: float) -> list[ConsumerRecord]:
        """Records of a delayed topic that are due; at the first one that is not, rewind and pause."""
        assert self._consumer is not None
        for i, record in enumerate(records):
            _, not_before = read_headers(record.headers)
            if not_before > now:
                self._consumer.seek(tp, record.offset)
                self._consumer.pause(tp)
                self.resume_at[tp] = not_before
                return records[:i]
        return records

    def _resume_due(self) -> None:
        if not self.resume_at or self._consumer is None:
            return
        now = time.time()
        due = [tp for tp, at in self.resume_at.items() if at <= now]
        for tp in due:
            del self.resume_at[tp]
        if due:
            self._consumer.resume(*[tp for tp in due if tp in self.assignment()])

    async def _drain(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=DRAIN_TIMEOUT_S)
        if self._tasks:
            log.warning("%d sends still in flight at shutdown; they will be re-read", len(self._tasks))

    # --- per-recipient chains ------------------------------------------------------------------------
    def _enqueue(self, tp: TopicPartition, record: ConsumerRecord, part: PartitionOffsets) -> None:
        key = (tp.topic, record.key)
        generation = self.generation.get(tp, 0)
        old = self._chains.get(key)
        if old is not None and old.generation == generation:
            old.queue.append((record, part))
            return
        # A chain of an older generation may still be finishing its request in flight: the new one waits for
        # it (the recipient's order holds), and never hands its records to it (it would drop them as not owned).
        chain = _Chain(deque([(record, part)]), generation)
        self._chains[key] = chain
        previous = old.task if old is not None else None
        chain.task = asyncio.create_task(self._run_chain(key, tp, chain, previous))
        self._tasks.add(chain.task)
        chain.task.add_done_callback(self._tasks.discard)

    async def _run_chain(
        self, key: tuple[str, bytes | None], tp: TopicPartition, chain: _Chain, previous: asyncio.Task[None] | None
    ) -> None:
        queue = chain.queue
        try:
            if previous is not None and not previous.done():
                await asyncio.wait({previous})
            while queue:
                record, part = queue[0]
                try:
                    await self._handle_until_done(tp, record, chain.generation)
                except NotOwned:
                    # The new owner reads these records again from the committed offset.
                    self.stats.stopped_for_revocation += len(queue)
                    return
                queue.popleft()
                part.finished(record.offset)  # a generation revoked meanwhile is detached: harmless
                self._room.set()
        finally:
            if self._chains.get(key) is chain:
                del self._chains[key]

    async def _handle_until_done(self, tp: TopicPartition, record: ConsumerRecord, generation: int) -> None:
        """Handle a record; on an unexpected error (Kafka unreachable while parking, a bug) try again.

        Giving up would either lose the record or leave it unfinished forever (freezing the partition's
        commits and breaking the recipient's order), so it is retried in place with backoff; after the
        backoff steps are used up it is dead-lettered, and if even that fails, retried until Kafka is back.
        A record whose send Zalo accepted is never dead-lettered (the sent-log says so); a record whose
        partition was lost stops at once (``NotOwned``).
        """
        for attempt, pause in enumerate((*CHAIN_RETRY_S, None), start=1):
            if not self.owns(tp, generation):
                raise NotOwned()
            try:
                await self._handle(tp, record, generation)
                return
            except NotOwned:
                raise
            except Exception:
                log.exception("error on %s[%d]@%d (try %d)", tp.topic, tp.partition, record.offset, attempt)
            if pause is not None:
                await asyncio.sleep(pause)
        if self._accepted_before(tp, record):
            return
        while True:
            if not self.owns(tp, generation):
                raise NotOwned()
            try:
                await self._dead_raw(record, "unexpected dispatcher error; see logs")
                return
            except Exception:
                log.exception("cannot dead-letter %s[%d]@%d yet", tp.topic, tp.partition, record.offset)
                await asyncio.sleep(CHAIN_RETRY_S[-1])

    def _accepted_before(self, tp: TopicPartition, record: ConsumerRecord) -> bool:
        try:
            value = orjson.loads(record.value or b"null")
        except orjson.JSONDecodeError:
            return False
        tracking_id = value.get("tracking_id") if isinstance(value, dict) else None
        return isinstance(tracking_id, str) and self.sent_log.seen(tp.partition, tracking_id)

    # --- one record ----------------------------------------------------------------------------------
    async def _handle(self, tp: TopicPartition, record: ConsumerRecord, generation: int) -> None:
        n, problems = decode_notification(record.value)
        if n is None:
            self.stats.invalid += 1
            await self._failure(record, {"invalid": [p.to_dict() for p in problems]}, "invalid", None)
            return
        rounds, _ = read_headers(record.headers)
        if self.sent_log.seen(tp.partition, n.tracking_id):
            self.stats.already_sent += 1
            metrics.ALREADY_SENT.labels(metrics.LABELS.oa(n.oa_id)).inc()
            return
        if n.oa_id not in self.registry.oas:
            await self._dead(record, n, rounds, f"unknown OA {n.oa_id!r}: add it to HOSO_OA_CONFIG")
            return
        hold = self._held(n)
        if hold is not None:
            topic, until = hold
            await self._park(record, n, topic, rounds, until, "OA held")
            return
        if self.quiet is not None and n.priority is not Priority.EMERGENCY and self.quiet.contains(now_vn()):
            until = self.quiet.ends_after(now_vn()).timestamp()
            self.stats.quiet_deferred += 1
            await self._park(record, n, self.topics.notifications_deferred.name, rounds, until, "quiet hours")
            return
        await self.buckets[n.oa_id].acquire(int(n.priority))
        if not self.owns(tp, generation):
            raise NotOwned()
        self.sending[tp] = self.sending.get(tp, 0) + 1
        metrics.IN_FLIGHT.inc()
        try:
            try:
                result = await self.sender.round(n)
                if result.next is Next.SENT:
                    # Before anything else can fail: this process will never send or dead-letter it again.
                    self.sent_log.note(tp.partition, n.tracking_id)
            finally:
                metrics.IN_FLIGHT.dec()
            await self._after(tp, record, n, rounds, result)  # the sent-log write counts as in flight
        finally:
            self.sending[tp] -= 1

    def _held(self, n: Notification) -> tuple[str, float] | None:
        """Where and until when ``n`` must wait because its OA is held (None: go ahead).

        Quota holds last until the quota day resets and wait on the deferred topic; emergencies ignore them.
        Pauses (token refused, configuration, billing) are re-checked after a tier-3 delay, on tier 3.
        """
        now = time.time()
        if n.oa_id in self.tokens.paused:
            return self.hold_topic, now + self.hold_s
        until = self.held_until.get(n.oa_id, 0.0)
        if until <= now:
            return None
        if self.held_reason.get(n.oa_id) == "quota":
            return None if n.priority is Priority.EMERGENCY else (self.topics.notifications_deferred.name, until)
        return self.hold_topic, now + self.hold_s

    async def _after(
        self, tp: TopicPartition, record: ConsumerRecord, n: Notification, rounds: int, r: RoundResult
    ) -> None:
        if r.next is Next.SENT:
            assert r.accepted is not None
            self.stats.sent += 1
            metrics.child(metrics.DELIVERIES, metrics.LABELS.oa(n.oa_id), "sent").inc()
            await self._write_sent(tp, record, n, r.accepted.msg_id)
            oa = self.registry.oas[n.oa_id]
            if r.accepted.remaining_quota is not None and r.accepted.remaining_quota <= oa.quota_reserve:
                self._hold(n.oa_id, _next_quota_day(), "quota")
            return
        self.stats.by_code[str(r.code)] = self.stats.by_code.get(str(r.code), 0) + 1
        if r.next is Next.PERMANENT:
            self.stats.permanent_failures += 1
            metrics.DELIVERIES.labels(metrics.LABELS.oa(n.oa_id), "permanent_failure").inc()
            await self._failure(
                record, {"notification": n.model_dump(mode="json", exclude_none=True)}, "permanent_failure", r
            )
        elif r.next is Next.DEFER:
            if r.code in (-144, -147):
                self._hold(n.oa_id, r.not_before, "quota")
            await self._park(record, n, self.topics.notifications_deferred.name, rounds, r.not_before, r.reason)
        elif r.next is Next.WAIT_TOKEN:
            # Waiting for a new token (the leader's refresh) is not a failed attempt: park, rounds unchanged.
            await self._park(record, n, self.topics.notifications_retry_1.name, rounds, time.time() + 5.0, r.reason)
        elif r.next is Next.PAUSE_OA:
            if n.oa_id not in self.tokens.paused:
                self._hold(n.oa_id, time.time() + self.hold_s, "config")
                metrics.OA_PAUSED.labels(metrics.LABELS.oa(n.oa_id)).set(1)
                log.error("OA %s held for %.0fs: %s", n.oa_id, self.hold_s, r.reason)
            await self._park(record, n, self.hold_topic, rounds, time.time() + self.hold_s, r.reason)
        else:
            step = self.schedule.next(rounds + 1)
            if step is None:
                log.error(
                    "OPERATOR: %s out of retries after %d rounds (%s); dead-lettered, see `hoso dlq list`",
                    n.tracking_id,
                    rounds + 1,
                    r.reason,
                )
                await self._dead(record, n, rounds + 1, r.reason)
            else:
                topic, delay = step
                await self._park(record, n, topic, rounds + 1, time.time() + delay, r.reason)

    async def _write_sent(self, tp: TopicPartition, record: ConsumerRecord, n: Notification, msg_id: str) -> None:
        """The durable sent-log write, retried alone (the Zalo call is never repeated) until it lands."""
        assert self._producer is not None
        pauses = iter(CHAIN_RETRY_S)
        while True:
            try:
                await self.sent_log.write(self._producer, tp.partition, record.key, n.tracking_id, msg_id, n.oa_id)
                return
            except Exception as exc:
                self.stats.sent_log_write_retries += 1
                log.warning(
                    "sent-log write for %s[%d] failed (%s); retrying the write only", tp.topic, tp.partition, exc
                )
            await asyncio.sleep(next(pauses, CHAIN_RETRY_S[-1]))

    def _hold(self, oa_id: str, until: float, why: str) -> None:
        self.held_until[oa_id] = max(self.held_until.get(oa_id, 0.0), until)
        self.held_reason[oa_id] = why

    # --- writes to Kafka (each acknowledged before the record counts as finished) --------------------
    async def _park(
        self, record: ConsumerRecord, n: Notification, topic: str, rounds: int, not_before: float, reason: str
    ) -> None:
        assert self._producer is not None
        await self._producer.send_and_wait(
            topic, key=record.key, value=record.value, headers=headers(rounds, not_before, reason)
        )
        self.stats.parked += 1
        metrics.PARKED.labels(metrics.LABELS.oa(n.oa_id), topic.rsplit(".", 2)[-2]).inc()

    async def _dead(self, record: ConsumerRecord, n: Notification, rounds: int, reason: str) -> None:
        assert self._producer is not None
        value = orjson.dumps(
            {
                "notification": n.model_dump(mode="json", exclude_none=True),
                "reason": reason,
                "attempts": rounds,
                "dead_at": iso_vn(now_vn()),
            }
        )
        await self._producer.send_and_wait(self.topics.notifications_dead.name, key=record.key, value=value)
        self.stats.dead_lettered += 1
        metrics.DEAD_LETTERED.labels(metrics.LABELS.oa(n.oa_id), reason.split(":")[0][:40]).inc()
        metrics.DELIVERIES.labels(metrics.LABELS.oa(n.oa_id), "dead_lettered").inc()

    async def _dead_raw(self, record: ConsumerRecord, reason: str) -> None:
        """Dead-letter a record as it is (used when it cannot even be handled)."""
        assert self._producer is not None
        try:
            notification: Any = orjson.loads(record.value or b"null")
        except orjson.JSONDecodeError:
            notification = None
        value = orjson.dumps(
            {"notification": notification, "reason": reason, "attempts": 0, "dead_at": iso_vn(now_vn())}
        )
        await self._producer.send_and_wait(self.topics.notifications_dead.name, key=record.key, value=value)
        self.stats.dead_lettered += 1

    async def _failure(
        self, record: ConsumerRecord, payload: dict[str, Any], outcome: str, r: RoundResult | None
    ) -> None:
        assert self._producer is not None
        value = orjson.dumps(
            {
                **payload,
                "outcome": outcome,
                "code": r.code if r else None,
                "reason": r.reason if r else "invalid notification record",
                "failed_at": iso_vn(now_vn()),
            }
        )
        await self._producer.send_and_wait(self.topics.delivery_failures.name, key=record.key, value=value)

    # --- commits -------------------------------------------------------------------------------------
    async def _commit_loop(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            try:
                await self.commit()
            except Exception:
                log.warning("offset commit failed; will retry", exc_info=True)

    async def commit(self, only: set[TopicPartition] | None = None) -> None:
        """Commit, per owned partition, up to the first unfinished record."""
        if self._consumer is None:
            return
        owned = self.assignment() if only is None else only
        offsets = {
            tp: off
            for tp, off in self.tracker.committable().items()
            if tp in owned and self._committed.get(tp) != off  # type: ignore[operator]
        }
        if offsets:
            await self._consumer.commit(offsets)
            self._committed.update(offsets)


def decode_notification(raw: bytes | None) -> tuple[Notification | None, list[Problem]]:
    """A notification record, validated by pydantic's own JSON parser in one pass (no dict in between).

    This is the dispatcher's hot path; it measured about 40% faster than parsing with orjson and then
    validating the dict. A record that fails is decoded again the general way, so its problems are reported
    exactly as for any other record (size, encoding, syntax, then every field).
    """
    raw = raw or b""
    if len(raw) <= MAX_RECORD_BYTES:
        try:
            return Notification.model_validate_json(raw), []
        except ValidationError:
            pass
    return decode(Notification, raw)


def _next_quota_day() -> float:
    from consumers.retry import next_vn_time

    return next_vn_time(0) + 60


def run_dispatcher(settings: Settings) -> None:
    """Run one dispatcher until SIGTERM/SIGINT."""
    health = Health(
        "dispatcher",
        loop_stall_s=settings.health_loop_stall_s,
        poll_stall_s=settings.health_poll_stall_s,
        consumer=True,
    )
    metrics.IN_FLIGHT_LIMIT.set(settings.dispatch_concurrency)
    metrics.serve(settings.metrics_port, "dispatcher", health)
    if settings.metrics_port:
        topics = settings.topics
        start_lag_exporter(settings, settings.dispatcher_group, [topics.notifications.name])

    async def main() -> None:
        dispatcher = Dispatcher(settings)
        dispatcher.health = health
        beating = health.start_heartbeat()  # noqa: F841 (kept referenced for the life of the loop)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, dispatcher.stop)
        await dispatcher.run()

    asyncio.run(main())
