"""A py-spy raw profile is summarised into shares of busy CPU per named category (docs/performance.md tables)."""

from __future__ import annotations

from pathlib import Path

from hosoctl.bench.profile import JOIN, OTHER, main, summarise

LOOP = "BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80)"
RAW = [
    f"{LOOP};Pipeline._complete (streams/batching.py:190);Pipeline._apply (streams/batching.py:214);"
    "ManagedUserDict.__setitem__ (faust/tables/table.py:90) 30",
    f"{LOOP};register.<locals>.join_one (streams/agents/dossier.py:80);decode_event (schemas/codec.py:67) 50",
    f"{LOOP};ProducerBuffer._handle_pending (faust/transport/producer.py:70);AIOKafkaProducer.send (x.py:1) 15",
    f"{LOOP};Timer.__call__ (mode/timers.py:50) 5",
    "BaseEventLoop._run_once (asyncio/base_events.py:1910);select (selectors.py:468) 100",
    "",
]


def test_each_busy_sample_counts_once_in_the_first_matching_category_and_idle_samples_are_left_out() -> None:
    shares, busy, idle = summarise(RAW, JOIN)
    assert (busy, idle) == (100, 100)
    assert shares["table writes, ours: Pipeline._apply → table[key] = value"] == 30
    assert shares["the join's own code: parse, validate, rules, render"] == 50
    # the changelog producer's send is a table write, not generic aiokafka work: the earlier category wins
    assert shares["table writes, Faust's side: changelog records produced, changelog offsets written"] == 15
    assert shares["aiokafka: produce, sender, fetcher"] == 0
    assert shares[OTHER] == 5
    assert sum(shares.values()) == busy


def test_the_command_prints_a_markdown_table_largest_share_first(tmp_path: Path, capsys) -> None:
    raw = tmp_path / "join.raw"
    raw.write_text("\n".join(RAW))
    assert main([str(raw), "--categories", "join"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "200 samples, 100 idle, 100 busy"
    assert out[4] == "| 50.0% | the join's own code: parse, validate, rules, render |"
    assert out[-1] == f"| 5.0% | {OTHER} |"
