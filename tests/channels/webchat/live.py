"""Helpers of the web chat tests: a channel made through the API, visitors over real sockets."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from conftest import TenantUnderTest
from realtime.live import WAIT, LiveServer

SECRET = "webchat-channel-secret-0123456789"
IDENTITY_SECRET = "host-site-identity-secret"
SHOP = "https://shop.example.com"

Frame = dict[str, Any]


class WebchatChannel(msgspec.Struct):
    id: str
    public_id: str


async def make_webchat_channel(
    client: httpx.AsyncClient, tenant: TenantUnderTest, **config: Any
) -> WebchatChannel:
    body = {
        "secret": SECRET,
        "identity_secret": IDENTITY_SECRET,
        "allowed_origins": [SHOP],
        **config,
    }
    r = await client.post(
        "/api/v1/channels",
        headers=tenant.admin.headers,
        json={"kind": "webchat", "name": f"site-{uuid.uuid4().hex[:6]}", "config": body},
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["config"]["secret"] == out["config"]["identity_secret"] == "********"
    return WebchatChannel(id=out["id"], public_id=out["webhook_url"].rsplit("/", 1)[1])


class Visitor:
    """One widget's socket: frames in the order the server sent them."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.session: str | None = None

    @classmethod
    async def connect(
        cls, server: LiveServer, channel: WebchatChannel, *, origin: str | None = SHOP
    ) -> Visitor:
        headers = {"Origin": origin} if origin else {}
        ws = await connect(
            f"{server.ws_url}/channels/webchat/ws/{channel.public_id}",
            additional_headers=headers,
            open_timeout=WAIT,
            close_timeout=WAIT,
            max_size=None,
        )
        return cls(ws)

    async def send(self, frame: Frame | str | bytes) -> None:
        await self.ws.send(json.dumps(frame) if isinstance(frame, dict) else frame)

    async def next(self) -> Frame:
        frame: Frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout=WAIT))
        return frame

    async def until(self, match: Callable[[Frame], bool]) -> list[Frame]:
        frames = []
        while True:
            frames.append(await self.next())
            if match(frames[-1]):
                return frames

    async def hello(self, **fields: Any) -> Frame:
        await self.send({"type": "hello", **fields})
        welcome = await self.next()
        assert welcome["type"] == "welcome", welcome
        self.session = welcome["session"]
        return welcome

    async def say(self, text: str, id: str | None = None) -> Frame:
        """Send a message; returns its ack (entries of the conversation may come first)."""
        message_id = id or uuid.uuid4().hex[:16]
        await self.send({"type": "message", "id": message_id, "text": text})
        frames = await self.until(lambda f: f["type"] in ("ack", "error"))
        assert frames[-1]["type"] == "ack", frames[-1]
        assert frames[-1]["id"] == message_id
        return frames[-1]

    async def closed_code(self) -> int:
        """Frames up to the close are skipped; the close code."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout=WAIT)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code

    async def close(self) -> None:
        await self.ws.close()


def agent_entry(frame: Frame) -> bool:
    return frame["type"] == "entry" and frame["entry"]["author"] == "agent"


async def wait_for(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` (a coroutine function) until it returns something truthy, bounded by WAIT."""
    async with asyncio.timeout(WAIT * 4):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.05)
    raise AssertionError(what)  # pragma: no cover


async def tickets_of(http: httpx.AsyncClient, tenant: TenantUnderTest) -> list[dict[str, Any]]:
    r = await http.get("/api/v1/tickets", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def messages_of(
    http: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str
) -> list[dict[str, Any]]:
    r = await http.get(f"/api/v1/tickets/{ticket_id}/messages", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def reply(
    http: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str, text: str
) -> None:
    r = await http.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        headers=tenant.users["agent"].headers,
        json={"kind": "reply", "body": text},
    )
    assert r.status_code == 201, r.text
