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
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.util import identity_key

from frontdesk.auth.models import ApiToken, Role, TeamMember, User
from frontdesk.db import session_tenant, utcnow
from frontdesk.notifications.models import Notification
from frontdesk.tickets.models import Message, Ticket, TicketEvent

# Not for the browser: tells open sockets that who may see what has changed
# (a user deactivated, a team joined or left, a role's permissions edited).
ACCESS_CHANGED = "access.changed"
NOTIFICATION = "notification.created"
# A user viewing or typing on a ticket (the pages' collision notice); never stored.
PRESENCE = "presence"


class RealtimeEvent(msgspec.Struct, frozen=True, kw_only=True):
    type: str  # ticket.event, message.created, channel.activity, presence, access.changed
    tenant_id: uuid.UUID
    ticket_id: uuid.UUID | None
    # Who may see it: the ticket's team and assignee at the time.
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    at: dt.datetime
    data: dict[str, Any] = {}
    # A hand-off or reassignment is also shown to those the ticket leaves,
    # so their inbox can drop it.
    previous_team_id: uuid.UUID | None = None
    previous_assignee_id: uuid.UUID | None = None
    # A notification is for one user only, whatever they may see of the ticket.
    recipient_id: uuid.UUID | None = None


def tenant_channel(tenant_id: uuid.UUID) -> str:
    return f"tenant:{tenant_id}"


def queue_event(session: Session, ev: RealtimeEvent) -> None:
    pending: list[RealtimeEvent] = session.info.setdefault("pending_events", [])
    pending.append(ev)


def take_pending(session: Session) -> list[RealtimeEvent]:
    pending: list[RealtimeEvent] = session.info.pop("pending_events", [])
    return pending


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def access_changed(tenant_id: uuid.UUID, user_id: uuid.UUID | None) -> RealtimeEvent:
    """``user_id`` None: any user of the tenant may be affected."""
    return RealtimeEvent(
        type=ACCESS_CHANGED,
        tenant_id=tenant_id,
        ticket_id=None,
        team_id=None,
        assignee_id=None,
        at=utcnow(),
        data={"user_id": str(user_id) if user_id else None},
    )


def _changed(obj: Any, *names: str) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in names)


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
                    previous_team_id=(
                        _uuid(obj.data.get("before")) if obj.kind == "team_changed" else None
                    ),
                    previous_assignee_id=(
                        _uuid(obj.data.get("before")) if obj.kind == "assigned" else None
                    ),
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
        elif isinstance(obj, Notification):
            queue_event(
                session,
                RealtimeEvent(
                    type=NOTIFICATION,
                    tenant_id=obj.tenant_id,
                    ticket_id=obj.ticket_id,
                    team_id=None,
                    assignee_id=None,
                    at=obj.created_at,
                    recipient_id=obj.user_id,
                    data={"id": str(obj.id), "kind": obj.kind, "payload": obj.payload},
                ),
            )

    for obj in (*session.new, *session.deleted):
        if isinstance(obj, TeamMember):
            queue_event(session, access_changed(obj.tenant_id, obj.user_id))
    for obj in session.dirty:
        if isinstance(obj, User) and _changed(obj, "is_active", "token_generation", "role_id"):
            queue_event(session, access_changed(obj.tenant_id, obj.id))
        elif isinstance(obj, Role) and _changed(obj, "permissions"):
            queue_event(session, access_changed(obj.tenant_id, None))
        elif isinstance(obj, ApiToken) and _changed(obj, "revoked_at", "expires_at"):
            queue_event(session, access_changed(obj.tenant_id, obj.created_by))


@event.listens_for(Session, "do_orm_execute")
def _bulk_access_change(state: ORMExecuteState) -> None:
    """``delete(TeamMember)`` and other bulk statements pass no rows through the flush."""
    if not (state.is_delete or state.is_update):
        return
    if any(m.class_ in (TeamMember, User, Role, ApiToken) for m in state.all_mappers):
        tenant_id = session_tenant(state.session)
        if tenant_id is not None:
            queue_event(state.session, access_changed(tenant_id, None))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop("pending_events", None)
    session.info.pop("pending_jobs", None)
