"""Browser sessions: the one place a signed-in browser starts, is checked and ends.

The cookie ``fd_session`` carries ``fds_<tenant hex>_<secret>``: the tenant
travels in it (as in API tokens) so the lookup runs inside that tenant's
row-level-security context; the secret is stored only as a SHA-256 hash.
Each session has its own CSRF token, sent back in every state-changing form
and fetch. Deactivating a user (or changing their role or password) bumps
their token generation, which ends their browser sessions as it ends their
access tokens. Single sign-on's callback calls ``start_browser_session`` too.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import uuid

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.audit.service import record
from frontdesk.auth import service as auth
from frontdesk.auth import tokens
from frontdesk.auth.models import User
from frontdesk.db import utcnow
from frontdesk.errors import PermissionDenied, Unauthenticated
from frontdesk.web.models import WebSession

COOKIE = "fd_session"
PREFIX = "fds"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
LIFETIME = dt.timedelta(hours=12)


class BrowserSession(msgspec.Struct, frozen=True, kw_only=True):
    """A started session: the cookie value to set and the CSRF token pages carry."""

    cookie: str
    csrf_token: str
    expires_at: dt.datetime


class SignedIn(msgspec.Struct, frozen=True, kw_only=True):
    """Who a request's cookie signs in."""

    principal: auth.Principal
    session_id: uuid.UUID
    csrf_token: str
    display_name: str
    locale: str


async def start_browser_session(
    session: AsyncSession, user: User, *, method: str = "password"
) -> BrowserSession:
    """Sign ``user`` in on a browser; ``session`` is bound to the user's tenant.

    The caller has authenticated the user (password, or SSO's callback) and
    sets the returned cookie.
    """
    if not user.is_active:
        raise Unauthenticated("this user is deactivated")
    secret = f"{PREFIX}_{user.tenant_id.hex}_{secrets.token_urlsafe(32)}"
    row = WebSession(
        user_id=user.id,
        token_hash=tokens.hash_secret(secret),
        csrf_token=secrets.token_urlsafe(32),
        generation=user.token_generation,
        expires_at=utcnow() + LIFETIME,
    )
    session.add(row)
    await session.flush()
    await record(
        session,
        actor_user_id=user.id,
        action="web_session.started",
        subject_type="user",
        subject_id=user.id,
        method=method,
    )
    return BrowserSession(cookie=secret, csrf_token=row.csrf_token, expires_at=row.expires_at)


def tenant_of_cookie(cookie: str) -> uuid.UUID:
    return tokens.tenant_of_opaque_token(cookie, PREFIX)


async def authenticate_browser_session(session: AsyncSession, cookie: str) -> SignedIn:
    """The user behind a cookie, read afresh; ``session`` is bound to the cookie's tenant."""
    row = await session.scalar(
        select(WebSession).where(WebSession.token_hash == tokens.hash_secret(cookie))
    )
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        raise Unauthenticated("this session has ended; sign in again")
    user = await session.get(User, (row.tenant_id, row.user_id))
    if user is None or not user.is_active or user.token_generation != row.generation:
        raise Unauthenticated("this session has ended; sign in again")
    return SignedIn(
        principal=await auth.principal_for_user(session, user),
        session_id=row.id,
        csrf_token=row.csrf_token,
        display_name=user.display_name,
        locale=user.locale,
    )


def check_csrf(signed_in: SignedIn, sent: str | None) -> None:
    """A state-changing request carries the session's CSRF token, or nothing happens."""
    if not sent or not hmac.compare_digest(sent.encode(), signed_in.csrf_token.encode()):
        raise PermissionDenied("the form is stale or came from another site; reload the page")


async def end_browser_session(session: AsyncSession, signed_in: SignedIn) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.id == signed_in.session_id, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    await record(
        session,
        actor_user_id=signed_in.principal.user_id,
        action="web_session.ended",
        subject_type="user",
        subject_id=signed_in.principal.user_id,
    )
