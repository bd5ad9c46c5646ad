"""The call log table: one row per call a phone channel's provider told us about."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, utcnow


class Call(TenantOwned, Base):
    """A call's log, converging whatever order its provider's webhooks came in.

    Times are merged monotonically (earliest ringing, earliest answer, latest
    end), so a redelivered or late webhook never moves them backwards. The
    caller's number is not here: ``contact_point_id`` names it (encrypted).
    """

    __tablename__ = "calls"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"]),
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        ForeignKeyConstraint(["tenant_id", "agent_user_id"], ["users.tenant_id", "users.id"]),
        UniqueConstraint("tenant_id", "channel_id", "provider_call_id"),
        Index("ix_calls_tenant_ticket", "tenant_id", "ticket_id"),
        Index("ix_calls_tenant_started", "tenant_id", "started_at"),
    )

    channel_id: Mapped[uuid.UUID]
    provider_call_id: Mapped[str] = mapped_column(String(128))
    ticket_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID]
    contact_point_id: Mapped[uuid.UUID | None]
    # inbound, outbound
    direction: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    duration_seconds: Mapped[int | None]
    # Who answered: the user, or (someone the platform does not know) the
    # provider's identity for them. A user's email is never kept here.
    agent: Mapped[str | None] = mapped_column(String(255))
    agent_user_id: Mapped[uuid.UUID | None]
    missed_reason: Mapped[str | None] = mapped_column(String(32))
    voicemail: Mapped[bool] = mapped_column(default=False)
    recording_url: Mapped[str | None] = mapped_column(Text)
    transcription: Mapped[str | None] = mapped_column(Text)
    # The callback task this call opened, if it was missed.
    task_id: Mapped[uuid.UUID | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
