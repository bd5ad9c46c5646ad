"""Routing's tables: business-hours calendars, SLA policies and each ticket's SLA clocks,
routing rules, and what assignment needs (agents' presence and skills, teams' strategies)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, TenantScoped, utcnow


class BusinessHours(TenantOwned, Base):
    """A calendar: the tenant's (``team_id`` NULL) or one team's."""

    __tablename__ = "business_hours"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "team_id"], ["teams.tenant_id", "teams.id"]),
        # "tenant" or the team's id: one calendar per scope (NULLs are never equal).
        UniqueConstraint("tenant_id", "scope"),
    )

    scope: Mapped[str] = mapped_column(String(40))
    team_id: Mapped[uuid.UUID | None]
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SlaPolicy(TenantOwned, Base):
    """One entry of a tenant's ordered SLA policy list (see ``routing.sla``)."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        UniqueConstraint("tenant_id", "position"),
    )

    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    # {"priorities": [...], "channels": [...], "categories": [...]}: empty means any.
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"first_response": {"seconds": 900}, "resolution": {"business_days": 3}, ...}
    targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # [{"on": "breach", "escalate": true, "priority": "urgent", "team": "engineering"}, ...]
    escalation: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class TicketSla(TenantScoped, Base):
    """One SLA clock of one ticket: first response, next response or resolution.

    Times are business time under the ticket's calendar: ``consumed_seconds``
    ran before ``running_since`` (pauses split it), ``target_seconds`` is the
    promise. ``generation`` counts restarts (each next-response cycle), so a
    timer of an earlier cycle does nothing.
    """

    __tablename__ = "ticket_slas"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        # The inbox's "breaching" view (migration 0010).
        Index("ix_ticket_slas_tenant_state_due", "tenant_id", "state", "due_at"),
        # Reports (migration 0014).
        Index(
            "ix_ticket_slas_tenant_metric_met",
            "tenant_id",
            "metric",
            "met_at",
            postgresql_include=["state", "consumed_seconds"],
        ),
        Index(
            "ix_ticket_slas_tenant_started",
            "tenant_id",
            "started_at",
            postgresql_include=[
                "metric",
                "policy",
                "state",
                "target_seconds",
                "consumed_seconds",
                "breached_at",
            ],
        ),
        # Reports narrowed by filters: the clocks of the matching tickets, read
        # from the index alone on PostgreSQL (migration 0020).
        Index(
            "ix_ticket_slas_tenant_ticket_report",
            "tenant_id",
            "ticket_id",
            postgresql_include=[
                "metric",
                "policy",
                "state",
                "started_at",
                "met_at",
                "target_seconds",
                "consumed_seconds",
                "breached_at",
            ],
        ),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(24), primary_key=True)
    policy: Mapped[str] = mapped_column(String(100))
    target_seconds: Mapped[int]
    generation: Mapped[int] = mapped_column(default=1)
    # running, paused (pending on the customer), met, cancelled
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime]
    running_since: Mapped[dt.datetime | None]
    consumed_seconds: Mapped[float] = mapped_column(default=0.0)
    due_at: Mapped[dt.datetime | None]
    warned_at: Mapped[dt.datetime | None]
    breached_at: Mapped[dt.datetime | None]
    met_at: Mapped[dt.datetime | None]
    warning_timer_id: Mapped[uuid.UUID | None]
    breach_timer_id: Mapped[uuid.UUID | None]


class RoutingRule(TenantOwned, Base):
    """One entry of a tenant's ordered routing rules (see ``routing.rules``)."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        UniqueConstraint("tenant_id", "position"),
    )

    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AgentProfile(TenantScoped, Base):
    """What assignment knows of a user as an agent: presence, capacity, skills.

    ``connections`` counts the user's open inbox sockets: the last one to
    close takes an ``online`` agent offline. Open sockets renew
    ``socket_lease_until``; once it has passed, they are presumed gone with a
    crashed app process (``routing.assignment``).
    """

    __tablename__ = "agent_profiles"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # online, away, offline
    presence: Mapped[str] = mapped_column(String(16), default="offline")
    presence_changed_at: Mapped[dt.datetime | None]
    connections: Mapped[int] = mapped_column(default=0)
    socket_lease_until: Mapped[dt.datetime | None]
    # The most open tickets assignment gives this agent; None: no limit.
    capacity: Mapped[int | None]
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    products: Mapped[list[str]] = mapped_column(JSON, default=list)


class TeamAssignment(TenantScoped, Base):
    """A team's assignment strategy, and the round robin's place in its rota."""

    __tablename__ = "team_assignment"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "team_id"], ["teams.tenant_id", "teams.id"]),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # round_robin, least_loaded, skills
    strategy: Mapped[str] = mapped_column(String(16))
    last_assignee_id: Mapped[uuid.UUID | None]
