"""Reconciliation: what the published events must produce, and what Zalo (the simulator) and Kafka hold.

Shared by ``hoso demo``, ``hoso chaos`` and the tests; written apart from the streams' rule engine so that
a shared bug cannot make the two agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from hoso.kafka.clients import kafka_python
from hoso.kafka.read_to_end import records_to_end
from hoso.settings import Settings
from schemas.common import VN_TZ, normalize_phone, now_vn
from schemas.dossier_event import Status
from schemas.notification import tracking_id_for
from streams.followers import subscriber_id
from streams.notify import NOTIFY

MAGIC_PREFIX = "84999000"  # the simulator's numbers that always fail permanently


@dataclass
class Expectation:
    """The messages the published events must produce, by tracking id."""

    tracking_ids: set[str] = field(default_factory=set)
    permanent: set[str] = field(default_factory=set)  # to the simulator's magic numbers: must fail, recorded
    samples: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    """Tracking id → ``dossier message-id``, to name what was lost when something is."""
    stand_ins: dict[str, str] = field(default_factory=dict)
    """Expected tracking id → another whose delivery satisfies it just as well.

    The agency's survey invitation, when it occurred before ours was due: the worker holds ours for at least
    ``HOSO_SETTLE_S`` of wall-clock time after RESULT_RETURNED and sends it if no invitation came meanwhile.
    Replayed events are long past their due time, so which of the two the citizen gets depends on when the
    agency's event arrives, not on the rules; either is their one invitation."""

    def met(self, counts: Mapping[str, int]) -> set[str]:
        """The expected tracking ids delivered, in person or by their stand-in."""
        return {t for t in self.tracking_ids if t in counts or self.stand_ins.get(t, "") in counts}

    def allowed(self) -> set[str]:
        """Every tracking id a delivery may legitimately carry (the expected ones and their stand-ins)."""
        return self.tracking_ids | set(self.stand_ins.values())


