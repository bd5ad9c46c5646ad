"""Customers, their encrypted contact points, and the merges between customers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, utcnow


class Customer(TenantOwned, Base):
    __tablename__ = "customers"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "success_manager_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "merged_into_id"], ["customers.tenant_id", "customers.id"]
        ),
    )

    display_name: Mapped[str] = mapped_column(String(200))
    # vip, high_value, regular, new, dormant
    tier: Mapped[str] = mapped_column(String(32), default="new")
    success_manager_id: Mapped[uuid.UUID | None]
    language: Mapped[str | None] = mapped_column(String(16))
    # Set when this customer was merged into another; undoing the merge clears it.
    merged_into_id: Mapped[uuid.UUID | None]
    # Set when the customer's personal data was erased (a personal-data request):
    # the row stays, anonymised, so their tickets still count.
    erased_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ContactPoint(TenantOwned, Base):
    """One way to reach a customer. The value is stored only encrypted."""

    __tablename__ = "contact_points"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        # One contact value belongs to one customer within a tenant.
        UniqueConstraint("tenant_id", "kind", "value_index"),
        Index("ix_contact_points_tenant_customer", "tenant_id", "customer_id"),
    )

    customer_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(16))
    # For IM handles: which network (telegram, slack, wecom, whatsapp).
    provider: Mapped[str | None] = mapped_column(String(32))
    value_encrypted: Mapped[str] = mapped_column(String(1024))
    value_index: Mapped[str] = mapped_column(String(64))
    verified: Mapped[bool] = mapped_column(default=False)
    # ok, or failing: mail to it bounced (a DSN); set back to ok when it writes again.
    status: Mapped[str] = mapped_column(String(16), default="ok")
    failing_since: Mapped[dt.datetime | None]
    # The bounce's status and diagnostic (no address in it), for agents.
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CustomerMerge(TenantOwned, Base):
    """What a merge moved, so that it can be undone exactly."""

    __tablename__ = "customer_merges"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "source_id"], ["customers.tenant_id", "customers.id"]),
        ForeignKeyConstraint(["tenant_id", "target_id"], ["customers.tenant_id", "customers.id"]),
    )

    source_id: Mapped[uuid.UUID]
    target_id: Mapped[uuid.UUID]
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    merged_by: Mapped[uuid.UUID | None]
    merged_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    undone_by: Mapped[uuid.UUID | None]
    undone_at: Mapped[dt.datetime | None]
