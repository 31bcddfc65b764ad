"""An httpx transport over an aiohttp session: httpx stays the client API, aiohttp moves the bytes.

httpx's default transport (httpcore) spent more CPU per request than everything else in the dispatcher
at a few thousand requests per second; aiohttp's HTTP/1.1 connection handling is several times cheaper
(docs/performance.md has the measurements). The body is read here, inside the transport, so httpx gets a
finished response and skips its own chunked re-read. aiohttp's errors are converted at this boundary to
httpx's, the way httpx's own transports do, so ``ZaloClient`` only ever catches httpx types: a timeout
while connecting or reading is a timeout (the request may have reached Zalo), anything else a network
error.
"""

from __future__ import annotations

import aiohttp
import httpx

_STALE = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests with one lazily created aiohttp session (created inside the running loop)."""

    def __init__(self, max_connections: int = 64, keepalive_s: float = 15.0) -> None:
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # No cookie jar: Zalo sets none, and the jar's per-request host matching showed in profiles.
        connector = aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=self._keepalive_s)
        self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the whole response."""
        session = self._session or self._open()
        timeout = request.extensions.get("timeout", {})
        limits = aiohttp.ClientTimeout(
            connect=timeout.get("pool"), sock_connect=timeout.get("connect"), sock_read=timeout.get("read")
        )
        try:
            async with session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=request.content or None,
                timeout=limits,
                allow_redirects=False,
                auto_decompress=True,
            ) as response:
                body = await response.read()
                # The body is already decompressed: its encoding and length headers no longer describe it.
                headers = [(k, v) for k, v in response.raw_headers if k.lower() not in _STALE]
                return httpx.Response(response.status, headers=headers, content=body, request=request)
        except TimeoutError as exc:  # aiohttp's timeouts subclass it
            kind = httpx.ConnectTimeout if isinstance(exc, aiohttp.ConnectionTimeoutError) else httpx.ReadTimeout
            raise kind(f"{type(exc).__name__}: {exc}", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.NetworkError(f"{type(exc).__name__}: {exc}", request=request) from exc

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
