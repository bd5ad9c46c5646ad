"""Notify users, list a user's notifications, mark them read.

``notify`` is the one function other domains call. A notification is written
in the caller's transaction, so it exists only if what it tells of does; the
realtime layer sees the new row at flush and pushes it, after commit, to the
recipient's sockets only (``realtime.events``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.api import pagination
from frontdesk.clock import now as clock_now
from frontdesk.db import session_tenant
from frontdesk.errors import InvalidInput, NotFound, TenantContextMissing
from frontdesk.ids import new_id
from frontdesk.notifications.models import Notification


async def notify(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID | None],
    kind: str,
    *,
    ticket_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> list[Notification]:
    """One notification per distinct recipient (``None``s are skipped), in this transaction."""
    if session_tenant(session.sync_session) != tenant_id:
        raise TenantContextMissing("a notification is written in its own tenant's session")
    recipients = sorted({u for u in user_ids if u is not None})
    if not recipients:
        return []
    now = clock_now()
    rows = [
        Notification(
            id=new_id(),
            tenant_id=tenant_id,
            user_id=user_id,
            kind=kind,
            ticket_id=ticket_id,
            payload=dict(payload or {}),
            created_at=now,
        )
        for user_id in recipients
    ]
    session.add_all(rows)
    await session.flush()
    return rows


class NotificationOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    kind: str
    ticket_id: uuid.UUID | None
    payload: dict[str, Any]
    created_at: dt.datetime
    read_at: dt.datetime | None

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        return cls(
            id=n.id,
            kind=n.kind,
            ticket_id=n.ticket_id,
            payload=n.payload,
            created_at=n.created_at,
            read_at=n.read_at,
        )


class Cursor(msgspec.Struct, frozen=True):
    """Where a page ended: whether that row was read, and its id."""

    read: bool
    id: uuid.UUID


def encode_cursor(n: Notification) -> str:
    return ("r" if n.read_at is not None else "u") + pagination.encode_cursor(n.id)


def decode_cursor(raw: str | None) -> Cursor | None:
    if not raw:
        return None
    if raw[0] not in "ru":
        raise InvalidInput("malformed cursor")
    found = pagination.decode_cursor(raw[1:])
    if found is None:
        raise InvalidInput("malformed cursor")
    return Cursor(read=raw[0] == "r", id=found)


async def list_mine(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    limit: int,
    after: Cursor | None = None,
    unread_only: bool = False,
) -> list[Notification]:
    """Unread first, newest first within each; ``limit`` rows after the cursor."""
    unread = Notification.read_at.is_(None)
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(unread)
    if after is not None:
        if after.read:
            stmt = stmt.where(Notification.read_at.is_not(None), Notification.id < after.id)
        else:
            stmt = stmt.where(
                or_(Notification.read_at.is_not(None), and_(unread, Notification.id < after.id))
            )
    # Unread (NULL read_at) sorts first as 0, read as 1.
    stmt = stmt.order_by(Notification.read_at.is_not(None), Notification.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def count_unread(session: AsyncSession, user_id: uuid.UUID) -> int:
    stmt = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(await session.scalar(stmt) or 0)


async def mark_read(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    ids: Sequence[uuid.UUID] | None,
) -> int:
    """Mark the user's notifications read: ``ids``, or every unread one (``None``).

    An id that is not one of the user's own (another user's, another
    tenant's, made up) is a 404 and nothing is marked.
    """
    now = clock_now()
    stmt = update(Notification).where(Notification.user_id == user_id)
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            raise InvalidInput("give ids, or all")
        found = set(
            (
                await session.scalars(
                    select(Notification.id).where(
                        Notification.user_id == user_id, Notification.id.in_(wanted)
                    )
                )
            ).all()
        )
        if found != set(wanted):
            raise NotFound("no such notification")
        stmt = stmt.where(Notification.id.in_(wanted))
    stmt = stmt.where(Notification.read_at.is_(None)).values(read_at=now)
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


# Payload keys under which a notification copies a ticket's text (its subject,
# a hand-off's description) or a customer's name.
COPIED_TEXT_KEYS = ("subject", "description", "customer_name", "name", "title", "note", "comment")


async def erase_copied_texts(session: AsyncSession, ticket_ids: Sequence[uuid.UUID]) -> int:
    """Remove the texts that notifications about these tickets copied (a
    personal-data erasure); who was told what kind of thing, and when, stays."""
    if not ticket_ids:
        return 0
    rows = await session.scalars(
        select(Notification).where(Notification.ticket_id.in_(list(ticket_ids)))
    )
    erased = 0
    for n in rows.all():
        if any(key in n.payload for key in COPIED_TEXT_KEYS):
            kept = {k: v for k, v in n.payload.items() if k not in COPIED_TEXT_KEYS}
            n.payload = {**kept, "erased": True}
            erased += 1
    await session.flush()
    return erased
