"""Satisfaction surveys, their public tokens, and each tenant's follow-up settings."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, TenantScoped, utcnow


class FollowupSettings(TenantScoped, Base):
    """One row per tenant that changed the defaults (``followups.service.Settings``)."""

    __tablename__ = "followup_settings"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_by: Mapped[uuid.UUID | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Survey(TenantOwned, Base):
    """A satisfaction survey sent for one resolution of a ticket; answered at most once."""

    __tablename__ = "surveys"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        Index("ix_surveys_tenant_ticket", "tenant_id", "ticket_id"),
    )

    ticket_id: Mapped[uuid.UUID]
    # The channel kind it was sent on (email, webchat, im, …; api: kept on the ticket).
    channel: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[uuid.UUID | None]
    # sent, answered
    status: Mapped[str] = mapped_column(String(16), default="sent")
    score: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[dt.datetime | None]


class SurveyToken(Base):
    """The global index from a survey link's token (only its SHA-256) to its tenant.

    The customer's browser carries no credentials of ours, only the link:
    this is the one lookup made before the tenant is known.
    """

    __tablename__ = "survey_tokens"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID]
    survey_id: Mapped[uuid.UUID]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
