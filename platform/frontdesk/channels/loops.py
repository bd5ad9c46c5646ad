"""Loop and noise protection: which inbound messages must never get an automatic answer.

Two reasons: the adapter marked the message automatic (``metadata["auto"]``:
an out-of-office reply, a list, a bounce, our own mail come back), or its
sender is over the channel's rate limit. Such a message is stored like any
other but gets no acknowledgement, reopens nothing and opens no ticket of
its own when the sender already has one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.channels.models import ChannelInstance, SenderWindow
from frontdesk.channels.settings import settings_of
from frontdesk.db import utcnow


async def automatic_reason(
    session: AsyncSession,
    channel: ChannelInstance,
    contact_point_id: uuid.UUID,
    metadata: dict[str, Any],
) -> str | None:
    """Why this message is automatic, or None for a person's message.

    Every message counts towards its sender's window, automatic or not, so
    a storm is noticed whatever its headers say.
    """
    over = await _count(session, channel, contact_point_id)
    marked = metadata.get("auto")
    if isinstance(marked, str) and marked:
        return marked[:200]
    return over


async def _count(
    session: AsyncSession, channel: ChannelInstance, contact_point_id: uuid.UUID
) -> str | None:
    settings = settings_of(channel.settings)
    window = dt.timedelta(minutes=settings.sender_rate_window_minutes)
    now = utcnow()
    stmt = select(SenderWindow).where(
        SenderWindow.channel_id == channel.id,
        SenderWindow.contact_point_id == contact_point_id,
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        # A concurrent first message from the same sender loses on the
        # primary key and its ingest job is retried.
        session.add(
            SenderWindow(
                channel_id=channel.id, contact_point_id=contact_point_id, started_at=now, count=1
            )
        )
        await session.flush()
        return None
    if now - row.started_at >= window:
        row.started_at, row.count = now, 1
        return None
    row.count += 1
    if row.count > settings.sender_rate_limit:
        return (
            f"rate limit: more than {settings.sender_rate_limit} messages from this sender "
            f"in {settings.sender_rate_window_minutes} minutes"
        )
    return None
