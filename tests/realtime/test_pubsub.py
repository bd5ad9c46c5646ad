"""The Redis pub/sub: one connection per process, however many subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from frontdesk.realtime.pubsub import RedisPubSub
from realtime.live import REDIS_URL, WAIT


@pytest.fixture
async def bus(_redis_available: bool) -> RedisPubSub:
    if not _redis_available:
        pytest.skip("Redis is not available (set up per infra/README.md)")
    pubsub = RedisPubSub(REDIS_URL, f"frontdesk-test-{uuid.uuid4().hex[:12]}")
    yield pubsub  # type: ignore[misc]
    await pubsub.close()


async def test_more_subscribers_than_the_client_has_connections(bus: RedisPubSub) -> None:
    """150 channels and two subscribers on one of them: the pool's 100 connections
    would have run out with a connection per subscription."""
    async with contextlib.AsyncExitStack() as stack:
        streams = [
            await stack.enter_async_context(bus.subscribe(f"visitor-{i}")) for i in range(150)
        ]
        twice = await stack.enter_async_context(bus.subscribe("visitor-7"))
        for i in (0, 7, 149):
            await bus.publish(f"visitor-{i}", f"hello {i}".encode())
        got = [await asyncio.wait_for(anext(streams[i]), WAIT) for i in (0, 7, 149)]
        assert got == [b"hello 0", b"hello 7", b"hello 149"]
        assert await asyncio.wait_for(anext(twice), WAIT) == b"hello 7"
    # Everyone left: subscribing again works, on the same connection.
    async with bus.subscribe("visitor-0") as again:
        await bus.publish("visitor-0", b"back")
        assert await asyncio.wait_for(anext(again), WAIT) == b"back"
