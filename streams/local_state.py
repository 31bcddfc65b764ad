"""A worker keeps its local table stores only across a clean stop.

Faust writes a table's RocksDB store at once and sends the changelog record a moment later. A worker that dies
in between (SIGKILL, out of memory, a crash, or its own exit when Kafka refuses a batch) leaves local stores
*ahead* of the changelogs. If it restarts on the same directory, Faust trusts them: the events whose offsets
were never committed are read again, found already applied and skipped, and their offsets committed. What
those events left behind only locally (a held low-value message, a survey due later) then lives in no
changelog; the next time the partition moves to another worker, which restores from the changelogs, it is gone
and nobody releases it. Found by ``hoso chaos`` with two workers: a TRANSFERRED message never sent.

So a worker removes the marker below as it starts and writes it back only once Faust has stopped cleanly (the
producer flushed, the offsets committed): a start without it discards the local stores, and the worker restores
from the changelogs exactly like a new member of the group would. The cost is a full restore after a crash,
which a rebalance costs anyway.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CLEAN_STOP_MARKER = ".clean-stop"


def discard_unless_clean(datadir: Path) -> bool:
    """Prepare ``datadir`` for a start: keep its stores if the last run stopped cleanly, else empty it.

    Returns whether stores were discarded. The marker is consumed either way, so a crash of this run is noticed
    at the next start.
    """
    datadir.mkdir(parents=True, exist_ok=True)
    marker = datadir / CLEAN_STOP_MARKER
    if marker.exists():
        marker.unlink()
        return False
    stores = list(datadir.iterdir())
    for path in stores:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return bool(stores)


def mark_clean_stop(datadir: Path) -> None:
    """Record that the stores in ``datadir`` match the changelogs (call only after Faust stopped cleanly)."""
    (datadir / CLEAN_STOP_MARKER).write_text("the worker stopped cleanly; its local stores match the changelogs\n")
