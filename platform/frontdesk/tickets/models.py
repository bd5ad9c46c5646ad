"""Tickets, messages, ticket events, categories and the per-tenant number counter."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, TenantScoped, utcnow


class Category(TenantOwned, Base):
    __tablename__ = "ticket_categories"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        UniqueConstraint("tenant_id", "slug"),
    )

    slug: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(200))
    # Sub-categories: after_sales/fault, after_sales/return, after_sales/complaint.
    parent_slug: Mapped[str | None] = mapped_column(String(63))
    builtin: Mapped[bool] = mapped_column(default=False)


class TicketCounter(TenantScoped, Base):
    __tablename__ = "ticket_counters"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


# The report's filter columns (``reports.service.ReportFilters``).
_FILTERS = ("channel", "priority", "category", "team_id", "assignee_id")


class Ticket(TenantOwned, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        ForeignKeyConstraint(["tenant_id", "team_id"], ["teams.tenant_id", "teams.id"]),
        ForeignKeyConstraint(["tenant_id", "assignee_id"], ["users.tenant_id", "users.id"]),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_tickets_tenant_state", "tenant_id", "state", "id"),
        Index("ix_tickets_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_tickets_tenant_assignee", "tenant_id", "assignee_id", "state"),
        Index("ix_tickets_tenant_team", "tenant_id", "team_id", "state"),
        # The inbox's views and filters, newest first (migration 0010). On
        # PostgreSQL the table also has ``search_vector``, the words of the
        # subject and of every message, kept by triggers and GIN-indexed for
        # the inbox's search (migration 0016); the model leaves it unmapped,
        # so it is never loaded or written from here.
        # On PostgreSQL they include the other filters and the times,
        # so a report narrowed by two filters reads its tickets from one of
        # them alone (migration 0020, which adds the category's).
        *(
            Index(
                f"ix_tickets_tenant_{column.removesuffix('_id')}_id",
                "tenant_id",
                column,
                "id",
                postgresql_include=[
                    *(c for c in _FILTERS if c != column),
                    "created_at",
                    "resolved_at",
                ],
            )
            for column in _FILTERS
        ),
        # Reports: a tenant's tickets created or resolved in a period (migration 0014).
        Index(
            "ix_tickets_tenant_created",
            "tenant_id",
            "created_at",
            postgresql_include=["channel", "priority", "category", "team_id", "assignee_id"],
        ),
        Index(
            "ix_tickets_tenant_resolved",
            "tenant_id",
            "resolved_at",
            postgresql_include=["channel", "priority", "category", "team_id", "assignee_id"],
        ),
        Index("ix_tickets_tenant_closed", "tenant_id", "closed_at"),
        Index(
            "ix_tickets_tenant_open",
            "tenant_id",
            "created_at",
            postgresql_include=["channel", "priority", "category", "team_id", "assignee_id"],
            postgresql_where=text("state IN ('escalated', 'new', 'open', 'pending')"),
            sqlite_where=text("state IN ('escalated', 'new', 'open', 'pending')"),
        ),
        UniqueConstraint("tenant_id", "reply_token"),
    )

    number: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    category: Mapped[str | None] = mapped_column(String(63))
    channel: Mapped[str] = mapped_column(String(32), default="api")
    # The channel instance and the customer's address on it that replies go to.
    channel_id: Mapped[uuid.UUID | None]
    contact_point_id: Mapped[uuid.UUID | None]
    # A contact after this ticket was closed opens a follow-up linked here.
    follow_up_of: Mapped[uuid.UUID | None]
    # Set when this ticket was merged into another (and closed): its messages
    # moved there; its events stay (append-only) and are read from there.
    merged_into_id: Mapped[uuid.UUID | None]
    # Carried in replies (``support+<token>@``, our Message-IDs) so the
    # customer's answer finds this ticket; made at the first reply.
    reply_token: Mapped[str | None] = mapped_column(String(32))
    customer_id: Mapped[uuid.UUID]
    team_id: Mapped[uuid.UUID | None]
    assignee_id: Mapped[uuid.UUID | None]
    mood: Mapped[str | None] = mapped_column(String(16))
    # The customer's language (given, or detected from the first words) and the
    # product concerned: what skills-based assignment and routing rules match.
    language: Mapped[str | None] = mapped_column(String(16))
    product: Mapped[str | None] = mapped_column(String(63))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    expected_by: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]


class Message(TenantOwned, Base):
    __tablename__ = "messages"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        ForeignKeyConstraint(["tenant_id", "author_user_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "author_customer_id"], ["customers.tenant_id", "customers.id"]
        ),
        Index("ix_messages_tenant_ticket", "tenant_id", "ticket_id", "id"),
        UniqueConstraint("tenant_id", "channel_id", "external_id"),
    )

    ticket_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[uuid.UUID | None]
    # The provider's id of an inbound message (unique per channel).
    external_id: Mapped[str | None] = mapped_column(String(255))
    author_user_id: Mapped[uuid.UUID | None]
    author_customer_id: Mapped[uuid.UUID | None]
    subject: Mapped[str | None] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # Why an inbound message joined this ticket (threading is explainable),
    # its delivery status for outbound ones, provider details.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TicketEvent(TenantOwned, Base):
    """Append-only: on PostgreSQL the app role may only INSERT and SELECT it."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        Index("ix_ticket_events_tenant_ticket", "tenant_id", "ticket_id", "id"),
        Index("ix_ticket_events_tenant_kind_created", "tenant_id", "kind", "created_at"),
        # What changed since the reports' roll-ups were refreshed (migration 0017).
        Index(
            "ix_ticket_events_tenant_created",
            "tenant_id",
            "created_at",
            postgresql_include=["ticket_id"],
        ),
    )

    ticket_id: Mapped[uuid.UUID]
    actor_user_id: Mapped[uuid.UUID | None]
    kind: Mapped[str] = mapped_column(String(48))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MessageRef(TenantOwned, Base):
    """The provider ids (email Message-IDs) of a ticket's messages, in and out, for threading.

    Stored only as a keyed hash (HMAC under the tenant's index key): a
    Message-ID may hold an address (``<1234.li.wei@example.com>``), and
    threading only needs equality.
    """

    __tablename__ = "message_refs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        Index("ix_message_refs_ref", "tenant_id", "ref_index"),
    )

    ref_index: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[uuid.UUID]
    message_id: Mapped[uuid.UUID | None]
    # inbound or outbound
    direction: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
