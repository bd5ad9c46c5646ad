"""The hand-offs table: a request from one team to another on a ticket."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, utcnow


class Handoff(TenantOwned, Base):
    """``requested`` → ``accepted`` → ``done``, or ``declined``. ``due_at`` is the
    internal target: it never touches the ticket's customer-facing SLA clocks.
    Past it while still open, the hand-off is escalated to the target team's
    leads (``escalated_to``) once."""

    __tablename__ = "handoffs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        ForeignKeyConstraint(["tenant_id", "team_id"], ["teams.tenant_id", "teams.id"]),
        ForeignKeyConstraint(["tenant_id", "from_team_id"], ["teams.tenant_id", "teams.id"]),
        ForeignKeyConstraint(["tenant_id", "requested_by"], ["users.tenant_id", "users.id"]),
        Index("ix_handoffs_tenant_ticket", "tenant_id", "ticket_id"),
        Index("ix_handoffs_tenant_team", "tenant_id", "team_id"),
        Index("ix_handoffs_tenant_from_team", "tenant_id", "from_team_id"),
        Index("ix_handoffs_tenant_created", "tenant_id", "created_at"),
    )

    ticket_id: Mapped[uuid.UUID]
    # The team asked to do the work, and the ticket's team when it asked.
    team_id: Mapped[uuid.UUID]
    from_team_id: Mapped[uuid.UUID | None]
    requested_by: Mapped[uuid.UUID | None]
    description: Mapped[str] = mapped_column(Text)
    # requested, accepted, done, declined
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[dt.datetime]
    timer_id: Mapped[uuid.UUID | None]
    overdue_at: Mapped[dt.datetime | None]
    # The target team's leads it was escalated to when it went overdue.
    escalated_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
