"""The widget's script and the visitors' socket, mounted under ``/channels/webchat/``.

One socket per open widget: ``/channels/webchat/ws/<public id>``. The first
frame is ``hello``; the server answers ``welcome`` (with the session token
to keep), then every transcript entry after the one the visitor last saw,
then live entries as they happen. Every refusal is an ``error`` frame with a
``code``; the fatal ones are followed by a close with a 4xxx code.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any, Literal, cast

import msgspec
from litestar import Response, WebSocket, get, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from frontdesk.channels import (
    ChannelGateway,
    ChannelNotFound,
    ChannelServices,
    InboundRequest,
    MalformedPayload,
    OpenChannel,
    SignatureInvalid,
    mask_sensitive_numbers,
)
from frontdesk_webchat import limits, signing
from frontdesk_webchat.adapter import WebchatAdapter, record_and_publish, topic_of
from frontdesk_webchat.wire import (
    Ack,
    Entry,
    EntryFrame,
    ErrorCode,
    ErrorFrame,
    Hello,
    IntakeActivity,
    IntakeMessage,
    IntakeSender,
    Ping,
    Pong,
    Prechat,
    Read,
    Say,
    ServerFrame,
    Typing,
    VisitorFrame,
    Welcome,
)

log = logging.getLogger("frontdesk.webchat")

CLOSE_PROTOCOL = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429
CLOSE_UNAVAILABLE = 4503
HELLO_TIMEOUT_S = 15.0
#: Entries sent on (re)connection, at most: the rest of a long history is not replayed.
REPLAY_LIMIT = 500
#: A visitor's typing is passed on to agents at most this often.
TYPING_EVERY_S = 3.0

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(VisitorFrame)
_WIDGET = resources.files("frontdesk_webchat").joinpath("static/widget.js").read_text("utf-8")


@get("/widget.js", include_in_schema=False, sync_to_thread=False)
def widget_script() -> Response[str]:
    """The embeddable widget: ``<script src=".../widget.js" data-channel="PUBLIC_ID" defer>``."""
    return Response(
        _WIDGET,
        media_type="application/javascript; charset=utf-8",
        headers={"cache-control": "public, max-age=300", "x-content-type-options": "nosniff"},
    )


# Stricter than "has an @": the platform refuses an address that cannot be a
# contact point, and a message from one would never reach a ticket.
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def looks_like_email(value: str) -> bool:
    return len(value) <= 254 and _EMAIL.match(value) is not None


def _origin_allowed(allowed: list[str], origin: str | None) -> bool:
    if not allowed:
        return True
    if not origin:
        return False
    wanted = origin.strip().rstrip("/").lower()
    return any(wanted == a.rstrip("/").lower() for a in allowed)


class Refused(Exception):
    """Ends the socket: the error frame has been sent, close with ``close_code``."""

    def __init__(self, close_code: int) -> None:
        self.close_code = close_code


class VisitorSocket:
    """One visitor's socket, from ``hello`` to close."""

    def __init__(
        self, socket: WebSocket[Any, Any, Any], channel: OpenChannel, adapter: WebchatAdapter
    ) -> None:
        self.socket = socket
        self.channel = channel
        self.adapter = adapter
        self.config = adapter.config
        services = adapter.context.services
        if services is None:  # pragma: no cover - the platform always sets it
            raise RuntimeError("the web chat adapter needs the platform's services (SDK 1.1)")
        self.services: ChannelServices = services
        self.address = socket.client.host if socket.client else "unknown"
        self.frames = limits.Bucket(
            self.config.frames_per_second, 2 * self.config.frames_per_second
        )
        self.refusals = 0
        self._send_lock = asyncio.Lock()
        self._last_seq = 0
        self._typing_at = -TYPING_EVERY_S
        self._read_seq = 0
        # Who is talking, settled by hello.
        self.visitor_id = ""
        self.conversation = ""
        self.verified: Hello | None = None
        self.sender: IntakeSender | None = None
        self.topic: str | None = None
        self.after = 0
        self.offline = False

    # -- sending -----------------------------------------------------------------

    async def send(self, frame: ServerFrame) -> None:
        async with self._send_lock:
            await self.socket.send_text(_encoder.encode(frame).decode())

    async def send_entry(self, seq: int, data: bytes) -> None:
        """Entries go out once each, in order, whether replayed or live."""
        if seq <= self._last_seq:
            return
        self._last_seq = seq
        async with self._send_lock:
            await self.socket.send_text(data.decode())

    async def refuse(
        self,
        code: ErrorCode,
        detail: str,
        *,
        close: int | None = None,
        retry_after: float | None = None,
        id: str | None = None,
    ) -> None:
        await self.send(ErrorFrame(code=code, detail=detail, retry_after=retry_after, id=id))
        if close is not None:
            raise Refused(close)
        self.refusals += 1
        if self.refusals >= self.config.max_refusals:
            await self.send(
                ErrorFrame(code="too_many_refusals", detail="too many refused frames; closing")
            )
            raise Refused(CLOSE_TOO_MANY)

    # -- receiving ---------------------------------------------------------------

    async def receive(self) -> str | None:
        """The next text frame within the size limit; None after a refusal."""
        event = cast("dict[str, Any]", await self.socket.receive())
        if event["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(detail="disconnected", code=event.get("code", 1000))
        text = cast("str | None", event.get("text"))
        raw = cast("bytes | None", event.get("bytes"))
        size = len(text.encode()) if text is not None else len(raw or b"")
        if self.frames.take() is not None:
            await self.refuse("rate_limited", "too many frames; slow down", retry_after=1.0)
            return None
        if size > self.config.max_frame_bytes:
            await self.refuse(
                "too_large", f"frames are at most {self.config.max_frame_bytes} bytes"
            )
            return None
        if text is None:
            await self.refuse("malformed", "frames are JSON text, not binary")
            return None
        return text

    def decode(self, text: str) -> VisitorFrame | str:
        try:
            frame: VisitorFrame = _decoder.decode(text)
        except msgspec.DecodeError as exc:
            return str(exc)
        return frame

    # -- the conversation ---------------------------------------------------------

    async def hello(self) -> None:
        while True:
            text = await asyncio.wait_for(self.receive(), timeout=HELLO_TIMEOUT_S)
            if text is None:
                continue
            frame = self.decode(text)
            if isinstance(frame, str):
                await self.refuse("malformed", f"not a frame this socket understands: {frame}")
                continue
            if not isinstance(frame, Hello):
                await self.refuse("hello_expected", "the first frame is hello")
                continue
            break
        secret = self.config.secret
        visitor = signing.visitor_of(secret, frame.session) if frame.session else None
        self.visitor_id = visitor or signing.new_visitor_id()
        if frame.identity is not None:
            ident = frame.identity
            if not signing.identity_valid(
                self.config.identity_secret, ident.user_id, ident.email, ident.user_hash
            ):
                log.info("refused a web chat identity on channel %s", self.channel.public_id)
                await self.refuse(
                    "identity_invalid",
                    "the identity's user_hash is wrong for this user and email",
                    close=CLOSE_UNAUTHENTICATED,
                )
            if not looks_like_email(ident.email):
                await self.refuse(
                    "identity_invalid",
                    "the identity's email is not an email address",
                    close=CLOSE_UNAUTHENTICATED,
                )
            self.verified = frame
            self.conversation = signing.conversation_key(secret, user_id=ident.user_id)
            self.sender = IntakeSender(kind="email", value=ident.email, name=ident.name)
        else:
            self.conversation = signing.conversation_key(secret, visitor_id=self.visitor_id)
        self.after = frame.after

    def _needs_email(self) -> bool:
        """Outside opening hours a message is answered by email, so it needs one;
        except where typed emails are not trusted (verification required)."""
        return (
            self.offline
            and self.verified is None
            and not self.config.verification_required
            and (self.sender is None or self.sender.kind != "email")
        )

    async def welcome(self) -> None:
        self.offline = not self.config.is_open(dt.datetime.now(dt.UTC))
        fields: list[str] = list(self.config.prechat_fields)
        if self._needs_email():
            fields += [f for f in ("name", "email") if f not in fields]
        await self.send(
            Welcome(
                session=signing.session_token(self.config.secret, self.visitor_id),
                verified=self.verified is not None,
                title=self.config.title,
                greeting=self.config.greeting,
                prechat_fields=fields,
                prechat_done=self.verified is not None or not fields,
                max_message_chars=self.config.max_message_chars,
                online=not self.offline,
                offline_message=self.config.offline_message if self.offline else "",
            )
        )
        for item in await self.services.history(
            self.conversation, after=self.after, limit=REPLAY_LIMIT
        ):
            entry = msgspec.json.decode(item.data, type=Entry)
            await self.send_entry(item.seq, _encoder.encode(EntryFrame(seq=item.seq, entry=entry)))

    async def prechat(self, frame: Prechat) -> None:
        if self.verified is not None:
            return  # a verified visitor is who the host site says
        name = (frame.name or "").strip() or None
        email = (frame.email or "").strip() or None
        self.topic = (frame.topic or "").strip() or None
        if email is not None:
            if self.config.verification_required:
                await self.refuse(
                    "identity_not_accepted",
                    "this site verifies identities: an email typed here is not used",
                )
            elif not looks_like_email(email):
                await self.refuse("message_invalid", "that is not an email address")
                return
            else:
                self.sender = IntakeSender(kind="email", value=email, name=name)
                return
        self.sender = IntakeSender(kind="webchat", value=self.visitor_id, name=name)

    async def say(self, frame: Say) -> None:
        text = frame.text.strip()
        if not text:
            await self.refuse("message_invalid", "an empty message", id=frame.id)
            return
        if len(text) > self.config.max_message_chars:
            await self.refuse(
                "too_large",
                f"messages are at most {self.config.max_message_chars} characters",
                id=frame.id,
            )
            return
        for buckets, key, per_minute in (
            (limits.VISITORS, f"{self.channel.public_id}:{self.conversation}",
             self.config.visitor_messages_per_minute),
            (limits.ADDRESSES, f"{self.channel.public_id}:{self.address}",
             self.config.ip_messages_per_minute),
        ):  # fmt: skip
            wait = buckets.take(key, per_minute=per_minute)
            if wait is not None:
                await self.refuse(
                    "rate_limited",
                    "too many messages; wait a little",
                    retry_after=round(wait, 1),
                    id=frame.id,
                )
                return
        if self._needs_email():
            await self.refuse(
                "email_required",
                "we are away: leave your email address in the form, and we will answer by email",
                id=frame.id,
            )
            return
        sender = self._sender()
        now = dt.datetime.now(dt.UTC)
        message = IntakeMessage(
            id=frame.id,
            conversation=self.conversation,
            sender=sender,
            text=text,
            sent_at=now,
            topic=self.topic,
            offline=self.offline,
        )
        if not await self._submit(message, frame.id):
            return
        entry = Entry(
            id=f"v-{frame.id}",
            author="visitor",
            text=mask_sensitive_numbers(text),
            at=now,
            name=sender.name,
        )
        seq = await record_and_publish(self.adapter, self.conversation, entry)
        await self.send(Ack(id=frame.id, seq=seq))

    def _sender(self) -> IntakeSender:
        return self.sender or IntakeSender(kind="webchat", value=self.visitor_id)

    async def activity(self, kind: Literal["typing", "read"], seq: int | None = None) -> None:
        """Shown to agents live. At most one typing signal per few seconds is
        passed on, and a read receipt only when it moves forward: the rest are
        dropped without an answer (the socket's frame limit still counts them)."""
        now = time.monotonic()
        if kind == "typing":
            if now - self._typing_at < TYPING_EVERY_S:
                return
            self._typing_at = now
        else:
            assert seq is not None
            seq = min(seq, self._last_seq)
            if seq <= self._read_seq:
                return
            self._read_seq = seq
        event = IntakeActivity(
            id=uuid.uuid4().hex,
            kind=kind,
            conversation=self.conversation,
            sender=self._sender(),
            sent_at=dt.datetime.now(dt.UTC),
            seq=seq,
        )
        await self._submit(event, None)

    async def _submit(self, item: IntakeMessage | IntakeActivity, id: str | None) -> bool:
        """Through the intake, signed; False (with an error sent) when refused."""
        body = _encoder.encode(item)
        request = InboundRequest(
            method="POST",
            url=self.adapter.context.webhook_url,
            headers={
                "content-type": "application/json",
                signing.SIGNATURE_HEADER: signing.sign_body(self.config.secret, body),
            },
            query={},
            body=body,
        )
        try:
            await self.channel.submit(request)
        except (MalformedPayload, SignatureInvalid) as exc:
            await self.refuse("message_invalid", f"the message was refused: {exc}", id=id)
            return False
        except ChannelNotFound:
            await self.refuse(
                "channel_not_found", "this chat has been switched off", close=CLOSE_NOT_FOUND
            )
        return True

    async def forward(self, live: AsyncIterator[bytes]) -> None:
        async for data in live:
            try:
                seq = msgspec.json.decode(data, type=EntryFrame).seq
            except msgspec.DecodeError:
                continue
            await self.send_entry(seq, data)

    async def converse(self) -> None:
        while True:
            text = await self.receive()
            if text is None:
                continue
            frame = self.decode(text)
            if isinstance(frame, str):
                await self.refuse("malformed", f"not a frame this socket understands: {frame}")
            elif isinstance(frame, Say):
                await self.say(frame)
            elif isinstance(frame, Prechat):
                await self.prechat(frame)
            elif isinstance(frame, Typing):
                await self.activity("typing")
            elif isinstance(frame, Read):
                await self.activity("read", frame.seq)
            elif isinstance(frame, Ping):
                await self.send(Pong())
            else:
                await self.refuse("malformed", "hello is sent once, first")

    async def run(self) -> None:
        origin = self.socket.headers.get("origin")
        if not _origin_allowed(self.config.allowed_origins, origin):
            await self.refuse(
                "origin_not_allowed",
                f"this chat is not offered on {origin or 'a page without an origin'}",
                close=CLOSE_FORBIDDEN,
            )
        await self.hello()
        async with self.services.subscribe(topic_of(self.conversation)) as live:
            # Subscribed first, then the history: nothing published in between is lost.
            await self.welcome()
            await _until_first(self.forward(live), self.converse())


async def _until_first(*coros: Any) -> None:
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@websocket("/ws/{public_id:str}")
async def visitor_socket(
    socket: WebSocket[Any, Any, Any],
    public_id: FromPath[str],
    channel_gateway: NamedDependency[ChannelGateway],
) -> None:
    """A visitor's live conversation; the protocol is in this module's docstring and README."""
    await socket.accept()
    session: VisitorSocket | None = None
    try:
        try:
            channel = await channel_gateway.open(WebchatAdapter.kind, public_id)
        except ChannelNotFound:
            await socket.send_text(
                _encoder.encode(
                    ErrorFrame(code="channel_not_found", detail="no such chat")
                ).decode()
            )
            raise Refused(CLOSE_NOT_FOUND) from None
        session = VisitorSocket(socket, channel, cast(WebchatAdapter, channel.adapter))
        await session.run()
    except Refused as refused:
        with contextlib.suppress(Exception):
            await socket.close(code=refused.close_code)
    except (WebSocketDisconnect, TimeoutError):
        with contextlib.suppress(Exception):
            await socket.close(code=CLOSE_PROTOCOL)
    except Exception:
        # A fault on one socket (the database or Redis away) ends that socket, clearly.
        log.exception("web chat socket failed on channel %s", public_id)
        with contextlib.suppress(Exception):
            await socket.send_text(
                _encoder.encode(
                    ErrorFrame(code="unavailable", detail="the chat is unavailable; try again")
                ).decode()
            )
            await socket.close(code=CLOSE_UNAVAILABLE)


ROUTES: list[Any] = [widget_script, visitor_socket]
