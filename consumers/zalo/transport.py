"""An httpx transport over an aiohttp session: httpx stays the client API, aiohttp moves the bytes.

httpx's default transport (httpcore) spent more CPU per request than everything else in the dispatcher
at a few thousand requests per second; aiohttp's HTTP/1.1 connection handling is several times cheaper
(docs/performance.md has the measurements). The body is read here, inside the transport, so httpx gets a
finished response and skips its own chunked re-read. aiohttp's errors are converted at this boundary to
httpx's, the way httpx's own transports do, so ``ZaloClient`` only ever catches httpx types: a timeout
while connecting or reading is a timeout (the request may have reached Zalo), anything else a network
error.

Two limits keep a misbehaving server from holding a chain (and so its partition's commits) forever: a
*total* deadline per request (connect + send + the whole body, not just the gap between two reads, so a
response trickled one byte a second still ends), and a cap on the response body size (Zalo's answers are a
few hundred bytes; a huge one is an error, not something to buffer).
"""

from __future__ import annotations

import aiohttp
import httpx

_STALE = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})
MAX_RESPONSE_BYTES = 256 * 1024
DEFAULT_TOTAL_S = 30.0


class ResponseTooLarge(httpx.NetworkError):
    """The server sent more than ``MAX_RESPONSE_BYTES``; the answer is treated like a broken connection."""


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests with one lazily created aiohttp session (created inside the running loop)."""

    def __init__(
        self,
        max_connections: int = 64,
        keepalive_s: float = 15.0,
        *,
        total_s: float = DEFAULT_TOTAL_S,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._total_s = total_s
        self._max_bytes = max_response_bytes
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
            total=timeout.get("read") or self._total_s,  # the request's timeout bounds the whole exchange
            connect=timeout.get("pool"),
            sock_connect=timeout.get("connect"),
            sock_read=timeout.get("read"),
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
                body = await self._read_capped(response, request)
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

    async def _read_capped(self, response: aiohttp.ClientResponse, request: httpx.Request) -> bytes:
        declared = response.content_length
        if declared is not None and declared > self._max_bytes:
            raise ResponseTooLarge(f"response of {declared} bytes (limit {self._max_bytes})", request=request)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(16 * 1024):
            size += len(chunk)
            if size > self._max_bytes:
                raise ResponseTooLarge(f"response over {self._max_bytes} bytes", request=request)
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
