"""The ``tenant_limits`` table: a tenant's own quotas, where an operator set them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKeyConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantScoped, utcnow


class TenantLimits(TenantScoped, Base):
    """One row per tenant at most; a column left NULL takes the platform's default."""

    __tablename__ = "tenant_limits"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    api_per_minute: Mapped[int | None]
    token_api_per_minute: Mapped[int | None]
    inbound_per_minute: Mapped[int | None]
    storage_bytes: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
