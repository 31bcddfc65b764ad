"""How far a partition may be committed: through offsets an agent finished, or that the log holds no record at.

``next_commit`` is the rule, and a rebalance starts each generation without the holes noted before it; the broker
tests (tests/integration/test_commit_guard_broker.py) show the consumer applying it to real fetches, a lost record
and transaction markers.
"""

from __future__ import annotations

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from hoso.settings import Settings
from streams.app import build
from streams.commit_guard import next_commit


def test_a_run_of_finished_offsets_from_the_committed_one_is_committed_whole():
    assert next_commit([33, 34, 35], 33, []) == (36, None)


def test_a_single_unfinished_offset_just_above_the_committed_one_holds_the_commit():
    """faust-streaming/faust#606: Faust's own check lets 2585 through here and commits 2590."""
    assert next_commit([2586, 2587, 2588, 2589], 2585, []) == (2585, (2585, 2586))


def test_an_unfinished_first_offset_of_the_partition_holds_the_commit():
    """Faust skips its check altogether when the committed offset is 0."""
    assert next_commit([1, 2, 3], 0, []) == (0, (0, 1))


def test_offsets_finished_again_below_the_committed_one_do_not_count():
    """The chaos loss: offsets 28-32 re-read after a rebalance, 34-40 finished, 33 never."""
    acked = [28, 29, 30, 31, 32, 34, 35, 36, 37, 38, 39, 40]
    assert next_commit(acked, 33, []) == (33, (33, 34))


def test_an_offset_the_broker_says_holds_no_record_is_crossed():
    assert next_commit([34, 35, 36], 33, [(33, 34)]) == (37, None)


def test_a_hole_further_up_stops_the_commit_there():
    assert next_commit([33, 34, 36, 37], 33, []) == (35, (35, 36))


def test_a_known_empty_range_that_ends_before_the_next_finished_offset_still_leaves_a_hole():
    assert next_commit([33, 34, 38], 33, [(35, 37)]) == (37, (37, 38))


def test_known_empty_ranges_chain_across_several_holes():
    assert next_commit([0, 1, 3, 4, 6], 0, [(2, 3), (5, 6)]) == (7, None)


def test_repeated_acknowledgements_move_nothing_twice():
    assert next_commit([5, 5, 6, 6], 5, []) == (7, None)


def test_nothing_finished_moves_nothing():
    assert next_commit([], 12, []) == (12, None)


async def test_a_hole_noted_while_revoking_does_not_outlive_the_rebalance(monkeypatch):
    """The commit made while partitions are revoked can note a hole on a partition the member is given back; the
    new generation reads it from its committed offset anyway, so settling that hole would only read it twice."""

    async def faust_part(self, *args, **kwargs) -> None:
        """Faust's own rebalance work needs a live consumer thread; only the guard's bookkeeping is under test."""

    monkeypatch.setattr(faust_aiokafka.Consumer, "on_partitions_revoked", faust_part)
    monkeypatch.setattr(faust_aiokafka.Consumer, "on_partitions_assigned", faust_part)
    consumer = build(Settings.from_env({"HOSO_QUIET_HOURS": ""}), store="memory://").app.consumer
    kept = TP("dossier-events.v1", 3)
    consumer._committed_offset[kept] = 33

    await consumer.on_partitions_revoked({kept})
    consumer._committed_offset.pop(kept)  # as Faust does on revocation, before the streams finish
    consumer._acked[kept].extend(range(34, 41))
    consumer._acked_index[kept].update(range(34, 41))
    assert consumer._new_offset(kept) is None  # the revoke-time commit: held below 33, the hole noted
    assert kept in consumer._holes

    await consumer.on_partitions_assigned({kept}, generation_id=2)
    assert consumer._holes == {}
