"""Command line: ``python -m sms_simulator [--port N] [--key KEY=BRAND[,BRAND]] [--fail-first N]``."""

from __future__ import annotations

import argparse

from sms_simulator.app import SmsSimConfig
from sms_simulator.server import serve


def main(argv: list[str] | None = None) -> None:
    """Parse options and serve until SIGTERM/SIGINT."""
    p = argparse.ArgumentParser(prog="python -m sms_simulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18081)
    p.add_argument("--key", action="append", default=[], help="API key and its brandnames: KEY=BRAND[,BRAND]")
    p.add_argument("--fail-first", type=int, default=0, help="answer the first N sends with 503")
    args = p.parse_args(argv)
    keys = {k: tuple(b.split(",")) for k, _, b in (item.partition("=") for item in args.key)}
    config = SmsSimConfig(keys=keys or SmsSimConfig().keys, fail_first=args.fail_first)
    serve(config, args.host, args.port)


if __name__ == "__main__":
    main()
