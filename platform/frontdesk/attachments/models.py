"""Attachments of inbound messages: one row each, the bytes in the attachment store."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, utcnow


class StoredAttachment(TenantOwned, Base):
    """An attachment as received: stored (its bytes encrypted in the store) or refused.

    Keyed by the message's channel and external id (an email Message-ID, which
    may hold an address, so only its keyed hash is kept), which the intake
    knows before any message row exists; ``message_id`` is filled in by
    ingest. A redelivered message finds its attachments already there.
    """

    __tablename__ = "attachments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"]),
        ForeignKeyConstraint(["tenant_id", "message_id"], ["messages.tenant_id", "messages.id"]),
        UniqueConstraint("tenant_id", "channel_id", "external_ref", "position"),
        Index("ix_attachments_message", "tenant_id", "message_id"),
    )

    channel_id: Mapped[uuid.UUID]
    external_ref: Mapped[str] = mapped_column(String(64))
    position: Mapped[int]
    message_id: Mapped[uuid.UUID | None]
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    inline: Mapped[bool] = mapped_column(default=False)
    # stored, or refused (over a size limit, or the adapter sent no bytes)
    status: Mapped[str] = mapped_column(String(16))
    refused_reason: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of the plaintext bytes, for integrity checks and dedup later.
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
