"""Channel instances, their webhook endpoints, stored inbound events, conversations, deliveries."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, TenantScoped, utcnow


class ChannelInstance(TenantOwned, Base):
    """A tenant's configured channel: one adapter kind with its configuration."""

    __tablename__ = "channels"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "team_id"], ["teams.tenant_id", "teams.id"]),
        UniqueConstraint("tenant_id", "name"),
    )

    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    # Non-secret configuration, as the adapter's config type encodes it.
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Secret fields, as one encrypted JSON document (never returned by the API).
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    # The team new tickets from this channel go to, before routing rules.
    team_id: Mapped[uuid.UUID | None]
    # The platform's own per-channel settings (``channels.settings.ChannelSettings``):
    # what the core does with the channel's mail, whatever the adapter.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ChannelEndpoint(Base):
    """The global index from an unguessable webhook token to its tenant and channel.

    A provider's request carries no credentials of ours, only the URL; this
    is the one lookup made before the tenant is known.
    """

    __tablename__ = "channel_endpoints"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID]
    channel_id: Mapped[uuid.UUID]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InboundEvent(TenantOwned, Base):
    """A message or event as received, stored before it is answered 2xx.

    Unique per (tenant, channel, external id): a provider's redelivery finds
    its first copy and is dropped. The payload is encrypted: it holds the
    sender's address.
    """

    __tablename__ = "inbound_events"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"]),
        UniqueConstraint("tenant_id", "channel_id", "external_id"),
        Index("ix_inbound_events_status", "tenant_id", "status", "received_at"),
    )

    channel_id: Mapped[uuid.UUID]
    external_id: Mapped[str] = mapped_column(String(255))
    # message or event
    kind: Mapped[str] = mapped_column(String(16))
    payload_encrypted: Mapped[str] = mapped_column(Text)
    # received → processed, or failed (kept, with the error, for an operator)
    status: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None]
    ticket_id: Mapped[uuid.UUID | None]
    message_id: Mapped[uuid.UUID | None]


class Conversation(TenantOwned, Base):
    """A provider's conversation (chat, call, thread id) and the ticket it feeds."""

    __tablename__ = "conversations"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        UniqueConstraint("tenant_id", "channel_id", "conversation_key"),
    )

    channel_id: Mapped[uuid.UUID]
    conversation_key: Mapped[str] = mapped_column(String(255))
    ticket_id: Mapped[uuid.UUID]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Delivery(TenantOwned, Base):
    """One outbound message on its way through a channel, with every attempt on record."""

    __tablename__ = "deliveries"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"]),
        ForeignKeyConstraint(["tenant_id", "message_id"], ["messages.tenant_id", "messages.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        UniqueConstraint("tenant_id", "message_id"),
        Index("ix_deliveries_status", "tenant_id", "status", "next_attempt_at"),
    )

    message_id: Mapped[uuid.UUID]
    ticket_id: Mapped[uuid.UUID]
    channel_id: Mapped[uuid.UUID]
    contact_point_id: Mapped[uuid.UUID]
    # queued → sent, or failed after the last attempt
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    next_attempt_at: Mapped[dt.datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ChannelCursor(TenantScoped, Base):
    """Where a pull channel's poller resumes, and who holds the right to poll it now.

    The lease (``lease_owner`` until ``lease_until``) is taken with one
    conditional UPDATE, so two workers never poll one mailbox at once; the
    cursor is written only after what the poll returned is stored.
    """

    __tablename__ = "channel_cursors"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"]),
    )

    channel_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[dt.datetime | None]
    next_poll_at: Mapped[dt.datetime | None]
    last_polled_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    polls: Mapped[int] = mapped_column(default=0)


class InboundRejection(TenantOwned, Base):
    """Something a channel received and the intake refused (malformed mail), kept with the reason.

    The raw request is kept encrypted (it holds the sender's address), up
    to a size, so an operator can see what came; one row per distinct body.
    """

    __tablename__ = "inbound_rejections"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"]),
        UniqueConstraint("tenant_id", "channel_id", "digest"),
    )

    channel_id: Mapped[uuid.UUID]
    # webhook, smtp, lmtp, imap
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    # SHA-256 of the body: a redelivered rejected request is one row.
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    raw_encrypted: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SenderWindow(TenantScoped, Base):
    """How many messages one contact point sent to one channel in the current window.

    The per-sender rate limit: past the channel's limit, mail is stored but
    treated as automatic (no automatic answer, no new ticket).
    """

    __tablename__ = "sender_windows"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "channel_id"], ["channels.tenant_id", "channels.id"]),
    )

    channel_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    contact_point_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime]
    count: Mapped[int] = mapped_column(default=0)
