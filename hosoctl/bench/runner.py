"""Runs the selected scenarios in one bench environment and reports them (JSON lines and Markdown)."""

from __future__ import annotations

import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hoso.errors import ConfigurationError
from hoso.settings import Settings
from hosoctl.bench import broadcast, dispatcher, e2e, memory, streams
from hosoctl.bench.env import BenchEnv
from hosoctl.bench.figures import Figure
from hosoctl.bench.report import write

SCENARIOS: dict[str, Callable[[BenchEnv, bool], list[Figure]]] = {
    "dispatcher": dispatcher.run,
    "streams": streams.run,
    "e2e": e2e.run,
    "broadcast": broadcast.run,
    "memory": memory.run,
}


@dataclass(frozen=True)
class BenchOptions:
    """What ``hoso bench`` runs and where it reports."""

    scenarios: tuple[str, ...] = tuple(SCENARIOS)
    quick: bool = False
    json: bool = False
    report: Path = Path("bench-results/report.md")
    command: str = "hoso bench"


def parse_scenarios(spec: str) -> tuple[str, ...]:
    """``dispatcher,streams`` → the scenario names, checked; empty or ``all`` → every scenario."""
    names = tuple(n.strip() for n in spec.split(",") if n.strip())
    if not names or names == ("all",):
        return tuple(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ConfigurationError(f"--scenario: unknown {unknown}; choose from {', '.join(SCENARIOS)}")
    return names


def run_bench(settings: Settings, options: BenchOptions) -> int:
    """Run the scenarios; exit code 0 when every one produced its figures."""

    def say(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr if options.json else sys.stdout, flush=True)

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # unwinds through BenchEnv, which stops every process it started

    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    figures: list[Figure] = []
    failures: dict[str, str] = {}
    run_dir = options.report.parent.resolve() / "runs" / time.strftime("%Y%m%d-%H%M%S")
    with BenchEnv(settings, run_dir, say) as env:
        for name in options.scenarios:
            say(f"scenario {name}{' (quick)' if options.quick else ''}")
            t0 = time.monotonic()
            try:
                got = SCENARIOS[name](env, options.quick)
            except Exception as exc:  # one scenario failing must not lose the others' figures
                failures[name] = f"{type(exc).__name__}: {exc}"
                say(f"scenario {name} failed:\n{traceback.format_exc()}")
                continue
            finally:
                env.stop_processes()
            say(f"scenario {name} done in {time.monotonic() - t0:.0f}s")
            for f in got:
                if options.json:
                    print(f.json_line(), flush=True)
                else:
                    ratio = f" (ratio {f.ratio:.2f} to {f.baseline:,.1f})" if f.ratio is not None else ""
                    say(f"  {f.metric}: {f.value:,.3f} {f.unit}{ratio}")
            figures += got
    write(options.report, figures, options.command, failures, time.monotonic() - started)
    say(f"report: {options.report}")
    return 1 if failures else 0
