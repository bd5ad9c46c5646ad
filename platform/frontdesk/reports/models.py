"""The reports' own tables: daily roll-ups of a tenant's figures, and how far they reach."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKeyConstraint, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantScoped, utcnow


class ReportRollup(TenantScoped, Base):
    """One local day's figures for the whole tenant (``dimension`` and ``value``
    empty) or for one value of one filter (``channel``/``email``, ``team_id``/a
    team's id, …), as ``reports.rollups.Tally`` in MessagePack.

    A day with an empty-dimension row has been rolled up (even with nothing in
    it); a day without one is answered from the tickets' rows.
    """

    __tablename__ = "report_rollups"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ReportRollupState(TenantScoped, Base):
    """How far a tenant's roll-ups reach: every change recorded before ``watermark``
    (a ticket event's time) is in them, for the local days up to ``through``
    in ``timezone``."""

    __tablename__ = "report_rollup_state"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    timezone: Mapped[str] = mapped_column(String(64))
    watermark: Mapped[dt.datetime]
    through: Mapped[dt.date | None] = mapped_column(Date)
    refreshed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
