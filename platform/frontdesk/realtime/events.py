"""What agents' sockets receive: an event per ticket change and per message, after commit.

Events are collected as rows are flushed, so no action can forget to
publish, and sent only once the transaction commits, so nobody is shown a
change that was rolled back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from frontdesk.tickets.models import Message, Ticket, TicketEvent


class RealtimeEvent(msgspec.Struct, frozen=True, kw_only=True):
    type: str  # ticket.event, message.created, channel.activity
    tenant_id: uuid.UUID
    ticket_id: uuid.UUID | None
    # Who may see it: the ticket's team and assignee at the time.
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    at: dt.datetime
    data: dict[str, Any] = {}


def tenant_channel(tenant_id: uuid.UUID) -> str:
    return f"tenant:{tenant_id}"


def queue_event(session: Session, ev: RealtimeEvent) -> None:
    pending: list[RealtimeEvent] = session.info.setdefault("pending_events", [])
    pending.append(ev)


def take_pending(session: Session) -> list[RealtimeEvent]:
    pending: list[RealtimeEvent] = session.info.pop("pending_events", [])
    return pending


def _ticket(session: Session, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> Ticket | None:
    found = session.identity_map.get(identity_key(Ticket, (tenant_id, ticket_id)))
    return found if isinstance(found, Ticket) else None


@event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context: Any) -> None:
    for obj in session.new:
        if isinstance(obj, TicketEvent):
            ticket = _ticket(session, obj.tenant_id, obj.ticket_id)
            queue_event(
                session,
                RealtimeEvent(
                    type="ticket.event",
                    tenant_id=obj.tenant_id,
                    ticket_id=obj.ticket_id,
                    team_id=ticket.team_id if ticket else None,
                    assignee_id=ticket.assignee_id if ticket else None,
                    at=obj.created_at,
                    data={
                        "kind": obj.kind,
                        "event_id": str(obj.id),
                        "number": ticket.number if ticket else None,
                        "state": ticket.state if ticket else None,
                        **{k: v for k, v in obj.data.items() if k in ("before", "after")},
                    },
                ),
            )
        elif isinstance(obj, Message):
            ticket = _ticket(session, obj.tenant_id, obj.ticket_id)
            queue_event(
                session,
                RealtimeEvent(
                    type="message.created",
                    tenant_id=obj.tenant_id,
                    ticket_id=obj.ticket_id,
                    team_id=ticket.team_id if ticket else None,
                    assignee_id=ticket.assignee_id if ticket else None,
                    at=obj.created_at,
                    data={
                        "message_id": str(obj.id),
                        "kind": obj.kind,
                        "direction": obj.direction,
                        "channel": obj.channel,
                    },
                ),
            )


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop("pending_events", None)
    session.info.pop("pending_jobs", None)
