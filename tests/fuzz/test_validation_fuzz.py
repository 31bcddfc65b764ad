"""Fuzzing the validation path every raw record takes (``streams.join.parse`` → ``schemas.codec``).

Thousands of generated records, each damaged in one known way, must all be rejected with a problem that
points at the damage, never with an exception; the envelope parked on the invalid-events topic must carry
the original bytes back exactly; and valid records drawn from the same builder must all pass.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import Counter

import orjson

from schemas.common import now_vn
from streams.join import invalid_envelope, parse
from tests.fuzz.records import BAD_KINDS, RawRecord, bad_records, huge, reason_problem, run_property, valid_records


def rejects_clearly(record: RawRecord) -> None:
    event, problems = parse(record.key, record.value)
    assert event is None, f"{record.kind} accepted: {record.value[:300] if record.value else record.value!r}"
    why = reason_problem(record, problems)
    assert why is None, f"{record.kind}: {why}"
    envelope = orjson.loads(
        invalid_envelope(record.key, record.value, problems, topic="t", partition=0, offset=7, now=now_vn())
    )
    assert envelope["problems"] and all(p["message"] for p in envelope["problems"])
    value, key = envelope["value_b64"], envelope["key_b64"]
    kept = None if value is None else base64.b64decode(value)
    if envelope.get("truncated"):  # a huge record keeps its head, its size and its digest
        assert record.value is not None and record.value.startswith(kept)
        assert envelope["value_size"] == len(record.value)
        assert envelope["value_sha256"] == hashlib.sha256(record.value).hexdigest()
    else:
        assert kept == record.value
    assert (None if key is None else base64.b64decode(key)) == (record.key[:1024] if record.key else record.key)


def test_every_kind_of_bad_record_is_rejected_with_a_reason_pointing_at_the_damage(fuzz_settings, fuzz_budget):
    kinds: Counter[str] = Counter()

    def check(record: RawRecord) -> None:
        kinds[record.kind] += 1
        rejects_clearly(record)

    started = time.perf_counter()
    seen = run_property(fuzz_settings, fuzz_budget.bad, bad_records(), check)
    print(f"\nfuzz[{fuzz_budget.name}]: {seen} bad records in {time.perf_counter() - started:.1f}s: {dict(kinds)}")
    assert seen >= fuzz_budget.bad
    assert set(kinds) == set(BAD_KINDS), f"kinds never generated: {set(BAD_KINDS) - set(kinds)}"


def test_records_near_the_one_megabyte_limit_are_rejected_by_size_or_field_length(fuzz_settings, fuzz_budget):
    started = time.perf_counter()
    seen = run_property(fuzz_settings, fuzz_budget.huge, huge(), rejects_clearly)
    print(f"\nfuzz[{fuzz_budget.name}]: {seen} huge records in {time.perf_counter() - started:.1f}s")
    assert seen >= fuzz_budget.huge


def test_valid_records_from_the_same_builder_all_pass(fuzz_settings, fuzz_budget):
    def check(record: RawRecord) -> None:
        event, problems = parse(record.key, record.value)
        assert event is not None, [str(p) for p in problems]
        assert event.key.encode() == record.key

    started = time.perf_counter()
    seen = run_property(fuzz_settings, fuzz_budget.valid, valid_records(), check)
    print(f"\nfuzz[{fuzz_budget.name}]: {seen} valid records in {time.perf_counter() - started:.1f}s")
    assert seen >= fuzz_budget.valid
