"""Publish/subscribe between processes: Redis pub/sub, or in-process for the embedded demo."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import redis.asyncio as aioredis

SUBSCRIBE_TIMEOUT_S = 10.0


class PubSub(Protocol):
    async def publish(self, channel: str, data: bytes) -> None: ...

    def subscribe(
        self, channel: str
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Entered once the subscription is live: what is published after is delivered."""
        ...

    async def close(self) -> None: ...


async def publish_all(pubsub: PubSub, messages: Sequence[tuple[str, bytes]]) -> None:
    """Publish in order, in one round trip where the bus can."""
    many = getattr(pubsub, "publish_many", None)
    if many is not None and len(messages) > 1:
        await many(messages)
        return
    for channel, data in messages:
        await pubsub.publish(channel, data)


class LocalPubSub:
    """One process: subscribers may live on other event loops (the worker's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[
            str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[bytes]]]
        ] = {}

    async def publish(self, channel: str, data: bytes) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        for loop, queue in targets:
            # A slow subscriber drops its oldest frames, never the publisher's time.
            loop.call_soon_threadsafe(_offer, queue, data)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1000)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.setdefault(channel, set()).add(entry)
        try:
            yield _drain(queue)
        finally:
            with self._lock:
                self._subscribers.get(channel, set()).discard(entry)

    async def close(self) -> None:
        return None


def _offer(queue: asyncio.Queue[bytes], data: bytes) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(data)


async def _drain(queue: asyncio.Queue[bytes]) -> AsyncIterator[bytes]:
    while True:
        yield await queue.get()


class RedisPubSub:
    """Across processes: every app process subscribes to the tenants its sockets serve."""

    def __init__(self, url: str, namespace: str) -> None:
        self._url = url
        self._namespace = namespace
        self._client: aioredis.Redis | None = None

    def _redis(self) -> aioredis.Redis:
        # Created on first use, on the loop that uses it.
        if self._client is None:
            self._client = aioredis.Redis.from_url(self._url)
        return self._client

    async def publish(self, channel: str, data: bytes) -> None:
        await self._redis().publish(f"{self._namespace}:{channel}", data)

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """In one round trip, in order."""
        async with self._redis().pipeline(transaction=False) as pipe:
            for channel, data in messages:
                pipe.publish(f"{self._namespace}:{channel}", data)
            await pipe.execute()

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        pubsub = self._redis().pubsub()
        try:
            await pubsub.subscribe(f"{self._namespace}:{channel}")
            # SUBSCRIBE has only been sent: wait until Redis confirms it, so a
            # message published from now on (by any process) is delivered.
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                while True:
                    message = await pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_S)
                    if message is not None and message.get("type") == "subscribe":
                        break
            yield _redis_messages(pubsub)
        finally:
            with contextlib.suppress(aioredis.RedisError, OSError):
                await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def _redis_messages(pubsub: aioredis.client.PubSub) -> AsyncIterator[bytes]:
    while True:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30.0)
        if message is not None and isinstance(message.get("data"), bytes):
            yield message["data"]
