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
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.channels.models import ChannelInstance, SenderWindow
from frontdesk.channels.registry import Registry
from frontdesk.channels.settings import DEFAULT_SENDER_RATE_LIMIT, settings_of
from frontdesk.db import utcnow


def rate_limit(registry: Registry, channel: ChannelInstance) -> int | None:
    """The channel's per-sender limit: its setting, else the default where its
    senders may be machines (the adapter says so), else none."""
    settings = settings_of(channel.settings)
    if settings.sender_rate_limit is not None:
        return settings.sender_rate_limit
    if registry.get(channel.kind).capabilities.automatic_senders:
        return DEFAULT_SENDER_RATE_LIMIT
    return None


async def automatic_reasons(
    session: AsyncSession,
    registry: Registry,
    arrivals: Sequence[tuple[ChannelInstance, uuid.UUID, dict[str, Any]]],
) -> list[str | None]:
    """Why each message (its channel, sender's contact point, adapter metadata)
    is automatic, or None for a person's message; in arrival order, with one
    lookup of the senders' windows whatever the count.

    On a rate-limited channel every message counts towards its sender's
    window, automatic or not, so a storm is noticed whatever its headers say.
    """
    if not arrivals:
        return []
    limits = {channel.id: rate_limit(registry, channel) for channel, _, _ in arrivals}
    pairs = sorted(
        {(channel.id, point_id) for channel, point_id, _ in arrivals if limits[channel.id]}
    )
    windows: dict[tuple[uuid.UUID, uuid.UUID], SenderWindow] = {}
    if pairs:
        stmt = select(SenderWindow).where(
            tuple_(SenderWindow.channel_id, SenderWindow.contact_point_id).in_(pairs)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        windows = {(w.channel_id, w.contact_point_id): w for w in await session.scalars(stmt)}
    now = utcnow()
    out: list[str | None] = []
    for channel, point_id, metadata in arrivals:
        limit = limits[channel.id]
        over = _count(windows, channel, point_id, now, limit) if limit else None
        marked = metadata.get("auto")
        out.append(marked[:200] if isinstance(marked, str) and marked else over)
    # A concurrent first message from the same sender loses on the primary
    # key and its ingest is retried.
    session.add_all([w for w in windows.values() if w not in session])
    return out


async def automatic_reason(
    session: AsyncSession,
    registry: Registry,
    channel: ChannelInstance,
    contact_point_id: uuid.UUID,
    metadata: dict[str, Any],
) -> str | None:
    """``automatic_reasons`` for one message."""
    [reason] = await automatic_reasons(session, registry, [(channel, contact_point_id, metadata)])
    return reason


def _count(
    windows: dict[tuple[uuid.UUID, uuid.UUID], SenderWindow],
    channel: ChannelInstance,
    contact_point_id: uuid.UUID,
    now: dt.datetime,
    limit: int,
) -> str | None:
    settings = settings_of(channel.settings)
    window = dt.timedelta(minutes=settings.sender_rate_window_minutes)
    row = windows.get((channel.id, contact_point_id))
    if row is None:
        windows[(channel.id, contact_point_id)] = SenderWindow(
            channel_id=channel.id, contact_point_id=contact_point_id, started_at=now, count=1
        )
        return None
    if now - row.started_at >= window:
        row.started_at, row.count = now, 1
        return None
    row.count += 1
    if row.count > limit:
        return (
            f"rate limit: more than {limit} messages from this sender "
            f"in {settings.sender_rate_window_minutes} minutes"
        )
    return None
