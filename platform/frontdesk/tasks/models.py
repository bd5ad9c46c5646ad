"""The ticket tasks table: work owed on a ticket by a due time (a callback)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, utcnow


class TicketTask(TenantOwned, Base):
    """``open`` → ``done`` or ``cancelled``. Past ``due_at`` while open it is
    marked overdue once (``task_overdue`` on the ticket's timeline); the
    ticket's own SLA clocks are not touched."""

    __tablename__ = "ticket_tasks"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        ForeignKeyConstraint(["tenant_id", "team_id"], ["teams.tenant_id", "teams.id"]),
        ForeignKeyConstraint(["tenant_id", "assignee_id"], ["users.tenant_id", "users.id"]),
        Index("ix_ticket_tasks_tenant_ticket", "tenant_id", "ticket_id"),
        Index("ix_ticket_tasks_tenant_assignee", "tenant_id", "assignee_id"),
    )

    ticket_id: Mapped[uuid.UUID]
    # callback, …
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    priority: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[uuid.UUID | None]
    assignee_id: Mapped[uuid.UUID | None]
    # open, done, cancelled
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[dt.datetime]
    timer_id: Mapped[uuid.UUID | None]
    overdue_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    # Why it was closed ("called back", "the call was answered after all").
    note: Mapped[str | None] = mapped_column(Text)
