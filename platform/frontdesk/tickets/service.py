"""Ticket actions: each state change checks, writes, and appends its ticket event.

Controllers, actors, the CLI and pages call these; none repeats them.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Select, cast, delete, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.auth.permissions import Permission
from frontdesk.auth.service import (
    Principal,
    get_team,
    get_user,
    list_roles,
    list_users,
    role_permissions,
    team_members,
)
from frontdesk.db import session_tenant, utcnow
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.ids import new_id
from frontdesk.routing.language import detect as detect_language
from frontdesk.tenancy.service import get_tenant
from frontdesk.tickets.models import (
    Category,
    Message,
    MessageRef,
    Ticket,
    TicketCounter,
    TicketEvent,
)
from frontdesk.tickets.states import (
    Direction,
    MessageKind,
    Mood,
    Priority,
    TicketState,
    check_transition,
)

if TYPE_CHECKING:
    from frontdesk.auth.models import User

BUILTIN_CATEGORIES: tuple[tuple[str, str, str | None], ...] = (
    ("pre_sales", "Pre-sales inquiry (售前咨询)", None),
    ("after_sales", "After-sales (售后)", None),
    ("fault", "Fault (故障)", "after_sales"),
    ("return_exchange", "Return / exchange (退换货)", "after_sales"),
    ("complaint", "Complaint (投诉)", "after_sales"),
    ("care", "Customer care (客户关怀)", None),
    ("collaboration", "Cross-department collaboration (跨部门协作)", None),
)

MAX_TAGS = 30


class TicketChanges(msgspec.Struct, frozen=True, kw_only=True):
    """Fields an update may set; UNSET leaves a field as it is."""

    subject: str | msgspec.UnsetType = msgspec.UNSET
    priority: Priority | msgspec.UnsetType = msgspec.UNSET
    category: str | msgspec.UnsetType | None = msgspec.UNSET
    mood: Mood | msgspec.UnsetType | None = msgspec.UNSET
    tags: list[str] | msgspec.UnsetType = msgspec.UNSET
    expected_by: dt.datetime | msgspec.UnsetType | None = msgspec.UNSET


def _tenant(session: AsyncSession) -> uuid.UUID:
    tenant_id = session_tenant(session.sync_session)
    assert tenant_id is not None, "ticket actions run in a tenant-bound session"
    return tenant_id


async def seed_categories(session: AsyncSession) -> None:
    session.add_all(
        Category(slug=slug, name=name, parent_slug=parent, builtin=True)
        for slug, name, parent in BUILTIN_CATEGORIES
    )
    await session.flush()


async def list_categories(session: AsyncSession) -> list[Category]:
    return list((await session.scalars(select(Category).order_by(Category.slug))).all())


async def create_category(
    session: AsyncSession, actor: Principal, *, slug: str, name: str, parent_slug: str | None
) -> Category:
    if await session.scalar(select(Category.id).where(Category.slug == slug)) is not None:
        raise Conflict(f"a category {slug!r} exists")
    if parent_slug is not None:
        await check_category(session, parent_slug)
    category = Category(slug=slug, name=name, parent_slug=parent_slug, builtin=False)
    session.add(category)
    await session.flush()
    return category


async def check_category(session: AsyncSession, slug: str) -> str:
    if await session.scalar(select(Category.id).where(Category.slug == slug)) is None:
        raise InvalidInput(f"unknown category {slug!r}")
    return slug


def _normalise_tags(tags: Sequence[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        clean = tag.strip().lower()
        if not clean or len(clean) > 50:
            raise InvalidInput("a tag is 1–50 characters")
        if clean not in out:
            out.append(clean)
    if len(out) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags")
    return out


async def _next_numbers(session: AsyncSession, now: dt.datetime, count: int) -> list[str]:
    """CS-2026-000042: a per-tenant, per-year counter, safe under concurrency.

    The UPDATE takes the counter row's lock, so two tickets opened at once
    get different numbers; the first of a year inserts the row. ``count``
    numbers are taken in one statement (a batch of channel tickets).
    """
    tenant_id = _tenant(session)
    prefix = (await get_tenant(session, tenant_id)).ticket_prefix
    year = now.year
    stmt = (
        update(TicketCounter)
        .where(TicketCounter.tenant_id == tenant_id, TicketCounter.year == year)
        .values(last_number=TicketCounter.last_number + count)
        .returning(TicketCounter.last_number)
    )
    last = await session.scalar(stmt)
    if last is None:
        # The year's first ticket: two at once both insert; one wins quietly.
        dialect_insert = (
            pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        await session.execute(
            dialect_insert(TicketCounter)
            .values(tenant_id=tenant_id, year=year, last_number=0)
            .on_conflict_do_nothing(index_elements=["tenant_id", "year"])
        )
        last = await session.scalar(stmt)
    assert last is not None
    return [f"{prefix or 'CS'}-{year}-{n:06d}" for n in range(last - count + 1, last + 1)]


async def _next_number(session: AsyncSession, now: dt.datetime) -> str:
    return (await _next_numbers(session, now, 1))[0]


def _event(ticket: Ticket, actor_user_id: uuid.UUID | None, kind: str, **data: Any) -> TicketEvent:
    return TicketEvent(ticket_id=ticket.id, actor_user_id=actor_user_id, kind=kind, data=data)


def readable(principal: Principal) -> Select[Ticket]:
    """The tickets this principal may see: everything, or their teams' and their own."""
    stmt = select(Ticket)
    if not principal.has(Permission.TICKETS_READ_ALL):
        stmt = stmt.where(
            or_(Ticket.team_id.in_(principal.team_ids), Ticket.assignee_id == principal.user_id)
        )
    return stmt


def readable_ids(principal: Principal) -> Select[Any]:
    """The ids of the tickets this principal may see, as a subquery for other domains'
    statements (``Incident.ticket_id.in_(...)``)."""
    return readable(principal).with_only_columns(Ticket.id)


