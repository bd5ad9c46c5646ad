"""Incidents, the tickets linked to them, and the updates posted to all of them at once."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, utcnow


class Incident(TenantOwned, Base):
    """A ticket marked as an incident: ``open`` until resolved with its linked tickets."""

    __tablename__ = "incidents"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        ForeignKeyConstraint(["tenant_id", "created_by"], ["users.tenant_id", "users.id"]),
        UniqueConstraint("tenant_id", "ticket_id"),
    )

    ticket_id: Mapped[uuid.UUID]
    # open, resolved
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]


class IncidentLink(TenantOwned, Base):
    """A customer's ticket linked to an incident; a ticket is linked to one at most."""

    __tablename__ = "incident_links"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "incident_id"], ["incidents.tenant_id", "incidents.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        UniqueConstraint("tenant_id", "ticket_id"),
        Index("ix_incident_links_tenant_incident", "tenant_id", "incident_id", "ticket_id"),
    )

    incident_id: Mapped[uuid.UUID]
    ticket_id: Mapped[uuid.UUID]
    linked_by: Mapped[uuid.UUID | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IncidentUpdate(TenantOwned, Base):
    """An update posted on an incident: one reply on each linked ticket."""

    __tablename__ = "incident_updates"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "incident_id"], ["incidents.tenant_id", "incidents.id"]),
        Index("ix_incident_updates_tenant_incident", "tenant_id", "incident_id", "id"),
    )

    incident_id: Mapped[uuid.UUID]
    author_user_id: Mapped[uuid.UUID | None]
    body: Mapped[str] = mapped_column(Text)
    # How many linked tickets got it as a reply, and how many of those go out on a channel.
    recipients: Mapped[int] = mapped_column(default=0)
    queued: Mapped[int] = mapped_column(default=0)
    # open or resolving (the update sent with the resolution)
    kind: Mapped[str] = mapped_column(String(16), default="update")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
