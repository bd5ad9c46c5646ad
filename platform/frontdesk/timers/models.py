"""The timers table: one row per promise the platform must keep at a given time."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, utcnow


class Timer(TenantOwned, Base):
    """``pending`` until fired (its effect written in the same transaction),
    cancelled (nothing to do any more), or failed (its effect kept raising)."""

    __tablename__ = "timers"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        # The scheduler's claim: a tenant's pending timers by due time.
        Index("ix_timers_tenant_state_due", "tenant_id", "state", "due_at"),
        Index("ix_timers_tenant_ticket", "tenant_id", "ticket_id"),
    )

    kind: Mapped[str] = mapped_column(String(48))
    ticket_id: Mapped[uuid.UUID | None]
    due_at: Mapped[dt.datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    # A scheduler's claim: until ``claimed_until`` no other scheduler takes it.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    fired_at: Mapped[dt.datetime | None]
