"""Live channels' transcripts: an ordered, encrypted log per conversation (``ChannelServices``).

Written by an adapter's routes (what a visitor said) and by its ``deliver``
(what an agent answered), read when a visitor reconnects. Entries are
numbered per conversation; the unique keys make recording idempotent and
two processes appending at once take turns rather than share a number.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    ForeignKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.channels.live import TranscriptEntry
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.db import Base, TenantOwned, utcnow
from frontdesk.ids import new_id

# Two writers racing for the same seq: the loser tries again with the next one.
_RECORD_ATTEMPTS = 20


class TranscriptRow(TenantOwned, Base):
    __tablename__ = "channel_transcripts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"]),
        # Named here: the convention's names would pass PostgreSQL's 63 characters.
        UniqueConstraint(
            "tenant_id", "channel_id", "conversation_key", "seq", name="uq_channel_transcripts_seq"
        ),
        UniqueConstraint(
            "tenant_id",
            "channel_id",
            "conversation_key",
            "entry_id",
            name="uq_channel_transcripts_entry",
        ),
    )

    channel_id: Mapped[uuid.UUID]
    conversation_key: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[str] = mapped_column(String(255))
    # Encrypted: a transcript is what customers typed.
    data_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def _check(conversation: str, entry_id: str | None = None) -> None:
    if not 0 < len(conversation) <= 200:
        raise ValueError("a conversation key is 1–200 characters")
    if entry_id is not None and not 0 < len(entry_id) <= 255:
        raise ValueError("an entry id is 1–255 characters")


async def _existing(
    session: AsyncSession, channel_id: uuid.UUID, conversation: str, entry_id: str
) -> int | None:
    return await session.scalar(
        select(TranscriptRow.seq).where(
            TranscriptRow.channel_id == channel_id,
            TranscriptRow.conversation_key == conversation,
            TranscriptRow.entry_id == entry_id,
        )
    )


async def record(
    session: AsyncSession,
    cipher: TenantCipher,
    channel_id: uuid.UUID,
    conversation: str,
    entry_id: str,
    data: bytes,
) -> int:
    _check(conversation, entry_id)
    for _ in range(_RECORD_ATTEMPTS):
        found = await _existing(session, channel_id, conversation, entry_id)
        if found is not None:
            return found
        last = await session.scalar(
            select(func.max(TranscriptRow.seq)).where(
                TranscriptRow.channel_id == channel_id,
                TranscriptRow.conversation_key == conversation,
            )
        )
        row_id = new_id()
        row = TranscriptRow(
            id=row_id,
            channel_id=channel_id,
            conversation_key=conversation,
            seq=(last or 0) + 1,
            entry_id=entry_id,
            data_encrypted=cipher.encrypt(
                data.decode("utf-8"), table="channel_transcripts", column="data", row_id=row_id
            ),
        )
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            # Another process took this seq (or recorded this very entry): look again.
            continue
        return row.seq
    raise RuntimeError(f"could not record to {conversation!r}: too much contention")


async def history(
    session: AsyncSession,
    cipher: TenantCipher,
    channel_id: uuid.UUID,
    conversation: str,
    *,
    after: int,
    limit: int,
) -> list[TranscriptEntry]:
    _check(conversation)
    rows = (
        await session.scalars(
            select(TranscriptRow)
            .where(
                TranscriptRow.channel_id == channel_id,
                TranscriptRow.conversation_key == conversation,
                TranscriptRow.seq > after,
            )
            .order_by(TranscriptRow.seq)
            .limit(max(1, min(limit, 1000)))
        )
    ).all()
    return [
        TranscriptEntry(
            seq=row.seq,
            entry_id=row.entry_id,
            data=cipher.decrypt(
                row.data_encrypted,
                table="channel_transcripts",
                column="data",
                row_id=row.id,
            ).encode(),
        )
        for row in rows
    ]