async def tickets_among(
    session: AsyncSession,
    ids: Select[Any] | Sequence[uuid.UUID],
    *,
    principal: Principal | None = None,
    after: uuid.UUID | None = None,
    limit: int | None = None,
) -> list[Ticket]:
    """The tickets whose id is in ``ids`` (a list, or another domain's statement
    selecting ticket ids), oldest first; only those ``principal`` may read if given,
    from ``after``, at most ``limit``."""
    stmt = select(Ticket) if principal is None else readable(principal)
    if isinstance(ids, Select):
        stmt = stmt.where(Ticket.id.in_(ids.scalar_subquery()))
    else:
        stmt = stmt.where(Ticket.id.in_(list(ids)))
    if after is not None:
        stmt = stmt.where(Ticket.id > after)
    stmt = stmt.order_by(Ticket.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.scalars(stmt)).all())


async def get_ticket(session: AsyncSession, principal: Principal, ticket_id: uuid.UUID) -> Ticket:
    ticket = await session.scalar(readable(principal).where(Ticket.id == ticket_id))
    if ticket is None:
        raise NotFound("no such ticket")
    return ticket


class TicketFilter(msgspec.Struct, frozen=True, kw_only=True):
    state: list[TicketState] | None = None
    priority: list[Priority] | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    team_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    channel: str | None = None
    category: str | None = None
    tag: str | None = None


async def list_tickets(
    session: AsyncSession,
    principal: Principal,
    filters: TicketFilter,
    *,
    limit: int,
    before: uuid.UUID | None = None,
) -> list[Ticket]:
    """Newest first; fetches ``limit`` rows after the cursor."""
    stmt = readable(principal).order_by(Ticket.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(Ticket.id < before)
    if filters.state:
        stmt = stmt.where(Ticket.state.in_([s.value for s in filters.state]))
    if filters.priority:
        stmt = stmt.where(Ticket.priority.in_([p.value for p in filters.priority]))
    if filters.assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == filters.assignee_id)
    if filters.unassigned:
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    if filters.team_id is not None:
        stmt = stmt.where(Ticket.team_id == filters.team_id)
    if filters.customer_id is not None:
        stmt = stmt.where(Ticket.customer_id == filters.customer_id)
    if filters.channel:
        stmt = stmt.where(Ticket.channel == filters.channel)
    if filters.category:
        stmt = stmt.where(Ticket.category == filters.category)
    if filters.tag:
        # In SQL, not after the fetch: filtering a page afterwards would cut it
        # short and end the pagination early. JSON containment differs per backend.
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.where(cast(Ticket.tags, JSONB).contains([filters.tag]))
        else:
            element = func.json_each(Ticket.tags).table_valued("value")
            stmt = stmt.where(exists().select_from(element).where(element.c.value == filters.tag))
    return list((await session.scalars(stmt)).all())


