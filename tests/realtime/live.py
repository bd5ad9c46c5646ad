"""A real server for the realtime tests: uvicorn on a free port, on the test's own loop.

The app runs in-process on the test's event loop (asyncpg's connections
belong to the loop that opened them), and the tests talk to it as a browser
would: HTTP with httpx over TCP, the inbox over a real websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from frontdesk.app import create_app
from frontdesk.config import Settings
from frontdesk.realtime.pubsub import PubSub
from frontdesk.runtime import Runtime

# Every wait is bounded: a missing frame fails the test in seconds, never hangs it.
WAIT = 5.0

REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

Frame = dict[str, Any]


@dataclass
class LiveServer:
    runtime: Runtime
    port: int

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def serve(runtime: Runtime) -> AsyncIterator[LiveServer]:
    """Serve the app on ``runtime`` at 127.0.0.1 on a free port until the block ends."""
    app = create_app(runtime=runtime)
    app.state.runtime = runtime
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
        log_config=None,  # leave the process's logging set-up alone
        timeout_graceful_shutdown=int(WAIT),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(WAIT):
            while not server.started:
                if task.done():
                    task.result()  # startup failed: raise its error
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        port: int = server.servers[0].sockets[0].getsockname()[1]
        yield LiveServer(runtime=runtime, port=port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=3 * WAIT)


class Inbox:
    """One open ``/ws/inbox``: frames in the order the server sent them."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, frame: str | bytes | dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame) if isinstance(frame, dict) else frame)

    async def next(self) -> Frame:
        raw = await asyncio.wait_for(self.ws.recv(), timeout=WAIT)
        frame: Frame = json.loads(raw)
        return frame

    async def until(self, match: Callable[[Frame], bool]) -> list[Frame]:
        """Every frame up to and including the first that matches."""
        frames: list[Frame] = []
        while True:
            frame = await self.next()
            frames.append(frame)
            if match(frame):
                return frames

    async def closed_code(self) -> int:
        """The code the server closes the socket with; a frame before the close fails."""
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout=WAIT)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code
        raise AssertionError(f"expected the socket to be closed, got the frame {raw!r}")

    async def close(self) -> None:
        await self.ws.close()


# connect_inbox(query="", server=None) and open_inbox(actor, server=None)
OpenInbox = Callable[..., Awaitable[Inbox]]


@dataclass
class RedisRuntimes:
    """Runtimes on one database and one Redis namespace: one per app process."""

    settings: Settings
    made: list[Runtime] = field(default_factory=list)

    async def new(self) -> Runtime:
        rt = Runtime(self.settings, pool_size=4)
        self.made.append(rt)
        await rt.start(worker=False)
        return rt


class SlowToSubscribe:
    """A pub/sub whose subscriptions take a while to become live, as over a busy network."""

    def __init__(self, inner: PubSub, delay_s: float = 0.5) -> None:
        self.inner = inner
        self.delay_s = delay_s

    async def publish(self, channel: str, data: bytes) -> None:
        await self.inner.publish(channel, data)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        await asyncio.sleep(self.delay_s)
        async with self.inner.subscribe(channel) as messages:
            yield messages

    async def close(self) -> None:
        await self.inner.close()
