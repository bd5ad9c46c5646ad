"""Hand-offs: ask another team for work on a ticket, with a due time of its own.

A hand-off has its own clock: one timer at ``due_at``. If it fires while the
hand-off is still ``requested`` or ``accepted``, the hand-off is marked
overdue and escalated to the target team's leads, and ``handoff_overdue``
goes on the ticket's timeline. The ticket's customer-facing SLA clocks are
never read or written here: they keep running as they were.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.auth.permissions import Permission
from frontdesk.auth.service import Principal, get_team, team_members
from frontdesk.clock import now as clock_now
from frontdesk.errors import IllegalTransition, InvalidInput, NotFound, PermissionDenied
from frontdesk.handoffs.models import Handoff
from frontdesk.tickets.models import Ticket
from frontdesk.timers import service as timers

OVERDUE_TIMER = "handoff_overdue"

REQUESTED = "requested"
ACCEPTED = "accepted"
DONE = "done"
DECLINED = "declined"
OPEN = (REQUESTED, ACCEPTED)

# action -> (states it may follow, the state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": ((REQUESTED,), ACCEPTED),
    "done": (OPEN, DONE),
    "decline": (OPEN, DECLINED),
}

MAX_DUE = dt.timedelta(days=366)


class HandoffIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    team_id: uuid.UUID
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
    due_at: dt.datetime | None = None
    due_minutes: Annotated[int, msgspec.Meta(ge=1, le=366 * 24 * 60)] | None = None


class ActionIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=10_000)] | None = None


class HandoffOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    ticket_id: uuid.UUID
    team_id: uuid.UUID
    from_team_id: uuid.UUID | None
    requested_by: uuid.UUID | None
    description: str
    status: str
    due_at: dt.datetime
    overdue: bool
    overdue_at: dt.datetime | None
    escalated_to: list[uuid.UUID]
    created_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    note: str | None


def out(h: Handoff) -> HandoffOut:
    return HandoffOut(
        id=h.id,
        ticket_id=h.ticket_id,
        team_id=h.team_id,
        from_team_id=h.from_team_id,
        requested_by=h.requested_by,
        description=h.description,
        status=h.status,
        due_at=h.due_at,
        overdue=h.overdue_at is not None,
        overdue_at=h.overdue_at,
        escalated_to=[uuid.UUID(u) for u in h.escalated_to],
        created_at=h.created_at,
        updated_at=h.updated_at,
        resolved_at=h.resolved_at,
        note=h.note,
    )


def _event_data(h: Handoff, **extra: Any) -> dict[str, Any]:
    return {
        "handoff_id": str(h.id),
        "team_id": str(h.team_id),
        "status": h.status,
        "due_at": h.due_at.isoformat(),
        **extra,
    }


def _add_event(
    session: AsyncSession, ticket_id: uuid.UUID, actor: uuid.UUID | None, kind: str, data: Any
) -> None:
    from frontdesk.tickets.models import TicketEvent

    session.add(TicketEvent(ticket_id=ticket_id, actor_user_id=actor, kind=kind, data=data))


async def request(
    session: AsyncSession, principal: Principal, ticket: Ticket, data: HandoffIn
) -> Handoff:
    """Validate everything, then write the row, its timer and the event together."""
    now = clock_now()
    if (data.due_at is None) == (data.due_minutes is None):
        raise InvalidInput("give either due_at or due_minutes")
    if data.due_at is not None:
        if data.due_at.tzinfo is None:
            raise InvalidInput("due_at needs a time zone")
        due_at = data.due_at.astimezone(dt.UTC)
        if due_at <= now:
            raise InvalidInput("due_at must be in the future")
        if due_at - now > MAX_DUE:
            raise InvalidInput("due_at is more than a year away")
    else:
        assert data.due_minutes is not None
        due_at = now + dt.timedelta(minutes=data.due_minutes)
    try:
        team = await get_team(session, data.team_id)
    except NotFound:
        raise InvalidInput("no such team") from None
    if team.id == ticket.team_id:
        raise InvalidInput("a hand-off goes to another team than the ticket's")
    handoff = Handoff(
        ticket_id=ticket.id,
        team_id=team.id,
        from_team_id=ticket.team_id,
        requested_by=principal.user_id,
        description=data.description,
        status=REQUESTED,
        due_at=due_at,
        escalated_to=[],
        created_at=now,
        updated_at=now,
    )
    session.add(handoff)
    await session.flush()
    handoff.timer_id = timers.schedule(
        session,
        kind=OVERDUE_TIMER,
        due_at=due_at,
        ticket_id=ticket.id,
        payload={"handoff_id": str(handoff.id)},
    ).id
    _add_event(
        session,
        ticket.id,
        principal.user_id,
        "handoff_requested",
        _event_data(handoff, description=data.description),
    )
    await session.flush()
    return handoff


def can_see_all(principal: Principal) -> bool:
    return principal.has(Permission.TICKETS_READ_ALL)


async def get(session: AsyncSession, principal: Principal, handoff_id: uuid.UUID) -> Handoff:
    """One the principal may see: read-all, a member of either team, or its ticket's reader."""
    from frontdesk.tickets.service import readable

    handoff = await session.scalar(select(Handoff).where(Handoff.id == handoff_id))
    if handoff is None:
        raise NotFound("no such hand-off")
    if can_see_all(principal) or {handoff.team_id, handoff.from_team_id} & principal.team_ids:
        return handoff
    if await session.scalar(readable(principal).where(Ticket.id == handoff.ticket_id)) is None:
        raise NotFound("no such hand-off")
    return handoff


