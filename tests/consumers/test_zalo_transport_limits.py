"""The Zalo transport over a real socket: a trickling answer ends at the total deadline, a huge one is cut."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from consumers.zalo.client import ZaloClient
from hoso.errors import RetryableDelivery


@asynccontextmanager
async def server(answer: Callable[[asyncio.StreamWriter], object]) -> AsyncIterator[str]:
    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        try:
            await answer(writer)  # type: ignore[misc]
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.close()


async def trickle(writer: asyncio.StreamWriter) -> None:
    body = b'{"error": 0, "message": "Success", "data": {"msg_id": "m1"}}' + b" " * 200
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
    for byte in body:  # one byte every 0.2 s: each read is quick, the whole answer takes about a minute
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.2)


async def huge(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    for _ in range(200):  # about 13 MB, never declared up front
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
    writer.write(b"0\r\n\r\n")


async def send(url: str) -> None:
    client = ZaloClient(zbs_url=url, oa_url=url, oauth_url=url, timeout=2.0)
    try:
        await client.send_template("tok", phone="84912345678", template_id="t", template_data={}, tracking_id="x")
    finally:
        await client.aclose()


async def test_a_trickling_response_ends_at_the_total_request_deadline():
    async with server(trickle) as url:
        started = time.monotonic()
        with pytest.raises(RetryableDelivery, match="timeout"):
            await send(url)
    assert time.monotonic() - started < 5, "ended near the 2 s deadline, not after the whole trickle"


async def test_a_response_larger_than_the_cap_is_refused_without_buffering_it():
    async with server(huge) as url:
        with pytest.raises(RetryableDelivery, match="network: ResponseTooLarge"):
            await send(url)
