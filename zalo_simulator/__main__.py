"""Command line: ``python -m zalo_simulator [--config FILE] [--port N] ...``.

Lets compose files and scripts run the simulator as a process.  Options override
the JSON config file; there is deliberately no environment-variable input.
"""

from __future__ import annotations

import argparse
import dataclasses

from zalo_simulator.config import SimulatorConfig, load_config
from zalo_simulator.durations import parse_duration
from zalo_simulator.faults import FaultSpec
from zalo_simulator.server import serve


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m zalo_simulator", description=__doc__)
    p.add_argument("--config", help="JSON config file (SimulatorConfig field names)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--faults", help='fault spec, e.g. "5xx=0.05,timeout=0.02,latency=2ms"')
    p.add_argument("--webhook-url", help="where to POST ZBS delivery receipts")
    p.add_argument("--receipt-delay", type=parse_duration, help="delay before a receipt (e.g. 500ms)")
    p.add_argument("--night-ban", action="store_true", help="reject sends 22:00-06:00 VN time (-133)")
    p.add_argument("--seed", type=int)
    return p


def main(argv: list[str] | None = None) -> None:
    """Parse options, build the config and serve until SIGTERM/SIGINT."""
    args = _parser().parse_args(argv)
    config = load_config(args.config) if args.config else SimulatorConfig()
    changes: dict[str, object] = {}
    if args.faults is not None:
        changes["faults"] = FaultSpec.parse(args.faults)
    if args.webhook_url is not None:
        changes["webhook_url"] = args.webhook_url
    if args.receipt_delay is not None:
        changes["receipt_delay_s"] = args.receipt_delay
    if args.night_ban:
        changes["night_ban"] = True
    if args.seed is not None:
        changes["seed"] = args.seed
    if changes:
        config = dataclasses.replace(config, **changes)
    serve(config, args.host, args.port)


if __name__ == "__main__":
    main()