async def for_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> list[Handoff]:
    stmt = select(Handoff).where(Handoff.ticket_id == ticket_id)
    return list((await session.scalars(stmt.order_by(Handoff.created_at, Handoff.id))).all())


async def queue(
    session: AsyncSession,
    principal: Principal,
    team_id: uuid.UUID | None,
    status: Sequence[str] | None = None,
) -> list[Handoff]:
    """A team's queue: hand-offs asked of it and asked by it. Without a team,
    the principal's teams (every team with ``tickets.read_all``)."""
    stmt = select(Handoff)
    if team_id is not None:
        if not can_see_all(principal) and team_id not in principal.team_ids:
            raise PermissionDenied("only a team's members see its hand-off queue")
        stmt = stmt.where(or_(Handoff.team_id == team_id, Handoff.from_team_id == team_id))
    elif not can_see_all(principal):
        teams = sorted(principal.team_ids)
        stmt = stmt.where(or_(Handoff.team_id.in_(teams), Handoff.from_team_id.in_(teams)))
    if status:
        stmt = stmt.where(Handoff.status.in_(status))
    return list((await session.scalars(stmt.order_by(Handoff.due_at, Handoff.id))).all())


async def act(
    session: AsyncSession,
    principal: Principal,
    handoff_id: uuid.UUID,
    action: str,
    note: str | None,
) -> Handoff:
    """Accept, finish or decline: a member of the target team (or a team manager)."""
    handoff = await get(session, principal, handoff_id)
    if handoff.team_id not in principal.team_ids and not principal.has(Permission.TEAMS_MANAGE):
        raise PermissionDenied("only the requested team's members act on a hand-off")
    sources, target = TRANSITIONS[action]
    if handoff.status not in sources:
        raise IllegalTransition(f"a {handoff.status} hand-off cannot be {target}")
    now = clock_now()
    if target in (DONE, DECLINED) and handoff.timer_id is not None:
        await timers.cancel(session, [handoff.timer_id])
        handoff.timer_id = None
    handoff.status = target
    handoff.updated_at = now
    if target in (DONE, DECLINED):
        handoff.resolved_at = now
    if note is not None:
        handoff.note = note
    _add_event(
        session,
        handoff.ticket_id,
        principal.user_id,
        f"handoff_{target}",
        _event_data(handoff, note=note),
    )
    await session.flush()
    return handoff


async def team_leads(session: AsyncSession, team_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Each team's leads (user ids, sorted), through the auth domain's members."""
    leads: dict[uuid.UUID, list[str]] = {}
    for member in await team_members(session, sorted(team_ids)):
        if member.is_lead:
            leads.setdefault(member.team_id, []).append(str(member.user_id))
    return {team_id: sorted(users) for team_id, users in leads.items()}


@timers.handler(OVERDUE_TIMER)
async def _overdue(session: AsyncSession, fired: list[timers.FiredTimer]) -> None:
    """Past the internal target and still open: overdue, escalated to the team's leads."""
    ids = sorted({uuid.UUID(str(t.payload["handoff_id"])) for t in fired})
    rows = (await session.scalars(select(Handoff).where(Handoff.id.in_(ids)))).all()
    late = [h for h in rows if h.status in OPEN and h.overdue_at is None]
    if not late:
        return
    from frontdesk.notifications.service import notify

    leads = await team_leads(session, {h.team_id for h in late})
    now = clock_now()
    for h in late:
        h.overdue_at = now
        h.timer_id = None
        h.escalated_to = leads.get(h.team_id, [])
        _add_event(
            session,
            h.ticket_id,
            None,
            "handoff_overdue",
            _event_data(h, escalated_to=h.escalated_to),
        )
        await notify(
            session,
            h.tenant_id,
            [uuid.UUID(u) for u in h.escalated_to],
            "handoff_overdue",
            ticket_id=h.ticket_id,
            payload={
                "handoff_id": str(h.id),
                "team_id": str(h.team_id),
                "description": h.description[:200],
                "due_at": h.due_at.isoformat(),
            },
        )
    await session.flush()


async def erase_texts(session: AsyncSession, ticket_ids: Sequence[uuid.UUID]) -> int:
    """A personal-data erasure: the words of the tickets' hand-offs (they describe
    the customer's case); who asked whom, and when, stay."""
    if not ticket_ids:
        return 0
    rows = (
        await session.scalars(select(Handoff).where(Handoff.ticket_id.in_(list(ticket_ids))))
    ).all()
    for handoff in rows:
        handoff.description = "(erased)"
        handoff.note = None
    await session.flush()
    return len(rows)


def open_handoff_ticket_ids(team_ids: frozenset[uuid.UUID]) -> Select[uuid.UUID]:
    """Tickets with a hand-off asked of one of these teams and not yet done (the inbox's view)."""
    return select(Handoff.ticket_id).where(
        Handoff.team_id.in_(sorted(team_ids)), Handoff.status.in_(OPEN)
    )
