"""Incidents: mark a ticket, link customers' tickets, post updates, resolve them all.

An update is one public reply on every linked ticket that is not closed,
each delivered on that ticket's own channel by the ordinary delivery jobs
(one ``deliveries`` row and one ``deliver`` job per ticket: a retried job
claims its row and never sends twice). Everything is written in bulk, so
an incident with hundreds of linked tickets costs a few statements, not a
transaction per ticket.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.auth.permissions import Permission
from frontdesk.auth.service import Principal
from frontdesk.db import utcnow
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.ids import new_id
from frontdesk.incidents.models import Incident, IncidentLink, IncidentUpdate
from frontdesk.tickets import service as tickets
from frontdesk.tickets.states import OPEN_STATES, TicketState

if TYPE_CHECKING:
    from frontdesk.tickets.models import Ticket

MAX_LINKS_PER_CALL = 1_000
MAX_BODY = 20_000


class IncidentIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    ticket_id: uuid.UUID


class LinksIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    ticket_ids: list[uuid.UUID]


class UpdateIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    body: str


class ResolveIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: Sent to every linked ticket as the last update before they are resolved.
    body: str | None = None


class IncidentOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    ticket_id: uuid.UUID
    number: str
    subject: str
    status: str
    linked: int
    created_by: uuid.UUID | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None


class UpdateOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    incident_id: uuid.UUID
    kind: str
    body: str
    author_user_id: uuid.UUID | None
    #: Linked tickets that got it as a reply, and how many of those go out on a channel.
    recipients: int
    queued: int
    created_at: dt.datetime

    @classmethod
    def of(cls, update: IncidentUpdate) -> UpdateOut:
        return cls(
            id=update.id,
            incident_id=update.incident_id,
            kind=update.kind,
            body=update.body,
            author_user_id=update.author_user_id,
            recipients=update.recipients,
            queued=update.queued,
            created_at=update.created_at,
        )


async def out(session: AsyncSession, incident: Incident) -> IncidentOut:
    ticket = await tickets.get_ticket_unchecked(session, incident.ticket_id)
    linked = await session.scalar(
        select(func.count())
        .select_from(IncidentLink)
        .where(IncidentLink.incident_id == incident.id)
    )
    return IncidentOut(
        id=incident.id,
        ticket_id=incident.ticket_id,
        number=ticket.number,
        subject=ticket.subject,
        status=incident.status,
        linked=int(linked or 0),
        created_by=incident.created_by,
        created_at=incident.created_at,
        resolved_at=incident.resolved_at,
    )


async def _incident_of(session: AsyncSession, ticket_id: uuid.UUID) -> Incident | None:
    return await session.scalar(select(Incident).where(Incident.ticket_id == ticket_id))


async def mark(session: AsyncSession, principal: Principal, ticket: Ticket) -> Incident:
    """Mark a ticket the caller may read as an incident."""
    principal.require(Permission.TICKETS_UPDATE)
    if ticket.state == TicketState.CLOSED.value:
        raise Conflict("a closed ticket cannot become an incident")
    if await _incident_of(session, ticket.id) is not None:
        raise Conflict("this ticket is already an incident")
    if await session.scalar(select(IncidentLink.id).where(IncidentLink.ticket_id == ticket.id)):
        raise Conflict("this ticket is linked to an incident; unlink it first")
    incident = Incident(
        id=new_id(), ticket_id=ticket.id, status="open", created_by=principal.user_id
    )
    session.add(incident)
    await session.flush()
    await tickets.add_system_event(session, ticket, "incident_marked", incident_id=str(incident.id))
    return incident


async def get_incident(
    session: AsyncSession, principal: Principal, incident_id: uuid.UUID
) -> Incident:
    """An incident whose ticket the caller may read; 404 otherwise (another tenant's too)."""
    incident = await session.scalar(select(Incident).where(Incident.id == incident_id))
    if incident is None:
        raise NotFound("no such incident")
    try:
        await tickets.get_ticket(session, principal, incident.ticket_id)
    except NotFound:
        raise NotFound("no such incident") from None
    return incident


async def list_incidents(
    session: AsyncSession, principal: Principal, status: str | None
) -> list[Incident]:
    readable = tickets.readable_ids(principal)
    stmt = select(Incident).where(Incident.ticket_id.in_(readable.scalar_subquery()))
    if status is not None:
        stmt = stmt.where(Incident.status == status)
    return list((await session.scalars(stmt.order_by(Incident.id.desc()).limit(200))).all())


def _open(incident: Incident) -> None:
    if incident.status != "open":
        raise Conflict("this incident is resolved")


async def link(
    session: AsyncSession, principal: Principal, incident: Incident, ticket_ids: Sequence[uuid.UUID]
) -> int:
    """Link tickets (all or none); already linked here: left as they are. Returns how
    many were linked now."""
    principal.require(Permission.TICKETS_UPDATE)
    _open(incident)
    wanted = sorted(set(ticket_ids))
    if not wanted:
        raise InvalidInput("name at least one ticket")
    if len(wanted) > MAX_LINKS_PER_CALL:
        raise InvalidInput(f"at most {MAX_LINKS_PER_CALL} tickets at a time")
    found = {t.id: t for t in await tickets.tickets_among(session, wanted, principal=principal)}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(f"no such ticket: {missing[0]}")
    if incident.ticket_id in found:
        raise InvalidInput("an incident's own ticket is not linked to it")
    if await session.scalar(select(Incident.id).where(Incident.ticket_id.in_(wanted))):
        raise Conflict("an incident's ticket cannot be linked to another incident")
    closed = [t.number for t in found.values() if t.state == TicketState.CLOSED.value]
    if closed:
        raise Conflict(f"closed tickets cannot be linked: {', '.join(sorted(closed)[:5])}")
    existing = dict(
        (
            await session.execute(
                select(IncidentLink.ticket_id, IncidentLink.incident_id).where(
                    IncidentLink.ticket_id.in_(wanted)
                )
            )
        ).all()
    )
    elsewhere = [i for i, inc in existing.items() if inc != incident.id]
    if elsewhere:
        raise Conflict(f"ticket {found[elsewhere[0]].number} is linked to another incident")
    new = [found[i] for i in wanted if i not in existing]
    incident_ticket = await tickets.get_ticket_unchecked(session, incident.ticket_id)
    session.add_all(
        IncidentLink(
            id=new_id(), incident_id=incident.id, ticket_id=t.id, linked_by=principal.user_id
        )
        for t in new
    )
    await session.flush()
    await tickets.add_system_events(
        session,
        [
            (
                t,
                "incident_linked",
                {"incident_id": str(incident.id), "incident": incident_ticket.number},
            )
            for t in new
        ],
    )
    return len(new)


async def unlink(
    session: AsyncSession, principal: Principal, incident: Incident, ticket_id: uuid.UUID
) -> None:
    principal.require(Permission.TICKETS_UPDATE)
    ticket = await tickets.get_ticket(session, principal, ticket_id)
    result = await session.execute(
        delete(IncidentLink)
        .where(IncidentLink.incident_id == incident.id, IncidentLink.ticket_id == ticket.id)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("this ticket is not linked to this incident")
    await tickets.add_system_event(
        session, ticket, "incident_unlinked", incident_id=str(incident.id)
    )


async def linked_tickets(
    session: AsyncSession,
    principal: Principal,
    incident: Incident,
    *,
    limit: int,
    after: uuid.UUID | None = None,
) -> list[Ticket]:
    """The linked tickets the caller may read, oldest first from ``after``."""
    return await tickets.tickets_among(
        session, _linked_ids(incident), principal=principal, after=after, limit=limit
    )


def _linked_ids(incident: Incident) -> Select[Any]:
    return select(IncidentLink.ticket_id).where(IncidentLink.incident_id == incident.id)


async def _all_linked(session: AsyncSession, incident: Incident) -> list[Ticket]:
    return await tickets.tickets_among(session, _linked_ids(incident))


async def post_update(
    session: AsyncSession,
    principal: Principal,
    incident: Incident,
    body: str,
    *,
    kind: str = "update",
) -> IncidentUpdate:
    """One reply on each linked ticket that is not closed, on its own channel."""
    principal.require(Permission.TICKETS_REPLY)
    _open(incident)
    body = body.strip()
    if not body:
        raise InvalidInput("an update needs a body")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"an update is at most {MAX_BODY:,} characters")
    targets = [
        t for t in await _all_linked(session, incident) if t.state != TicketState.CLOSED.value
    ]
    update = IncidentUpdate(
        id=new_id(),
        incident_id=incident.id,
        author_user_id=principal.user_id,
        body=body,
        kind=kind,
        recipients=len(targets),
        queued=sum(1 for t in targets if t.channel_id and t.contact_point_id),
        created_at=utcnow(),
    )
    session.add(update)
    await session.flush()
    extra = {"incident_id": str(incident.id), "incident_update_id": str(update.id)}
    await tickets.add_replies(
        session,
        [(t, body, extra) for t in targets],
        author_user_id=principal.user_id,
        meta={},
        event_kind="incident_update_sent",
    )
    own = await tickets.get_ticket_unchecked(session, incident.ticket_id)
    await tickets.add_system_event(
        session,
        own,
        "incident_update_posted",
        incident_update_id=str(update.id),
        recipients=update.recipients,
    )
    return update


async def list_updates(session: AsyncSession, incident: Incident) -> list[IncidentUpdate]:
    stmt = (
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id == incident.id)
        .order_by(IncidentUpdate.id)
    )
    return list((await session.scalars(stmt)).all())


async def resolve(
    session: AsyncSession, principal: Principal, incident: Incident, body: str | None
) -> Incident:
    """Resolve the incident's ticket and every open linked ticket in one transaction;
    each resolved ticket gets its own survey and follow-up (``followups``)."""
    principal.require(Permission.TICKETS_UPDATE)
    _open(incident)
    if body is not None and body.strip():
        await post_update(session, principal, incident, body, kind="resolution")
    own = await tickets.get_ticket_unchecked(session, incident.ticket_id)
    open_values = {s.value for s in OPEN_STATES}
    targets = [t for t in await _all_linked(session, incident) if t.state in open_values]
    if own.state in open_values:
        targets.append(own)
    own_number = own.number
    await tickets.change_states(
        session, principal, targets, TicketState.RESOLVED, reason=f"incident {own_number} resolved"
    )
    incident.status = "resolved"
    incident.resolved_at = utcnow()
    await session.flush()
    return incident
