"""The agents' websocket: live ticket and message events, only those the user may see."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Literal
from urllib.parse import urlsplit

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from frontdesk.api.deps import Rt
from frontdesk.auth import service as auth
from frontdesk.auth import tokens
from frontdesk.auth.permissions import Permission
from frontdesk.db import utcnow
from frontdesk.errors import FrontdeskError, Unauthenticated
from frontdesk.realtime.events import (
    ACCESS_CHANGED,
    NOTIFICATION,
    PRESENCE,
    RealtimeEvent,
    tenant_channel,
)
from frontdesk.runtime import Runtime

log = logging.getLogger("frontdesk.realtime")

# The pages' session cookie (frontdesk.web.sessions.COOKIE).
BROWSER_COOKIE = "fd_session"

# Application close codes (4000–4999): 4401 sign-in failed, or signed out since.
CLOSE_UNAUTHENTICATED = 4401


def visible(principal: auth.Principal, event: RealtimeEvent) -> bool:
    """The same rule as the ticket list: all tickets, or one's teams' and one's own.

    A hand-off or reassignment is also shown to the team or user the ticket
    leaves: it is the frame that lets their inbox drop it.
    """
    if event.type == ACCESS_CHANGED:
        return False
    if event.recipient_id is not None or event.type == NOTIFICATION:
        return event.tenant_id == principal.tenant_id and event.recipient_id == principal.user_id
    if event.tenant_id != principal.tenant_id or not principal.has(Permission.TICKETS_READ):
        return False
    if principal.has(Permission.TICKETS_READ_ALL):
        return True
    return principal.user_id in (event.assignee_id, event.previous_assignee_id) or any(
        team_id is not None and team_id in principal.team_ids
        for team_id in (event.team_id, event.previous_team_id)
    )


Recheck = Callable[[], Awaitable[auth.Principal]]


async def _authenticate(runtime: Runtime, token: str) -> tuple[auth.Principal, Recheck]:
    """Who the token signs in, and how to ask again once access has changed."""
    if token.startswith(tokens.API_TOKEN_PREFIX + "_"):
        tenant_id = tokens.tenant_of_opaque_token(token, tokens.API_TOKEN_PREFIX)

        async def by_api_token() -> auth.Principal:
            async with runtime.db.session(tenant_id) as session:
                return await auth.authenticate_api_token(session, token)

        return await by_api_token(), by_api_token
    claims = tokens.read_access_token(runtime.signing_key, token, now=utcnow())

    async def by_access_token() -> auth.Principal:
        # Signature and expiry were checked at sign-in; the user (active, token
        # generation, role, teams) is read again.
        async with runtime.db.session(claims.tenant_id) as session:
            return await auth.authenticate_access_token(session, runtime, claims)

    return await by_access_token(), by_access_token


async def _authenticate_browser(
    runtime: Runtime,
    socket: WebSocket,  # type: ignore[type-arg]
    cookie: str,
) -> tuple[auth.Principal, Recheck]:
    """The pages' socket, signed in by the browser session cookie.

    A browser sends cookies with any site's websocket, so the Origin must be
    this host's (cross-site websocket hijacking).
    """
    from frontdesk.web.sessions import authenticate_browser_session, tenant_of_cookie

    origin = socket.headers.get("origin")
    if not origin or urlsplit(origin).netloc != socket.headers.get("host"):
        raise Unauthenticated("a socket signed in by cookie must come from this site's pages")
    tenant_id = tenant_of_cookie(cookie)

    async def by_cookie() -> auth.Principal:
        async with runtime.db.session(tenant_id) as session:
            return (await authenticate_browser_session(session, cookie)).principal

    return await by_cookie(), by_cookie


class AuthFrame(msgspec.Struct, frozen=True):
    type: str
    token: str


class PresenceFrame(msgspec.Struct, frozen=True):
    """Sent by a ticket page: the user is viewing the ticket, or typing on it."""

    type: Literal["presence"]
    ticket_id: uuid.UUID
    # joined: the page has just opened (those already there answer "viewing").
    activity: Literal["joined", "viewing", "typing"]


async def _announce(runtime: Runtime, principal: auth.Principal, raw: str) -> None:
    """Tell the others who may see a ticket that this user is on it (collision notice).

    A frame that is not a presence frame, or names a ticket the user may
    not read (another tenant's included), is dropped without a word.
    """
    from frontdesk.tickets.service import get_ticket

    try:
        frame = msgspec.json.decode(raw, type=PresenceFrame)
    except msgspec.DecodeError:
        return
    try:
        async with runtime.db.session(principal.tenant_id) as session:
            ticket = await get_ticket(session, principal, frame.ticket_id)
            user = await auth.get_user(session, principal.user_id)
    except FrontdeskError:
        return
    event = RealtimeEvent(
        type=PRESENCE,
        tenant_id=principal.tenant_id,
        ticket_id=ticket.id,
        team_id=ticket.team_id,
        assignee_id=ticket.assignee_id,
        at=utcnow(),
        data={
            "user_id": str(principal.user_id),
            "name": user.display_name,
            "activity": frame.activity,
        },
    )
    await runtime.pubsub.publish(tenant_channel(principal.tenant_id), msgspec.json.encode(event))


async def _refuse(socket: WebSocket, reason: str) -> None:  # type: ignore[type-arg]
    with contextlib.suppress(Exception):
        await socket.close(code=CLOSE_UNAUTHENTICATED, reason=reason)


async def _presence(
    runtime: Runtime, principal: auth.Principal, step: Literal["opened", "alive", "closed"]
) -> None:
    """The agent's presence follows their sockets (``routing.assignment``)."""
    from frontdesk.routing import assignment

    lease = dt.timedelta(seconds=runtime.settings.presence_lease_seconds)
    try:
        async with runtime.db.session(principal.tenant_id) as session:
            if step == "opened":
                await assignment.socket_opened(session, principal.user_id, lease)
            elif step == "alive":
                await assignment.socket_alive(session, principal.user_id, lease)
            else:
                await assignment.socket_closed(session, principal.user_id)
    except Exception:  # presence is a convenience: it never breaks the socket
        log.exception("presence not updated for user %s", principal.user_id)


@websocket("/ws/inbox")
async def inbox_socket(socket: WebSocket, runtime: Rt) -> None:  # type: ignore[type-arg]
    """Sign in with ``?access_token=…`` or a first frame ``{"type": "auth", "token": …}``.

    ``{"type": "ready"}`` once every later event will be delivered; then one
    JSON frame per event the user may see. Closed with 4401 when sign-in
    fails, and when the user is deactivated or the token revoked later.
    """
    await socket.accept()
    token = socket.query_params.get("access_token")
    cookie = socket.cookies.get(BROWSER_COOKIE)
    try:
        if not token and cookie:
            principal, recheck = await _authenticate_browser(runtime, socket, cookie)
        elif not token:
            frame = msgspec.json.decode(
                await asyncio.wait_for(socket.receive_text(), timeout=10), type=AuthFrame
            )
            principal, recheck = await _authenticate(runtime, frame.token)
        else:
            principal, recheck = await _authenticate(runtime, token)
    except (FrontdeskError, msgspec.DecodeError, TimeoutError, WebSocketDisconnect):
        await _refuse(socket, "sign-in failed")
        return
    async with runtime.pubsub.subscribe(tenant_channel(principal.tenant_id)) as events:
        await _presence(runtime, principal, "opened")
        # Only once subscribed: an action the client takes after "ready" is never missed.
        await socket.send_json({"type": "ready", "user_id": str(principal.user_id)})

        async def forward() -> None:
            nonlocal principal
            async for data in events:
                event = msgspec.json.decode(data, type=RealtimeEvent)
                if event.type == ACCESS_CHANGED:
                    if event.data.get("user_id") in (None, str(principal.user_id)):
                        try:
                            principal = await recheck()
                        except FrontdeskError:
                            await _refuse(socket, "signed out")
                            return
                elif visible(principal, event):
                    await socket.send_text(data.decode())

        async def until_closed() -> None:
            with contextlib.suppress(WebSocketDisconnect):
                while True:
                    await _announce(runtime, principal, await socket.receive_text())

        async def keep_alive() -> None:
            # Renew the presence lease while the socket is open (never returns).
            while True:
                await asyncio.sleep(runtime.settings.presence_lease_seconds / 3)
                await _presence(runtime, principal, "alive")

        forwarding = asyncio.create_task(forward())
        closing = asyncio.create_task(until_closed())
        renewing = asyncio.create_task(keep_alive())
        try:
            done, pending = await asyncio.wait(
                {forwarding, closing, renewing}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            renewing.cancel()
            await _presence(runtime, principal, "closed")
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for task in done:
            if task.exception() is not None and not isinstance(
                task.exception(), WebSocketDisconnect
            ):
                log.warning("inbox socket ended: %r", task.exception())
