"""Fixtures of the realtime tests: a live server, sockets to it, Redis-backed runtimes."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from conftest import IN_CI, Actor
from frontdesk.config import Settings
from frontdesk.runtime import Runtime
from realtime.live import (
    REDIS_URL,
    WAIT,
    Inbox,
    LiveServer,
    OpenInbox,
    RedisRuntimes,
    serve,
)


@pytest.fixture
async def live(runtime: Runtime) -> AsyncIterator[LiveServer]:
    """The app on the ``runtime`` fixture, served by uvicorn at 127.0.0.1."""
    async with serve(runtime) as server:
        yield server


@pytest.fixture
async def http(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the live server, over TCP."""
    async with httpx.AsyncClient(base_url=live.http_url, timeout=WAIT) as c:
        yield c


@pytest.fixture
async def connect_inbox(live: LiveServer) -> AsyncIterator[OpenInbox]:
    """Open sockets to ``/ws/inbox`` (``query`` appended to the URL); all closed at teardown."""
    opened: list[ClientConnection] = []

    async def open_socket(query: str = "", server: LiveServer | None = None) -> Inbox:
        url = f"{(server or live).ws_url}/ws/inbox{query}"
        ws = await connect(url, open_timeout=WAIT, close_timeout=WAIT)
        opened.append(ws)
        return Inbox(ws)

    try:
        yield open_socket
    finally:
        for ws in opened:
            await ws.close()


@pytest.fixture
async def open_inbox(connect_inbox: OpenInbox) -> OpenInbox:
    """Sign ``actor`` in (access token in the URL) and wait for the ``ready`` frame."""

    async def open_signed_in(actor: Actor, server: LiveServer | None = None) -> Inbox:
        inbox = await connect_inbox(f"?access_token={actor.token}", server=server)
        ready = await inbox.next()
        assert ready == {"type": "ready", "user_id": str(actor.user_id)}, ready
        return inbox

    return open_signed_in


# --- Redis ----------------------------------------------------------------------


async def _probe_redis() -> None:
    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def _redis_available() -> bool:
    """As PostgreSQL in tests/conftest.py: skipped when absent, except in CI."""
    if os.environ.get("FRONTDESK_TEST_REDIS", "1") == "0":
        if IN_CI:
            pytest.fail("Redis is required in CI")
        return False
    try:
        asyncio.run(_probe_redis())
    except (OSError, aioredis.RedisError) as exc:
        if IN_CI:
            pytest.fail(f"Redis is required in CI and is not reachable: {exc}")
        return False
    return True


@pytest.fixture
async def redis_runtimes(
    settings: Settings, _redis_available: bool
) -> AsyncIterator[RedisRuntimes]:
    """Build with ``await redis_runtimes.new()``: each stands in for one app process."""
    if not _redis_available:
        pytest.skip("Redis is not available (set up per infra/README.md)")
    namespace = f"frontdesk-test-{uuid.uuid4().hex[:12]}"
    runtimes = RedisRuntimes(
        msgspec.structs.replace(settings, redis_url=REDIS_URL, redis_namespace=namespace)
    )
    try:
        yield runtimes
    finally:
        for rt in runtimes.made:
            await rt.close()
        # Whatever the broker left under this test's namespace.
        client = aioredis.Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=f"{namespace}*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()