async def open_ticket(
    session: AsyncSession,
    *,
    actor_user_id: uuid.UUID | None,
    customer_id: uuid.UUID,
    subject: str,
    channel: str,
    priority: Priority = Priority.NORMAL,
    category: str | None = None,
    team_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
    tags: Sequence[str] = (),
    mood: Mood | None = None,
    expected_by: dt.datetime | None = None,
    channel_id: uuid.UUID | None = None,
    contact_point_id: uuid.UUID | None = None,
    language: str | None = None,
    product: str | None = None,
) -> Ticket:
    from frontdesk.identity.service import get_active_customer

    # A customer merged into another lives on as that one: a ticket opened on
    # the old id belongs with the rest of the history, not with a husk.
    customer = await get_active_customer(session, customer_id)
    if category is not None:
        await check_category(session, category)
    if team_id is not None:
        await get_team(session, team_id)
    else:
        from frontdesk.auth.service import default_team

        team = await default_team(session)
        team_id = team.id if team else None
    if assignee_id is not None:
        await _check_assignable(session, assignee_id)
    subject = subject.strip()
    if not subject or len(subject) > 500:
        raise InvalidInput("a subject is 1–500 characters")
    now = utcnow()
    ticket = Ticket(
        number=await _next_number(session, now),
        subject=subject,
        state=TicketState.NEW.value,
        priority=priority.value,
        category=category,
        channel=channel,
        customer_id=customer.id,
        team_id=team_id,
        assignee_id=assignee_id,
        tags=_normalise_tags(tags),
        mood=mood.value if mood else None,
        language=language.lower() if language else detect_language(subject),
        product=product,
        expected_by=expected_by,
        channel_id=channel_id,
        contact_point_id=contact_point_id,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    session.add(
        _event(
            ticket,
            actor_user_id,
            "created",
            channel=channel,
            priority=ticket.priority,
            team_id=str(team_id) if team_id else None,
            assignee_id=str(assignee_id) if assignee_id else None,
        )
    )
    await session.flush()
    from frontdesk.routing.service import route

    await route(session, ticket, reason="new ticket")
    return ticket


async def _check_assignable(session: AsyncSession, user_id: uuid.UUID) -> None:
    user = await get_user(session, user_id)
    if not user.is_active:
        raise InvalidInput("cannot assign to a deactivated user")


async def update_ticket(
    session: AsyncSession, principal: Principal | None, ticket: Ticket, changes: TicketChanges
) -> Ticket:
    """Change fields; ``principal`` None means the system did it (a routing rule)."""
    if principal is not None:
        principal.require(Permission.TICKETS_UPDATE)
    actor = principal.user_id if principal else None
    events: list[TicketEvent] = []

    def changed(field: str, before: Any, after: Any) -> None:
        events.append(_event(ticket, actor, f"{field}_changed", before=before, after=after))

    if not isinstance(changes.subject, msgspec.UnsetType):
        subject = changes.subject.strip()
        if not subject or len(subject) > 500:
            raise InvalidInput("a subject is 1–500 characters")
        if subject != ticket.subject:
            changed("subject", ticket.subject, subject)
            ticket.subject = subject
    if not isinstance(changes.priority, msgspec.UnsetType) and changes.priority != ticket.priority:
        changed("priority", ticket.priority, changes.priority.value)
        ticket.priority = changes.priority.value
    if not isinstance(changes.category, msgspec.UnsetType) and changes.category != ticket.category:
        if changes.category is not None:
            await check_category(session, changes.category)
        changed("category", ticket.category, changes.category)
        ticket.category = changes.category
    if not isinstance(changes.mood, msgspec.UnsetType):
        mood = changes.mood.value if changes.mood else None
        if mood != ticket.mood:
            changed("mood", ticket.mood, mood)
            ticket.mood = mood
    if not isinstance(changes.tags, msgspec.UnsetType):
        tags = _normalise_tags(changes.tags)
        if tags != ticket.tags:
            changed("tags", ticket.tags, tags)
            ticket.tags = tags
    if (
        not isinstance(changes.expected_by, msgspec.UnsetType)
        and changes.expected_by != ticket.expected_by
    ):
        changed(
            "expected_by",
            ticket.expected_by.isoformat() if ticket.expected_by else None,
            changes.expected_by.isoformat() if changes.expected_by else None,
        )
        ticket.expected_by = changes.expected_by
    if events:
        ticket.updated_at = utcnow()
        session.add_all(events)
        await session.flush()
        if any(e.kind in ("priority_changed", "category_changed") for e in events):
            from frontdesk.routing.sla import retarget

            await retarget(session, ticket)
    return ticket


async def change_state(
    session: AsyncSession,
    principal: Principal | None,
    ticket: Ticket,
    target: TicketState,
    *,
    reason: str | None = None,
) -> Ticket:
    """Move a ticket along its life; ``principal`` None means the system did it."""
    await change_states(session, principal, [ticket], target, reason=reason)
    return ticket


async def change_states(
    session: AsyncSession,
    principal: Principal | None,
    tickets: Sequence[Ticket],
    target: TicketState,
    *,
    reason: str | None = None,
    enforce: bool = True,
) -> None:
    """``change_state`` for many tickets (an incident resolving its linked ones):
    every ticket checked before any changes, one flush, the domains told once.
    ``enforce`` False skips the transition rules: a merge closes from any state."""
    if principal is not None:
        principal.require(
            Permission.TICKETS_ESCALATE
            if target is TicketState.ESCALATED
            else Permission.TICKETS_UPDATE
        )
    befores = [TicketState(ticket.state) for ticket in tickets]
    for current in befores:
        if enforce:
            check_transition(current, target)
    now = utcnow()
    for ticket, current in zip(tickets, befores, strict=True):
        ticket.state = target.value
        ticket.updated_at = now
        if target is TicketState.RESOLVED:
            ticket.resolved_at = now
        elif target is TicketState.CLOSED:
            ticket.closed_at = now
        elif current is TicketState.RESOLVED:
            ticket.resolved_at = None
        session.add(
            _event(
                ticket,
                principal.user_id if principal else None,
                "state_changed",
                before=current.value,
                after=target.value,
                reason=reason,
            )
        )
    await session.flush()
    changes = [(t, b, target) for t, b in zip(tickets, befores, strict=True)]
    from frontdesk.routing.sla import states_changed

    await states_changed(session, changes)
    from frontdesk.followups.service import states_changed as followups_states_changed

    await followups_states_changed(session, changes)


async def assign(
    session: AsyncSession,
    principal: Principal | None,
    ticket: Ticket,
    *,
    assignee_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET,
    team_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET,
) -> Ticket:
    """Assign to a user and/or transfer to a team (a hand-off when the team changes)."""
    actor = principal.user_id if principal else None
    if principal is not None:
        principal.require(Permission.TICKETS_ASSIGN)
    events: list[TicketEvent] = []
    if not isinstance(team_id, msgspec.UnsetType) and team_id != ticket.team_id:
        if team_id is not None:
            await get_team(session, team_id)
        events.append(
            _event(
                ticket,
                actor,
                "team_changed",
                before=str(ticket.team_id) if ticket.team_id else None,
                after=str(team_id) if team_id else None,
            )
        )
        ticket.team_id = team_id
    if not isinstance(assignee_id, msgspec.UnsetType) and assignee_id != ticket.assignee_id:
        if assignee_id is not None:
            await _check_assignable(session, assignee_id)
        events.append(
            _event(
                ticket,
                actor,
                "assigned",
                before=str(ticket.assignee_id) if ticket.assignee_id else None,
                after=str(assignee_id) if assignee_id else None,
            )
        )
        ticket.assignee_id = assignee_id
    if events:
        ticket.updated_at = utcnow()
        session.add_all(events)
        await session.flush()
        if any(e.kind == "team_changed" for e in events):
            # Another team may count by another calendar.
            from frontdesk.routing.sla import retarget

            await retarget(session, ticket, recount=True)
    return ticket


class ReplyRoute(msgspec.Struct, frozen=True, kw_only=True):
    """Where a reply goes when not on the ticket's own channel: another connected
    channel of the tenant and one of the ticket's customer's contact points.

    Made only by ``channels.delivery.reply_route``, which checks that the
    channel is enabled and can reach that kind of contact point.
    """

    channel_id: uuid.UUID
    channel_kind: str
    contact_point_id: uuid.UUID


async def add_agent_message(
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    *,
    kind: MessageKind,
    body: str,
    route: ReplyRoute | None = None,
) -> Message:
    """An agent's public reply or internal note.

    A reply goes out on the ticket's channel, or on ``route`` (another of the
    customer's linked channels); either way it stays on this ticket.
    """
    if kind is MessageKind.REPLY:
        principal.require(Permission.TICKETS_REPLY)
        if ticket.state == TicketState.CLOSED.value:
            raise Conflict("this ticket is closed; open a follow-up ticket instead")
    elif kind is MessageKind.NOTE:
        principal.require(Permission.TICKETS_NOTE)
        if route is not None:
            raise InvalidInput("a note stays inside; only a reply goes out on a channel")
    else:
        raise InvalidInput("agents write replies or notes")
    body = body.strip()
    if not body:
        raise InvalidInput("a message needs a body")
    if len(body) > 100_000:
        raise InvalidInput("a message is at most 100,000 characters")
    now = utcnow()
    message = Message(
        ticket_id=ticket.id,
        kind=kind.value,
        direction=Direction.OUTBOUND.value
        if kind is MessageKind.REPLY
        else Direction.INTERNAL.value,
        channel=(route.channel_kind if route else ticket.channel)
        if kind is MessageKind.REPLY
        else "internal",
        channel_id=route.channel_id if route else None,
        author_user_id=principal.user_id,
        author_customer_id=None,
        body_text=body,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    routed = {"channel": route.channel_kind, "channel_id": str(route.channel_id)} if route else {}
    session.add(
        _event(
            ticket,
            principal.user_id,
            f"{kind.value}_added",
            message_id=str(message.id),
            **routed,
        )
    )
    ticket.updated_at = now
    if kind is MessageKind.REPLY:
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        if ticket.state == TicketState.NEW.value:
            await change_state(session, None, ticket, TicketState.OPEN, reason="first reply")
        from frontdesk.routing.sla import agent_replied

        await agent_replied(session, ticket)
        from frontdesk.channels.delivery import queue_delivery

        await queue_delivery(
            session,
            ticket,
            message,
            channel_id=route.channel_id if route else None,
            contact_point_id=route.contact_point_id if route else None,
        )
    else:
        await _notify_mentioned(session, principal, ticket, message)
    await session.flush()
    return message


def mentions_in(text: str, names: dict[uuid.UUID, str]) -> list[tuple[uuid.UUID, int, int]]:
    """Where ``@Display Name`` of each user occurs in ``text``: (user, start, end).

    Case-insensitive; a name must end at a word boundary (``@Li Wei`` is not in
    ``@Li Weiming``); where two names overlap the longer wins, so ``@Li Wei`` and
    ``@Li`` are told apart.
    """
    lowered = text.casefold()
    found: list[tuple[uuid.UUID, int, int]] = []
    for user_id, name in sorted(names.items(), key=lambda item: -len(item[1])):
        needle = "@" + name.casefold()
        if len(needle) < 2:
            continue
        start = lowered.find(needle)
        while start != -1:
            end = start + len(needle)
            boundary = end == len(lowered) or not (lowered[end].isalnum() or lowered[end] == "_")
            taken = any(s <= start < e or start <= s < end for _, s, e in found)
            if boundary and not taken:
                found.append((user_id, start, end))
            start = lowered.find(needle, end)
    return sorted(found, key=lambda m: m[1])


async def readers(session: AsyncSession, ticket: Ticket) -> list[User]:
    """The active users who may read ``ticket`` (the rule of ``readable``), by name."""
    perms = {r.id: role_permissions(r) for r in await list_roles(session)}
    team = (
        {m.user_id for m in await team_members(session, [ticket.team_id])}
        if ticket.team_id
        else set()
    )
    found = [
        u
        for u in await list_users(session, limit=10_000)
        if u.is_active
        and Permission.TICKETS_READ.value in perms.get(u.role_id, ())
        and (
            Permission.TICKETS_READ_ALL.value in perms.get(u.role_id, ())
            or u.id in team
            or u.id == ticket.assignee_id
        )
    ]
    return sorted(found, key=lambda u: u.display_name.casefold())


async def _notify_mentioned(
    session: AsyncSession, principal: Principal, ticket: Ticket, message: Message
) -> None:
    """Notify the users an internal note names with ``@Display Name`` who may read
    the ticket (others' names stay text); kept on the note (``meta.mentions``) so
    the page highlights them."""
    if "@" not in message.body_text:
        return
    from frontdesk.notifications.service import notify

    names = {u.id: u.display_name for u in await readers(session, ticket)}
    mentioned = list(dict.fromkeys(u for u, _, _ in mentions_in(message.body_text, names)))
    if not mentioned:
        return
    message.meta = {**message.meta, "mentions": [str(u) for u in mentioned]}
    await notify(
        session,
        ticket.tenant_id,
        [u for u in mentioned if u != principal.user_id],
        "mentioned",
        ticket_id=ticket.id,
        payload={
            "ticket_number": ticket.number,
            "message_id": str(message.id),
            "by": str(principal.user_id),
        },
    )


async def list_messages(
    session: AsyncSession, ticket: Ticket, *, limit: int, after: uuid.UUID | None = None
) -> list[Message]:
    stmt = select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id).limit(limit)
    if after is not None:
        stmt = stmt.where(Message.id > after)
    return list((await session.scalars(stmt)).all())


async def list_events(
    session: AsyncSession, ticket: Ticket, *, limit: int, after: uuid.UUID | None = None
) -> list[TicketEvent]:
    """The ticket's events with those of the tickets merged into it (events are
    append-only, so a merge does not move them; it is read through)."""
    merged = select(Ticket.id).where(Ticket.merged_into_id == ticket.id)
    stmt = (
        select(TicketEvent)
        .where(or_(TicketEvent.ticket_id == ticket.id, TicketEvent.ticket_id.in_(merged)))
        .order_by(TicketEvent.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(TicketEvent.id > after)
    return list((await session.scalars(stmt)).all())


# --- merging tickets -------------------------------------------------------------


async def merge_tickets(
    session: AsyncSession, principal: Principal, source: Ticket, target: Ticket
) -> Ticket:
    """Fold ``source`` into ``target``: its messages (and their threading refs, its
    conversations and deliveries) move to ``target``; ``source`` is closed with a
    link to it; both timelines say so; the audit log records it.

    Events are append-only and stay where they are: ``list_events`` of the
    target reads those of the tickets merged into it. Merges are kept flat
    (a merged ticket is neither merged again nor merged into), and both
    tickets are the same customer's: merge the customers first.
    """
    principal.require(Permission.TICKETS_UPDATE)
    if source.id == target.id:
        raise InvalidInput("a ticket cannot be merged into itself")
    if source.merged_into_id is not None:
        raise Conflict("this ticket was already merged into another")
    if target.merged_into_id is not None:
        raise Conflict("that ticket was merged into another; merge into that one")
    if target.state == TicketState.CLOSED.value:
        raise Conflict("that ticket is closed; merge into an open one")
    if source.state == TicketState.CLOSED.value:
        raise Conflict("this ticket is closed")
    if source.customer_id != target.customer_id:
        raise InvalidInput("both tickets must be the same customer's; merge the customers first")
    moved = await session.execute(
        update(Message)
        .where(Message.ticket_id == source.id)
        .values(ticket_id=target.id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(MessageRef)
        .where(MessageRef.ticket_id == source.id)
        .values(ticket_id=target.id)
        .execution_options(synchronize_session=False)
    )
    from frontdesk.channels.service import move_ticket_threads

    await move_ticket_threads(session, from_ticket_id=source.id, to_ticket_id=target.id)
    count = int(getattr(moved, "rowcount", 0) or 0)
    session.add(
        _event(
            target,
            principal.user_id,
            "ticket_merged",
            source=str(source.id),
            source_number=source.number,
            messages=count,
        )
    )
    session.add(
        _event(
            source,
            principal.user_id,
            "merged_into",
            target=str(target.id),
            target_number=target.number,
        )
    )
    source.merged_into_id = target.id
    target.updated_at = utcnow()
    await change_states(
        session,
        principal,
        [source],
        TicketState.CLOSED,
        reason=f"merged into {target.number}",
        enforce=False,
    )
    from frontdesk.audit.service import record

    await record(
        session,
        actor_user_id=principal.user_id,
        action="ticket.merged",
        subject_type="ticket",
        subject_id=target.id,
        source_id=str(source.id),
        source_number=source.number,
        target_number=target.number,
        messages=count,
    )
    await session.flush()
    return target


async def merged_into(session: AsyncSession, ticket: Ticket) -> list[Ticket]:
    """The tickets merged into ``ticket``, oldest first."""
    stmt = select(Ticket).where(Ticket.merged_into_id == ticket.id).order_by(Ticket.id)
    return list((await session.scalars(stmt)).all())


# --- for the identity domain's merges ----------------------------------------


async def ticket_ids_of_customer(session: AsyncSession, customer_id: uuid.UUID) -> list[uuid.UUID]:
    stmt = select(Ticket.id).where(Ticket.customer_id == customer_id).order_by(Ticket.id)
    return list((await session.scalars(stmt)).all())


async def move_tickets(
    session: AsyncSession,
    actor_user_id: uuid.UUID | None,
    ticket_ids: Sequence[uuid.UUID],
    *,
    to_customer_id: uuid.UUID,
    reason: str,
) -> int:
    if not ticket_ids:
        return 0
    tickets = list(
        (await session.scalars(select(Ticket).where(Ticket.id.in_(list(ticket_ids))))).all()
    )
    for ticket in tickets:
        session.add(
            _event(
                ticket,
                actor_user_id,
                "customer_changed",
                before=str(ticket.customer_id),
                after=str(to_customer_id),
                reason=reason,
            )
        )
        ticket.customer_id = to_customer_id
    await session.flush()
    return len(tickets)


async def count_tickets(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


# --- for the channels domain -------------------------------------------------


async def surviving(session: AsyncSession, ticket: Ticket | None) -> Ticket | None:
    """A merged ticket's survivor (merges are kept flat: one step at most)."""
    if ticket is None or ticket.merged_into_id is None:
        return ticket
    return await session.get(Ticket, (ticket.tenant_id, ticket.merged_into_id)) or ticket


async def find_by_number(session: AsyncSession, number: str) -> Ticket | None:
    found = await session.scalar(select(Ticket).where(Ticket.number == number.upper()))
    return await surviving(session, found)


async def get_ticket_unchecked(session: AsyncSession, ticket_id: uuid.UUID) -> Ticket:
    """For system work (jobs), where no principal's visibility applies."""
    ticket = await session.get(Ticket, (_tenant(session), ticket_id))
    if ticket is None:
        raise NotFound("no such ticket")
    return ticket


async def latest_ticket_on_channel(
    session: AsyncSession, *, customer_id: uuid.UUID, channel_id: uuid.UUID
) -> Ticket | None:
    found = await latest_tickets_on_channels(session, {(customer_id, channel_id)})
    return found.get((customer_id, channel_id))


@dataclass(frozen=True, kw_only=True)
class NewChannelTicket:
    """A ticket a customer's first contact on a channel opens (or a closed one's follow-up)."""

    customer_id: uuid.UUID
    subject: str
    channel: str
    channel_id: uuid.UUID
    contact_point_id: uuid.UUID
    team_id: uuid.UUID | None
    follow_up_of: Ticket | None = None


async def get_tickets_unchecked(
    session: AsyncSession, ticket_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Ticket]:
    if not ticket_ids:
        return {}
    found = await session.scalars(select(Ticket).where(Ticket.id.in_(sorted(ticket_ids))))
    return {ticket.id: ticket for ticket in found}


async def latest_tickets_on_channels(
    session: AsyncSession, pairs: set[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], Ticket]:
    """Each (customer, channel)'s latest ticket on that channel, for many at once:
    the newest opened there, or a newer one that had a message on it since (an
    agent's reply sent through that channel from a ticket opened on another:
    the customer's answer there joins that ticket)."""
    if not pairs:
        return {}
    customer_ids = sorted({customer_id for customer_id, _ in pairs})
    channel_ids = sorted({channel_id for _, channel_id in pairs})
    # Only the ids first: a long-time customer may have many tickets there.
    rows = await session.execute(
        select(Ticket.id, Ticket.customer_id, Ticket.channel_id)
        .where(Ticket.customer_id.in_(customer_ids), Ticket.channel_id.in_(channel_ids))
        .order_by(Ticket.id.desc())
    )
    # (when, ticket): ids are time-ordered, a message's after its ticket's.
    best: dict[tuple[uuid.UUID, uuid.UUID], tuple[uuid.UUID, uuid.UUID]] = {}
    for ticket_id, customer_id, channel_id in rows:
        if channel_id is not None:
            best.setdefault((customer_id, channel_id), (ticket_id, ticket_id))
    # Newest first, so the first row of each pair is its latest such message.
    routed = await session.execute(
        select(Message.id, Message.ticket_id, Ticket.customer_id, Message.channel_id)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(
            Ticket.customer_id.in_(customer_ids),
            Message.channel_id.in_(channel_ids),
            Ticket.channel_id.is_distinct_from(Message.channel_id),
        )
        .order_by(Message.id.desc())
    )
    seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for when, ticket_id, customer_id, channel_id in routed:
        if channel_id is None or (customer_id, channel_id) in seen:
            continue
        pair = (customer_id, channel_id)
        seen.add(pair)
        if pair not in best or when > best[pair][0]:
            best[pair] = (when, ticket_id)
    newest = {pair: ticket_id for pair, (_, ticket_id) in best.items()}
    loaded = await get_tickets_unchecked(
        session, {ticket_id for pair, ticket_id in newest.items() if pair in pairs}
    )
    return {pair: loaded[ticket_id] for pair, ticket_id in newest.items() if ticket_id in loaded}


async def open_channel_tickets(
    session: AsyncSession, specs: Sequence[NewChannelTicket]
) -> list[Ticket]:
    """Open channel tickets, numbered in order, in two flushes whatever their count.

    The customers are the ones contact resolution returned (active, never a
    merged husk), so they are not looked up again.
    """
    if not specs:
        return []
    default_team_id: uuid.UUID | None = None
    if any(spec.team_id is None for spec in specs):
        from frontdesk.auth.service import default_team

        team = await default_team(session)
        default_team_id = team.id if team else None
    now = utcnow()
    numbers = await _next_numbers(session, now, len(specs))
    opened: list[Ticket] = []
    for spec, number in zip(specs, numbers, strict=True):
        subject = spec.subject.strip()
        if not subject or len(subject) > 500:
            raise InvalidInput("a subject is 1–500 characters")
        opened.append(
            Ticket(
                id=new_id(),
                number=number,
                subject=subject,
                state=TicketState.NEW.value,
                priority=Priority.NORMAL.value,
                channel=spec.channel,
                customer_id=spec.customer_id,
                team_id=spec.team_id or default_team_id,
                language=detect_language(subject),
                tags=[],
                channel_id=spec.channel_id,
                contact_point_id=spec.contact_point_id,
                follow_up_of=spec.follow_up_of.id if spec.follow_up_of else None,
                created_at=now,
                updated_at=now,
            )
        )
    # The tickets first: their events are published with the ticket's team.
    session.add_all(opened)
    await session.flush()
    events: list[TicketEvent] = []
    for ticket, spec in zip(opened, specs, strict=True):
        events.append(
            _event(
                ticket,
                None,
                "created",
                channel=ticket.channel,
                priority=ticket.priority,
                team_id=str(ticket.team_id) if ticket.team_id else None,
                assignee_id=None,
            )
        )
        if spec.follow_up_of is not None:
            events.append(
                _event(ticket, None, "follow_up_opened", follow_up_of=spec.follow_up_of.number)
            )
    session.add_all(events)
    await session.flush()
    return opened


async def open_channel_ticket(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    subject: str,
    channel: str,
    channel_id: uuid.UUID,
    contact_point_id: uuid.UUID,
    team_id: uuid.UUID | None,
    follow_up_of: Ticket | None = None,
) -> Ticket:
    """A ticket opened by a customer's first contact on a channel."""
    [ticket] = await open_channel_tickets(
        session,
        [
            NewChannelTicket(
                customer_id=customer_id,
                subject=subject,
                channel=channel,
                channel_id=channel_id,
                contact_point_id=contact_point_id,
                team_id=team_id,
                follow_up_of=follow_up_of,
            )
        ],
    )
    return ticket


async def reopen(session: AsyncSession, ticket: Ticket, *, reason: str) -> None:
    await change_state(session, None, ticket, TicketState.OPEN, reason=reason)


@dataclass(frozen=True, kw_only=True)
class CustomerMessage:
    """A customer's message for ``add_inbound_messages``."""

    ticket: Ticket
    customer_id: uuid.UUID
    channel: str
    channel_id: uuid.UUID
    external_id: str
    subject: str | None
    text: str
    html: str | None
    meta: dict[str, Any]
    received_at: dt.datetime | None = None
    # False for automatic mail: an out-of-office reply is no answer.
    wakes: bool = True


async def add_inbound_messages(
    session: AsyncSession, inbound: Sequence[CustomerMessage]
) -> list[Message]:
    """Customers' messages on their tickets, in one flush; a ticket waiting on
    the customer reopens (unless every message for it is automatic)."""
    now = utcnow()
    messages: list[Message] = []
    events: list[TicketEvent] = []
    for item in inbound:
        message = Message(
            id=new_id(),
            ticket_id=item.ticket.id,
            kind=MessageKind.REPLY.value,
            direction=Direction.INBOUND.value,
            channel=item.channel,
            channel_id=item.channel_id,
            external_id=item.external_id,
            author_user_id=None,
            author_customer_id=item.customer_id,
            # A mail subject may be up to 998 characters; the column holds 500.
            subject=item.subject[:500] if item.subject else item.subject,
            body_text=item.text,
            body_html=item.html,
            meta=item.meta,
            created_at=item.received_at or now,
        )
        messages.append(message)
        events.append(_event(item.ticket, None, "message_received", message_id=str(message.id)))
        item.ticket.updated_at = now
    session.add_all(messages)
    session.add_all(events)
    await session.flush()
    written = list({id(item.ticket): item.ticket for item in inbound if item.wakes}.values())
    for ticket in written:
        if ticket.state == TicketState.PENDING.value:
            await change_state(session, None, ticket, TicketState.OPEN, reason="customer replied")
    from frontdesk.routing.sla import customer_wrote

    await customer_wrote(session, written)
    return messages


async def add_inbound_message(
    session: AsyncSession,
    ticket: Ticket,
    *,
    customer_id: uuid.UUID,
    channel: str,
    channel_id: uuid.UUID,
    external_id: str,
    subject: str | None,
    text: str,
    html: str | None,
    meta: dict[str, Any],
    received_at: dt.datetime | None = None,
    wakes: bool = True,
) -> Message:
    """A customer's message on the ticket; a ticket waiting on the customer reopens,
    unless ``wakes`` is False (automatic mail: an out-of-office reply is no answer)."""
    [message] = await add_inbound_messages(
        session,
        [
            CustomerMessage(
                ticket=ticket,
                customer_id=customer_id,
                channel=channel,
                channel_id=channel_id,
                external_id=external_id,
                subject=subject,
                text=text,
                html=html,
                meta=meta,
                received_at=received_at,
                wakes=wakes,
            )
        ],
    )
    return message


async def add_system_event(
    session: AsyncSession, ticket: Ticket, kind: str, **data: Any
) -> TicketEvent:
    event = _event(ticket, None, kind, **data)
    session.add(event)
    ticket.updated_at = utcnow()
    await session.flush()
    return event


async def add_system_events(
    session: AsyncSession,
    items: Sequence[tuple[Ticket, str, dict[str, Any]]],
    *,
    touch: bool = True,
) -> None:
    """Many system events (timers firing in a batch) in one flush; ``touch``
    False leaves the tickets' ``updated_at`` (and their rows) alone."""
    if not items:
        return
    now = utcnow()
    for ticket, kind, data in items:
        session.add(_event(ticket, None, kind, **data))
        if touch:
            ticket.updated_at = now
    await session.flush()


async def last_inbound_external_id(
    session: AsyncSession, *, ticket_id: uuid.UUID, channel_id: uuid.UUID
) -> str | None:
    """The provider's id of the customer's latest message on this channel (replies thread on it)."""
    return await session.scalar(
        select(Message.external_id)
        .where(
            Message.ticket_id == ticket_id,
            Message.direction == Direction.INBOUND.value,
            Message.channel_id == channel_id,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )


async def get_message(session: AsyncSession, message_id: uuid.UUID) -> Message:
    message = await session.get(Message, (_tenant(session), message_id))
    if message is None:
        raise NotFound("no such message")
    return message


# --- threading (email): reply tokens and provider message ids ----------------


async def reopen_closed(session: AsyncSession, ticket: Ticket, *, reason: str) -> None:
    """A customer wrote to a closed ticket on a channel set to reopen rather than
    follow up: the one way out of ``closed``, taken only by the system."""
    now = utcnow()
    ticket.state = TicketState.OPEN.value
    ticket.closed_at = None
    ticket.resolved_at = None
    ticket.updated_at = now
    session.add(
        _event(
            ticket,
            None,
            "state_changed",
            before=TicketState.CLOSED.value,
            after=TicketState.OPEN.value,
            reason=reason,
        )
    )
    await session.flush()


async def ensure_reply_token(session: AsyncSession, ticket: Ticket) -> str:
    """The ticket's reply token, made at its first reply: lower case (mail systems
    change the case of addresses), unguessable, unique within the tenant."""
    if ticket.reply_token is None:
        ticket.reply_token = secrets.token_hex(10)
        await session.flush()
    return ticket.reply_token


async def find_by_reply_token(session: AsyncSession, token: str) -> Ticket | None:
    found = await session.scalar(select(Ticket).where(Ticket.reply_token == token.lower()))
    return await surviving(session, found)


async def record_message_refs(
    session: AsyncSession,
    refs: Sequence[tuple[Ticket, str, Direction, uuid.UUID | None]],
) -> None:
    """Remember provider message ids (already hashed by the caller): for each,
    its ticket, the hash, the direction and our message, in one flush."""
    session.add_all(
        [
            MessageRef(
                ticket_id=ticket.id,
                message_id=message_id,
                ref_index=ref_index,
                direction=direction.value,
            )
            for ticket, ref_index, direction, message_id in refs
        ]
    )
    await session.flush()


async def record_message_ref(
    session: AsyncSession,
    ticket: Ticket,
    *,
    ref_index: str,
    direction: Direction,
    message_id: uuid.UUID | None,
) -> None:
    """Remember a provider message id (already hashed by the caller) of this ticket."""
    await record_message_refs(session, [(ticket, ref_index, direction, message_id)])


async def find_by_message_refs(
    session: AsyncSession,
    ref_indexes: Sequence[str],
    *,
    customer_id: uuid.UUID | None,
    direction: Direction | None = None,
) -> tuple[Ticket, str] | None:
    """The ticket of the first of ``ref_indexes`` (in the caller's order of
    preference) that names a message of a ticket of this customer; with the
    matching index. ``customer_id`` None: any customer's (bounces, which come
    from a mail server, not from the customer)."""
    if not ref_indexes:
        return None
    stmt = (
        select(MessageRef.ref_index, Ticket)
        .join(Ticket, Ticket.id == MessageRef.ticket_id)
        .where(MessageRef.ref_index.in_(list(ref_indexes)))
    )
    if customer_id is not None:
        stmt = stmt.where(Ticket.customer_id == customer_id)
    if direction is not None:
        stmt = stmt.where(MessageRef.direction == direction.value)
    rows = (await session.execute(stmt.order_by(MessageRef.id.desc()))).all()
    by_ref: dict[str, Ticket] = {}
    for ref, ticket in rows:
        by_ref.setdefault(ref, ticket)
    for ref in ref_indexes:
        if ref in by_ref:
            return by_ref[ref], ref
    return None


async def sent_external_ids(
    session: AsyncSession, *, ticket_id: uuid.UUID, channel_id: uuid.UUID
) -> list[str]:
    """Provider ids of the customer's messages on this ticket and channel, oldest first
    (replies reference them so the customer's mail program keeps one thread)."""
    rows = await session.scalars(
        select(Message.external_id)
        .where(
            Message.ticket_id == ticket_id,
            Message.channel_id == channel_id,
            Message.direction == Direction.INBOUND.value,
            Message.external_id.is_not(None),
        )
        .order_by(Message.id.desc())
        .limit(20)
    )
    return [r for r in reversed(rows.all()) if r]


async def add_automatic_reply(
    session: AsyncSession, ticket: Ticket, *, text: str, reason: str
) -> Message:
    """A reply the platform sends by itself (an acknowledgement): no author, marked
    automatic so the channel says so and nobody's autoresponder answers it."""
    now = utcnow()
    message = Message(
        ticket_id=ticket.id,
        kind=MessageKind.REPLY.value,
        direction=Direction.OUTBOUND.value,
        channel=ticket.channel,
        author_user_id=None,
        author_customer_id=None,
        body_text=text,
        meta={"automatic": True, "reason": reason},
        created_at=now,
    )
    session.add(message)
    await session.flush()
    session.add(_event(ticket, None, "automatic_reply_added", message_id=str(message.id)))
    ticket.updated_at = now
    from frontdesk.channels.delivery import queue_delivery

    await queue_delivery(session, ticket, message)
    await session.flush()
    return message


# --- personal-data requests ---------------------------------------------------

ERASED_SUBJECT = "(erased)"
# Ticket events whose data carries free text (a subject, a hand-off's words).
_EVENTS_WITH_TEXT = ("subject_changed",)
# Keys under which events copy free text: a hand-off's description and notes,
# a task's closing note, a survey answer's comment, a call's recording link.
# Keep in step with ``frontdesk_erase_ticket_event_texts`` (migration 0015).
EVENT_TEXT_KEYS = ("description", "note", "comment", "recording_url")


async def tickets_of_customers(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> list[Ticket]:
    stmt = select(Ticket).where(Ticket.customer_id.in_(list(customer_ids))).order_by(Ticket.id)
    return list((await session.scalars(stmt)).all())


async def messages_of_tickets(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID]
) -> list[Message]:
    stmt = select(Message).where(Message.ticket_id.in_(list(ticket_ids))).order_by(Message.id)
    return list((await session.scalars(stmt)).all())


async def events_of_tickets(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID]
) -> list[TicketEvent]:
    stmt = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id.in_(list(ticket_ids)))
        .order_by(TicketEvent.id)
    )
    return list((await session.scalars(stmt)).all())


def _erased_event_data(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """What ``frontdesk_erase_ticket_event_texts`` (migration 0015) makes of an event."""
    kept = {k: v for k, v in data.items() if k not in EVENT_TEXT_KEYS}
    if kind == "subject_changed":
        kept.update(before=ERASED_SUBJECT, after=ERASED_SUBJECT)
    return {**kept, "erased": True}


async def erase_ticket_texts(session: AsyncSession, tickets: Sequence[Ticket]) -> list[Message]:
    """Every word on these tickets, customer's and agents' alike (a reply quotes, a
    note describes): message bodies, subjects, provider ids (an email Message-ID
    may hold an address) and details; the threading refs; the texts kept in
    ticket events. The tickets stay, with their state, channel and times, so
    reports count them. Returns the erased messages."""
    ticket_ids = [t.id for t in tickets]
    if not ticket_ids:
        return []
    for ticket in tickets:
        ticket.subject = ERASED_SUBJECT
        ticket.contact_point_id = None
        ticket.reply_token = None
    messages = await messages_of_tickets(session, ticket_ids)
    for message in messages:
        message.subject = None
        message.body_text = ""
        message.body_html = None
        message.external_id = None
        message.meta = {"erased": True}
    await session.execute(delete(MessageRef).where(MessageRef.ticket_id.in_(ticket_ids)))
    if session.get_bind().dialect.name == "postgresql":
        # The app role may only append to ticket_events: this function
        # (migrations 0013, 0015) erases those texts and may do nothing else.
        await session.execute(
            text("SELECT frontdesk_erase_ticket_event_texts(CAST(:ids AS uuid[]))"),
            {"ids": ticket_ids},
        )
    else:
        events = await session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids))
        )
        for event in events.all():
            if (
                event.kind in _EVENTS_WITH_TEXT
                or event.kind.startswith("handoff_")
                or any(key in (event.data or {}) for key in EVENT_TEXT_KEYS)
            ):
                event.data = _erased_event_data(event.kind, event.data)
    await session.flush()
    return messages


OPEN_STATE_VALUES = ("new", "open", "pending", "escalated")


async def open_ticket_counts(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many open tickets each user holds (an agent's load)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.assignee_id.in_(ids), Ticket.state.in_(OPEN_STATE_VALUES))
        .group_by(Ticket.assignee_id)
    )
    counts = {user_id: 0 for user_id in ids}
    for user_id, count in rows:
        if user_id is not None:
            counts[user_id] = int(count)
    return counts


async def open_tickets_of(
    session: AsyncSession, assignee_id: uuid.UUID, *, priority: Priority | None = None
) -> list[Ticket]:
    """A user's open tickets (of one priority), oldest first."""
    stmt = select(Ticket).where(
        Ticket.assignee_id == assignee_id, Ticket.state.in_(OPEN_STATE_VALUES)
    )
    if priority is not None:
        stmt = stmt.where(Ticket.priority == priority.value)
    return list((await session.scalars(stmt.order_by(Ticket.id))).all())


async def get_ticket_for_update(session: AsyncSession, ticket_id: uuid.UUID) -> Ticket | None:
    """The ticket, its row locked for this transaction (a job about to change it).

    ``FOR NO KEY UPDATE``, the lock an UPDATE takes: rows that merely point at
    the ticket (events, notifications, written by timers firing) still go in.
    """
    stmt = select(Ticket).where(Ticket.id == ticket_id).with_for_update(key_share=True)
    return await session.scalar(stmt.execution_options(populate_existing=True))


async def events_of_kind(
    session: AsyncSession, ticket_id: uuid.UUID, kind: str
) -> list[TicketEvent]:
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
    return list((await session.scalars(stmt.order_by(TicketEvent.id))).all())


async def add_replies(
    session: AsyncSession,
    items: Sequence[tuple[Ticket, str, dict[str, Any]]],
    *,
    author_user_id: uuid.UUID | None,
    meta: dict[str, Any],
    event_kind: str,
) -> list[Message]:
    """A public reply on each of many tickets, in one flush per table, each queued
    for delivery on its ticket's own channel (an incident's update, surveys).

    Each item is (ticket, text, extra): ``extra`` goes into that message's
    ``meta`` and its ticket event's data. ``author_user_id`` None: the
    platform wrote it (marked automatic, so the channel says so and nobody's
    autoresponder answers it).
    """
    if not items:
        return []
    now = utcnow()
    if author_user_id is None:
        meta = {"automatic": True, **meta}
    messages: list[Message] = []
    for ticket, body, extra in items:
        # Marked queued as written: no second UPDATE of each row when queued.
        goes_out = ticket.channel_id is not None and ticket.contact_point_id is not None
        messages.append(
            Message(
                id=new_id(),
                ticket_id=ticket.id,
                kind=MessageKind.REPLY.value,
                direction=Direction.OUTBOUND.value,
                channel=ticket.channel,
                author_user_id=author_user_id,
                author_customer_id=None,
                body_text=body,
                meta={**meta, **extra, **({"delivery": "queued"} if goes_out else {})},
                created_at=now,
            )
        )
        ticket.updated_at = now
    session.add_all(messages)
    await session.flush()
    session.add_all(
        _event(ticket, author_user_id, event_kind, message_id=str(message.id), **extra)
        for (ticket, _, extra), message in zip(items, messages, strict=True)
    )
    from frontdesk.channels.delivery import queue_deliveries

    pairs = [(ticket, message) for (ticket, _, _), message in zip(items, messages, strict=True)]
    await queue_deliveries(session, pairs)
    return messages