def expected_notifications(
    events: list[dict[str, Any]],
    pseudonym_key: str | SecretStr,
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Expectation:
    """Replay consent and announcement rules over the events, in per-dossier sequence order.

    Written apart from the streams' rule engine on purpose (a shared bug would otherwise reconcile): low-value
    statuses (IN_PROCESS, TRANSFERRED) at most once per throttle window and dropped when the next change
    follows within the collapse window, all in event time; one survey invitation per dossier, ours
    ``survey_delay`` after RESULT_RETURNED unless the agency's SURVEY_INVITED occurred first. During quiet
    hours nothing is expected: every message is deferred past the demo.
    """
    cfg = settings or Settings.from_env()
    throttle = timedelta(seconds=cfg.low_value_throttle_s)
    collapse = timedelta(seconds=cfg.collapse_window_s)
    survey_delay = timedelta(seconds=cfg.survey_delay_s) if cfg.survey_delay_s >= 0 else None
    exp = Expectation()
    horizon = now or now_vn()
    if _in_quiet_hours(cfg.quiet_hours, horizon):
        return exp
    magic: set[str] = set()
    low_value = {Status.IN_PROCESS, Status.TRANSFERRED}

    def announce(dossier: str, message_id: str, to: set[str], stand_in: str | None = None) -> None:
        for sid in to:
            tid = tracking_id_for(message_id, sid)
            (exp.permanent if sid in magic else exp.tracking_ids).add(tid)
            exp.origins[tid] = f"{dossier} {message_id}"
            if stand_in is not None and sid not in magic:
                exp.stand_ins[tid] = tracking_id_for(stand_in, sid)

    by_dossier: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_dossier.setdefault(e["data"]["ma_ho_so"], []).append(e)
    for dossier, dossier_events in by_dossier.items():
        current: set[str] = set()
        pending: tuple[str, datetime, set[str]] | None = None  # a low-value event not yet announced
        survey: tuple[str, datetime] | None = None  # a RESULT_RETURNED awaiting our invitation
        last_low: datetime | None = None
        invited = False
        for e in sorted(dossier_events, key=lambda e: e["sequence"]):
            at = datetime.fromisoformat(e["occurred_at"])
            status = Status(e["data"]["trang_thai"])
            if pending is not None:
                if at - pending[1] >= collapse:
                    announce(dossier, pending[0], pending[2])
                    last_low = pending[1]
                pending = None
            if survey is not None and survey_delay is not None and at >= survey[1] + survey_delay:
                announce(dossier, survey[0] + ":survey", current)
                invited, survey = True, None
            for r in e["data"].get("nguoi_nhan_thong_bao", []):
                phone = normalize_phone(r["phone"]) if r.get("phone") else None
                if phone is None and not r.get("zalo_user_id"):
                    continue
                sid = subscriber_id(pseudonym_key, phone, r.get("zalo_user_id"))
                if phone and phone.startswith(MAGIC_PREFIX):
                    magic.add(sid)
                if r["dong_y_zalo"]:
                    current.add(sid)
                else:
                    current.discard(sid)
            if status not in NOTIFY:
                pass
            elif status in low_value:
                if last_low is None or at - last_low >= throttle:
                    pending = (e["event_id"], at, set(current))
            elif status is Status.SURVEY_INVITED:
                if not invited:
                    ours = survey[0] + ":survey" if survey is not None and survey_delay is not None else None
                    announce(dossier, e["event_id"], current, stand_in=ours)
                    invited, survey = True, None
            else:
                announce(dossier, e["event_id"], current)
            if status is Status.RESULT_RETURNED and survey_delay is not None and not invited:
                survey = (e["event_id"], at)
        # What is still held when the events run out is released by a timer when due; events dated in the
        # future (the generator runs lifecycles past today) are not due during the run.
        if pending is not None and pending[1] + collapse <= horizon:
            announce(dossier, pending[0], pending[2])
        if survey is not None and survey_delay is not None and survey[1] + survey_delay <= horizon:
            announce(dossier, survey[0] + ":survey", current)
    return exp


def _in_quiet_hours(spec: str, now: datetime) -> bool:
    if not spec.strip():
        return False
    start, end = (clock_time.fromisoformat(part.strip()) for part in spec.split("-"))
    t = now.astimezone(VN_TZ).time()
    return start <= t < end if start < end else (t >= start or t < end)


def count_topic(settings: Settings, topic: str) -> int:
    """Records currently in ``topic`` (all partitions), read from the start."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**kafka_python(settings), enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        begin = consumer.beginning_offsets(tps)
        end = consumer.end_offsets(tps)
        return sum(end[tp] - begin[tp] for tp in tps)
    finally:
        consumer.close()


def malformed_records(count: int, topic_key: str) -> Iterator[tuple[bytes, bytes]]:
    """Records a misbehaving agency might write straight to Kafka (each broken differently)."""
    samples = [
        b'{"event_id": "not-a-uuid", "sequence": -1}',
        b"\xff\xfe not utf-8",
        b'{"truncated": ',
        b'["a", "list"]',
    ]
    for i in range(count):
        yield topic_key.encode(), samples[i % len(samples)]


def recorded_failures(settings: Settings, topic: str) -> dict[str, dict[str, Any]]:
    """Delivery failures recorded so far, by tracking id."""
    out: dict[str, dict[str, Any]] = {}
    for r in records_to_end(kafka_python(settings), topic, poll_ms=500):
        item = orjson.loads(r.value)
        tracking = (item.get("notification") or {}).get("tracking_id")
        if tracking:
            out[tracking] = {"code": item.get("code"), "reason": item.get("reason")}
    return out


def failure_codes(failures: dict[str, dict[str, Any]]) -> dict[str, int]:
    codes: dict[str, int] = {}
    for f in failures.values():
        codes[str(f.get("code"))] = codes.get(str(f.get("code")), 0) + 1
    return codes


def sim_stats(url: str) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=10) as http:
        stats: dict[str, Any] = orjson.loads(http.get("/_sim/stats").content)
        return stats


def scrape_metrics(port: int | None) -> dict[str, float]:
    """Sum of each metric family on a process's /metrics (all label sets)."""
    from prometheus_client.parser import text_string_to_metric_families

    if not port:
        return {}
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return {}
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_total") or sample.name == family.name:
                sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


def tracking_counts(http: httpx.Client) -> dict[str, int]:
    data = orjson.loads(http.get("/_sim/tracking-ids").content)
    return dict(data["counts"])
