"""What the channels domain holds about one customer, found and erased (a personal-data request).

Stored inbound events (their encrypted payloads hold the sender's address and
words), provider conversations and live-chat transcripts, delivery records,
sender windows and refused requests that came from the customer's addresses.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.channels.intake import read_payload
from frontdesk.channels.models import (
    Conversation,
    Delivery,
    InboundEvent,
    InboundRejection,
    SenderWindow,
)
from frontdesk.channels.transcripts import TranscriptRow
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.errors import DecryptionError


@dataclass(frozen=True, kw_only=True)
class Transcript:
    channel_id: uuid.UUID
    conversation_key: str
    entries: list[str]


async def transcripts_of_tickets(
    session: AsyncSession, cipher: TenantCipher, ticket_ids: Sequence[uuid.UUID]
) -> list[Transcript]:
    """The live-chat transcripts of the tickets' conversations, decrypted (for an export)."""
    keys = await _conversation_keys(session, ticket_ids)
    if not keys:
        return []
    rows = (
        await session.scalars(
            select(TranscriptRow)
            .where(tuple_(TranscriptRow.channel_id, TranscriptRow.conversation_key).in_(keys))
            .order_by(TranscriptRow.channel_id, TranscriptRow.conversation_key, TranscriptRow.seq)
        )
    ).all()
    out: dict[tuple[uuid.UUID, str], Transcript] = {}
    for row in rows:
        key = (row.channel_id, row.conversation_key)
        transcript = out.setdefault(
            key, Transcript(channel_id=row.channel_id, conversation_key=row.conversation_key,
                            entries=[])
        )  # fmt: skip
        transcript.entries.append(
            cipher.decrypt(
                row.data_encrypted, table="channel_transcripts", column="data", row_id=row.id
            )
        )
    return list(out.values())


async def _conversation_keys(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, str]]:
    if not ticket_ids:
        return []
    rows = await session.execute(
        select(Conversation.channel_id, Conversation.conversation_key).where(
            Conversation.ticket_id.in_(list(ticket_ids))
        )
    )
    return sorted({(channel_id, key) for channel_id, key in rows})


@dataclass(frozen=True, kw_only=True)
class ErasedTraffic:
    inbound_events: int
    conversations: int
    transcript_entries: int
    rejections: int


def _mentions(text: str, values: Sequence[str]) -> bool:
    lowered = text.lower()
    return any(value and value.lower() in lowered for value in values)


async def erase_traffic(
    session: AsyncSession,
    cipher: TenantCipher,
    *,
    ticket_ids: Sequence[uuid.UUID],
    message_ids: Sequence[uuid.UUID],
    contact_point_ids: Sequence[uuid.UUID],
    contact_values: Sequence[str],
) -> ErasedTraffic:
    """Erase what the channels kept of the customer's traffic, in the caller's transaction."""
    tickets = list(ticket_ids)
    # Stored events: those that became the customer's messages, and any not
    # ingested (waiting, or set aside as failed) that came from their addresses.
    events = list(
        (
            await session.scalars(
                select(InboundEvent).where(
                    or_(
                        InboundEvent.ticket_id.in_(tickets),
                        InboundEvent.message_id.in_(list(message_ids)),
                        InboundEvent.ticket_id.is_(None),
                    )
                )
            )
        ).all()
    )
    doomed = []
    for event in events:
        if event.ticket_id in tickets or event.message_id in message_ids:
            doomed.append(event)
        elif event.ticket_id is None:
            try:
                payload = read_payload(cipher, event)
            except DecryptionError:
                continue
            if _mentions(msgspec.json.encode(payload).decode(), contact_values):
                doomed.append(event)
    for event in doomed:
        await session.delete(event)

    keys = await _conversation_keys(session, tickets)
    transcript_entries = 0
    if keys:
        result = await session.execute(
            delete(TranscriptRow).where(
                tuple_(TranscriptRow.channel_id, TranscriptRow.conversation_key).in_(keys)
            )
        )
        transcript_entries = int(getattr(result, "rowcount", 0) or 0)
        await session.execute(delete(Conversation).where(Conversation.ticket_id.in_(tickets)))

    for delivery in (
        await session.scalars(select(Delivery).where(Delivery.ticket_id.in_(tickets)))
    ).all():
        # What was sent where, and when, stays; provider ids and errors may name the address.
        delivery.attempts = [
            {k: v for k, v in a.items() if k in ("attempt", "at", "status", "retryable")}
            for a in delivery.attempts
        ]
        delivery.external_id = None
        delivery.last_error = None

    if contact_point_ids:
        await session.execute(
            delete(SenderWindow).where(SenderWindow.contact_point_id.in_(list(contact_point_ids)))
        )

    # Requests refused as unreadable are kept whole (encrypted) for an operator:
    # those that came from or mention the customer's addresses go.
    rejections = 0
    for rejection in (await session.scalars(select(InboundRejection))).all():
        if rejection.raw_encrypted is None:
            continue
        try:
            raw = cipher.decrypt(
                rejection.raw_encrypted, table="inbound_rejections", column="raw",
                row_id=rejection.id,
            )  # fmt: skip
        except DecryptionError:
            continue
        if _mentions(base64.b64decode(raw).decode("latin-1"), contact_values):
            await session.delete(rejection)
            rejections += 1
    await session.flush()
    return ErasedTraffic(
        inbound_events=len(doomed),
        conversations=len(keys),
        transcript_entries=transcript_entries,
        rejections=rejections,
    )
