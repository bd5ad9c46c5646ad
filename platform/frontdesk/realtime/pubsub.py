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
    """Across processes: every app process subscribes to the channels its sockets serve.

    One Redis connection per process carries all of its subscriptions (a
    SUBSCRIBE per channel, whatever the number of local subscribers to it),
    read by one task that hands each message to the channel's local queues:
    a process holding thousands of sockets does not need a connection for
    each (the client's pool stops at 100).
    """

    def __init__(self, url: str, namespace: str) -> None:
        self._url = url
        self._namespace = namespace
        self._client: aioredis.Redis | None = None
        self._pubsub: aioredis.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        # Local subscribers per Redis channel, and those waiting for Redis to
        # confirm the channel's SUBSCRIBE.
        self._local: dict[str, set[asyncio.Queue[bytes]]] = {}
        self._confirming: dict[str, list[asyncio.Future[None]]] = {}

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
        name = f"{self._namespace}:{channel}"
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1000)
        confirmed: asyncio.Future[None] | None = None
        async with self._lock:
            listeners = self._local.setdefault(name, set())
            first = not listeners
            if first or name in self._confirming:
                # Live only once Redis confirms the SUBSCRIBE: a message published
                # from then on (by any process) is delivered.
                confirmed = asyncio.get_running_loop().create_future()
                self._confirming.setdefault(name, []).append(confirmed)
            listeners.add(queue)
            try:
                if first:
                    if self._pubsub is None:
                        self._pubsub = self._redis().pubsub()
                    await self._pubsub.subscribe(name)
                    if self._reader is None or self._reader.done():
                        self._reader = asyncio.create_task(self._read(self._pubsub))
            except BaseException:
                await self._leave(name, queue)
                raise
        try:
            if confirmed is not None:
                await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT_S)
            yield _drain(queue)
        finally:
            async with self._lock:
                await self._leave(name, queue)

    async def _leave(self, name: str, queue: asyncio.Queue[bytes]) -> None:
        listeners = self._local.get(name)
        if listeners is None:
            return
        listeners.discard(queue)
        if listeners:
            return
        del self._local[name]
        self._confirming.pop(name, None)
        if self._pubsub is not None:
            with contextlib.suppress(aioredis.RedisError, OSError, RuntimeError):
                await self._pubsub.unsubscribe(name)

    async def _read(self, pubsub: aioredis.client.PubSub) -> None:
        """The one reader: confirmations to their waiters, messages to their queues."""
        while True:
            try:
                message = await pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError, RuntimeError):
                # Lost the connection: redis-py reconnects and subscribes again
                # on the next read.
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            raw = message.get("channel")
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            if message.get("type") == "subscribe":
                for waiter in self._confirming.pop(name, []):
                    if not waiter.done():
                        waiter.set_result(None)
            elif message.get("type") == "message" and isinstance(message.get("data"), bytes):
                for queue in list(self._local.get(name, ())):
                    _offer(queue, message["data"])

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            with contextlib.suppress(aioredis.RedisError, OSError):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
