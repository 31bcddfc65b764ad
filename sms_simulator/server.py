"""Running the SMS simulator in-process (``start``) or as a process (``serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass

from aiohttp import web

from sms_simulator.app import STATE_KEY, SmsSimConfig, SmsSimState, create_app


@dataclass(slots=True)
class RunningSmsSimulator:
    """A simulator listening on a socket; ``await stop()`` when done."""

    url: str
    app: web.Application
    _runner: web.AppRunner

    @property
    def state(self) -> SmsSimState:
        """Delivered texts and counters."""
        return self.app[STATE_KEY]

    async def stop(self) -> None:
        """Close the socket."""
        await self._runner.cleanup()

    async def __aenter__(self) -> RunningSmsSimulator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def start(config: SmsSimConfig, host: str = "127.0.0.1", port: int = 0) -> RunningSmsSimulator:
    """Start on ``host:port`` (0: a free port) in the running loop."""
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = int(runner.addresses[0][1])
    return RunningSmsSimulator(f"http://{host}:{bound}", app, runner)


async def _serve(config: SmsSimConfig, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    running = await start(config, host, port)
    print(f"sms-simulator listening on {running.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await running.stop()


def serve(config: SmsSimConfig, host: str = "127.0.0.1", port: int = 18081) -> None:
    """Run until SIGTERM or SIGINT."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config, host, port))
