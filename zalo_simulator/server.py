"""Running the simulator: in-process for tests (``start``) or as a process (``serve``).

``serve`` prints exactly one line, ``zalo-simulator listening on http://host:port``,
once the socket accepts connections, so other processes can wait for it (or poll
``/_sim/health``).  Access logging is off: per-request logging would cost more
than the request itself at several thousand requests per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass

from aiohttp import web

from zalo_simulator.app import SIMULATOR_KEY, create_app
from zalo_simulator.config import SimulatorConfig
from zalo_simulator.runtime import Simulator
from zalo_simulator.state import SimState

SHUTDOWN_TIMEOUT_S = 1.0
"""How long shutdown waits for held ("timeout" fault) responses before dropping them."""


@dataclass(slots=True)
class RunningSimulator:
    """A simulator listening on a socket; ``await stop()`` when done."""

    url: str
    host: str
    port: int
    simulator: Simulator
    _runner: web.AppRunner

    @property
    def state(self) -> SimState:
        """Recorded messages and counters (same data as /_sim/stats)."""
        return self.simulator.state

    async def stop(self) -> None:
        """Close the listening socket, finish or drop in-flight requests, stop receipts."""
        await self._runner.cleanup()

    async def __aenter__(self) -> RunningSimulator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def start(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0) -> RunningSimulator:
    """Start a simulator on ``host:port`` (port 0 picks a free one) in the running loop."""
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = int(runner.addresses[0][1])
    url_host = f"[{host}]" if ":" in host else host
    return RunningSimulator(f"http://{url_host}:{bound_port}", host, bound_port, app[SIMULATOR_KEY], runner)


async def _serve(config: SimulatorConfig, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    running = await start(config, host, port)
    print(f"zalo-simulator listening on {running.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await running.stop()


def serve(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run a simulator until SIGTERM or SIGINT, then shut down cleanly."""
    # KeyboardInterrupt only arrives when signal handlers could not be installed.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config, host, port))
    sys.stdout.flush()
