"""Assignment: which agent of a team gets a ticket, and agents' presence.

A team may have a strategy (``manual``, the default, leaves tickets in the
team's queue); a routing rule may name one for the tickets it matches.

- ``round_robin``: the next available member after the last one given a
  ticket, in a fixed order (by user id), wrapping round.
- ``least_loaded``: the available member holding the fewest open tickets.
- ``skills``: among available members whose languages include the ticket's
  language and whose products include its product (a ticket without one
  matches anyone on that count), the least loaded; nobody matching leaves
  the ticket in the queue rather than with someone who cannot read it.

Available: an active member, ``online`` (not ``away``, not ``offline``),
holding fewer open tickets than their capacity (when they have one).
Presence is set by the agent through the API, and by their inbox sockets:
the first to connect takes an offline agent online, the last to close takes
them offline. Open sockets renew a lease (``presence_lease_seconds``); an app
process that crashes closes nothing, so once the lease has passed the agent
counts as offline, and the scheduler's tick (``expire_socket_presence``)
records it. An agent going offline hands their open urgent tickets to the
team's strategy (least loaded when the team has none); each move, and each
ticket nobody could take, is on the ticket's timeline.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.clock import now as clock_now
from frontdesk.routing.models import AgentProfile, TeamAssignment
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.states import Priority


class Strategy(StrEnum):
    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    SKILLS = "skills"


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", max_length=16)]
Product = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=63)]


class ProfileIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    capacity: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | None = None
    languages: Annotated[list[Language], msgspec.Meta(max_length=20)] = []
    products: Annotated[list[Product], msgspec.Meta(max_length=100)] = []


class ProfileOut(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    presence: Presence
    capacity: int | None
    languages: list[str]
    products: list[str]
    open_tickets: int


class PresenceIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    status: Presence


class StrategyIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    strategy: Strategy


# --- agents ----------------------------------------------------------------------


async def profiles(
    session: AsyncSession, user_ids: Sequence[uuid.UUID] | None = None
) -> dict[uuid.UUID, AgentProfile]:
    stmt = select(AgentProfile)
    if user_ids is not None:
        if not user_ids:
            return {}
        stmt = stmt.where(AgentProfile.user_id.in_(sorted(set(user_ids))))
    return {p.user_id: p for p in (await session.scalars(stmt)).all()}


async def _profile(session: AsyncSession, user_id: uuid.UUID) -> AgentProfile:
    """The user's profile, made (offline, no limit, no skills) on first use."""
    found = (await profiles(session, [user_id])).get(user_id)
    if found is None:
        found = AgentProfile(
            user_id=user_id,
            presence=Presence.OFFLINE.value,
            connections=0,
            capacity=None,
            languages=[],
            products=[],
        )
        session.add(found)
        await session.flush()
    return found


async def profile_out(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> list[ProfileOut]:
    from frontdesk.tickets.service import open_ticket_counts

    found = await profiles(session, user_ids)
    loads = await open_ticket_counts(session, user_ids)
    out = []
    for user_id in sorted(set(user_ids)):
        p = found.get(user_id)
        out.append(
            ProfileOut(
                user_id=user_id,
                presence=effective_presence(p) if p else Presence.OFFLINE,
                capacity=p.capacity if p else None,
                languages=list(p.languages) if p else [],
                products=list(p.products) if p else [],
                open_tickets=loads.get(user_id, 0),
            )
        )
    return out


async def set_profile(
    session: AsyncSession, actor_user_id: uuid.UUID, user_id: uuid.UUID, data: ProfileIn
) -> None:
    """An agent's capacity and skills (the user is checked to be the tenant's by the caller)."""
    from frontdesk.audit.service import record

    profile = await _profile(session, user_id)
    profile.capacity = data.capacity
    profile.languages = sorted({lang.lower() for lang in data.languages})
    profile.products = sorted(set(data.products))
    await session.flush()
    await record(
        session,
        actor_user_id=actor_user_id,
        action="agent_profile.set",
        subject_type="user",
        subject_id=user_id,
        capacity=data.capacity,
        languages=profile.languages,
        products=profile.products,
    )


async def set_presence(session: AsyncSession, user_id: uuid.UUID, status: Presence) -> Presence:
    """The agent says where they are; going offline hands on their urgent tickets."""
    profile = await _profile(session, user_id)
    return await _change_presence(session, profile, status)


async def _change_presence(
    session: AsyncSession, profile: AgentProfile, status: Presence
) -> Presence:
    if profile.presence != status.value:
        profile.presence = status.value
        profile.presence_changed_at = clock_now()
        await session.flush()
        if status is Presence.OFFLINE:
            await hand_on_urgent(session, profile.user_id)
    return status


def _lease_lapsed(profile: AgentProfile, now: dt.datetime | None = None) -> bool:
    """Sockets are counted but none has renewed the lease in time: their process died."""
    return (
        profile.connections > 0
        and profile.socket_lease_until is not None
        and profile.socket_lease_until <= (now or clock_now())
    )


def effective_presence(profile: AgentProfile) -> Presence:
    """The presence assignment goes by: offline once the sockets' lease has lapsed."""
    if _lease_lapsed(profile):
        return Presence.OFFLINE
    return Presence(profile.presence)


async def socket_opened(session: AsyncSession, user_id: uuid.UUID, lease: dt.timedelta) -> None:
    """An inbox socket of the user connected: an offline agent comes online."""
    profile = await _profile(session, user_id)
    if _lease_lapsed(profile):
        profile.connections = 0  # the sockets counted before are gone with their process
    profile.connections += 1
    profile.socket_lease_until = clock_now() + lease
    if profile.presence == Presence.OFFLINE.value:
        await _change_presence(session, profile, Presence.ONLINE)
    await session.flush()


async def socket_alive(session: AsyncSession, user_id: uuid.UUID, lease: dt.timedelta) -> None:
    """An open inbox socket renews the lease on the user's sockets."""
    profile = await _profile(session, user_id)
    if _lease_lapsed(profile) or profile.connections == 0:
        # Renewed too late (the lease ran out, or the sweep already took the
        # agent offline): the socket is open after all, so count it afresh.
        await socket_opened(session, user_id, lease)
        return
    profile.socket_lease_until = clock_now() + lease
    await session.flush()


async def expire_socket_presence(session: AsyncSession) -> list[uuid.UUID]:
    """Agents whose sockets' lease has lapsed go offline (their urgent tickets handed
    on); returns who did."""
    now = clock_now()
    stmt = select(AgentProfile).where(
        AgentProfile.connections > 0, AgentProfile.socket_lease_until <= now
    )
    gone = []
    for profile in (await session.scalars(stmt)).all():
        profile.connections = 0
        await _change_presence(session, profile, Presence.OFFLINE)
        gone.append(profile.user_id)
    await session.flush()
    return gone


async def socket_closed(session: AsyncSession, user_id: uuid.UUID) -> None:
    """An inbox socket of the user closed: the last one takes the agent offline."""
    profile = await _profile(session, user_id)
    profile.connections = max(0, profile.connections - 1)
    if profile.connections == 0:
        await _change_presence(session, profile, Presence.OFFLINE)
    await session.flush()


# --- teams' strategies -----------------------------------------------------------


async def team_strategy(session: AsyncSession, team_id: uuid.UUID) -> Strategy:
    row = await session.scalar(select(TeamAssignment).where(TeamAssignment.team_id == team_id))
    return Strategy(row.strategy) if row else Strategy.MANUAL


async def set_team_strategy(
    session: AsyncSession, actor_user_id: uuid.UUID, team_id: uuid.UUID, strategy: Strategy
) -> None:
    from frontdesk.audit.service import record

    row = await session.scalar(select(TeamAssignment).where(TeamAssignment.team_id == team_id))
    if row is None:
        session.add(TeamAssignment(team_id=team_id, strategy=strategy.value))
    else:
        row.strategy = strategy.value
    await session.flush()
    await record(
        session,
        actor_user_id=actor_user_id,
        action="team.assignment_set",
        subject_type="team",
        subject_id=team_id,
        strategy=strategy.value,
    )


async def team_leads(
    session: AsyncSession, team_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each team's active leads, through the auth domain's members."""
    from frontdesk.auth.service import active_user_ids, team_members

    members = [m for m in await team_members(session, sorted(team_ids)) if m.is_lead]
    active = await active_user_ids(session, {m.user_id for m in members})
    leads: dict[uuid.UUID, list[uuid.UUID]] = {}
    for m in sorted(members, key=lambda m: m.user_id):
        if m.user_id in active:
            leads.setdefault(m.team_id, []).append(m.user_id)
    return leads


# --- choosing an agent -----------------------------------------------------------


class _Team:
    """One team's available agents, their loads and the rota's place, for a batch."""

    def __init__(
        self,
        row: TeamAssignment | None,
        agents: dict[uuid.UUID, AgentProfile],
        loads: dict[uuid.UUID, int],
    ) -> None:
        self.row = row
        self.agents = agents
        self.loads = loads

    def available(self, exclude: uuid.UUID | None) -> list[AgentProfile]:
        return [
            p
            for user_id, p in sorted(self.agents.items())
            if user_id != exclude
            and effective_presence(p) is Presence.ONLINE
            and (p.capacity is None or self.loads.get(user_id, 0) < p.capacity)
        ]

    def pick(
        self, strategy: Strategy, ticket: Ticket, exclude: uuid.UUID | None
    ) -> tuple[uuid.UUID | None, str]:
        candidates = self.available(exclude)
        if not candidates:
            return None, "no member of the team is online with room for another ticket"
        if strategy is Strategy.ROUND_ROBIN:
            last = self.row.last_assignee_id if self.row else None
            after = [p for p in candidates if last is None or p.user_id > last]
            chosen = (after or candidates)[0]
            why = "next in the rota"
        else:
            if strategy is Strategy.SKILLS:
                candidates = [p for p in candidates if _speaks(p, ticket)]
                if not candidates:
                    return None, "no available member has the skills " + _needs(ticket)
            chosen = min(candidates, key=lambda p: (self.loads.get(p.user_id, 0), p.user_id))
            why = f"fewest open tickets ({self.loads.get(chosen.user_id, 0)})"
            if strategy is Strategy.SKILLS:
                why = f"has the skills {_needs(ticket)}; {why}"
        self.loads[chosen.user_id] = self.loads.get(chosen.user_id, 0) + 1
        if self.row is not None:
            self.row.last_assignee_id = chosen.user_id
        return chosen.user_id, why


def _speaks(p: AgentProfile, ticket: Ticket) -> bool:
    language = (ticket.language or "").lower()
    if language and language not in p.languages and language.split("-")[0] not in p.languages:
        return False
    return not ticket.product or ticket.product in p.products


def _needs(ticket: Ticket) -> str:
    needs = [f"language {ticket.language}"] if ticket.language else []
    needs += [f"product {ticket.product}"] if ticket.product else []
    return "(" + (", ".join(needs) or "none asked") + ")"


async def _teams(session: AsyncSession, team_ids: set[uuid.UUID]) -> dict[uuid.UUID, _Team]:
    from frontdesk.auth.service import active_user_ids, team_members
    from frontdesk.tickets.service import open_ticket_counts

    if not team_ids:
        return {}
    members = await team_members(session, sorted(team_ids))
    active = await active_user_ids(session, {m.user_id for m in members})
    found = await profiles(session, sorted(active))
    loads = await open_ticket_counts(session, sorted(found))
    rows = {
        r.team_id: r
        for r in (
            await session.scalars(
                select(TeamAssignment).where(TeamAssignment.team_id.in_(sorted(team_ids)))
            )
        ).all()
    }
    out = {}
    for team_id in team_ids:
        agents = {
            m.user_id: found[m.user_id]
            for m in members
            if m.team_id == team_id and m.user_id in found
        }
        out[team_id] = _Team(rows.get(team_id), agents, loads)
    return out


async def _ensure_rows(session: AsyncSession, teams: dict[uuid.UUID, _Team]) -> None:
    """A rule's round robin on a team with no strategy of its own keeps its rota here too."""
    for team_id, team in teams.items():
        if team.row is None:
            team.row = TeamAssignment(team_id=team_id, strategy=Strategy.MANUAL.value)
            session.add(team.row)


async def assign_routed(
    session: AsyncSession,
    routed: Sequence[tuple[Ticket, str]],
    chosen: dict[uuid.UUID, Strategy],
) -> None:
    """The routing step: give each routed ticket that needs one an agent.

    ``chosen``: the strategy a matching routing rule named, by ticket id; the
    others take their team's. A new ticket needs one when unassigned; a
    reopened one also when its assignee has gone offline.
    """
    from frontdesk.notifications.service import notify
    from frontdesk.tickets.service import add_system_events, assign

    wanted: list[tuple[Ticket, Strategy]] = []
    strategies: dict[uuid.UUID, Strategy] = {}
    for ticket, reason in routed:
        if ticket.team_id is None or (ticket.assignee_id is not None and reason != "reopened"):
            continue
        if ticket.team_id not in strategies and ticket.id not in chosen:
            strategies[ticket.team_id] = await team_strategy(session, ticket.team_id)
        strategy = chosen.get(ticket.id) or strategies[ticket.team_id]
        if strategy is Strategy.MANUAL:
            continue
        wanted.append((ticket, strategy))
    if not wanted:
        return
    # A reopened ticket keeps an assignee who is online or away.
    present = await profiles(session, [t.assignee_id for t, _ in wanted if t.assignee_id])
    wanted = [
        (t, strategy)
        for t, strategy in wanted
        if t.assignee_id is None
        or (p := present.get(t.assignee_id)) is None
        or effective_presence(p) is Presence.OFFLINE
    ]
    if not wanted:
        return
    teams = await _teams(session, {t.team_id for t, _ in wanted if t.team_id is not None})
    await _ensure_rows(session, teams)
    events: list[tuple[Ticket, str, dict[str, Any]]] = []
    for ticket, strategy in wanted:
        assert ticket.team_id is not None
        previous = ticket.assignee_id
        user_id, why = teams[ticket.team_id].pick(strategy, ticket, exclude=previous)
        if user_id is not None:
            await assign(session, None, ticket, assignee_id=user_id)
            await notify(
                session,
                ticket.tenant_id,
                [user_id],
                "ticket_assigned",
                ticket_id=ticket.id,
                payload={"number": ticket.number, "subject": ticket.subject, "why": why},
            )
        events.append(
            (
                ticket,
                "auto_assigned" if user_id else "auto_assign_waiting",
                {
                    "strategy": strategy.value,
                    "assignee_id": str(user_id) if user_id else None,
                    "previous_assignee_id": str(previous) if previous else None,
                    "why": why,
                },
            )
        )
    await add_system_events(session, events)


async def hand_on_urgent(session: AsyncSession, user_id: uuid.UUID) -> None:
    """The agent went offline: their open urgent tickets go to someone available
    (their team's strategy, least loaded when it has none), else back to the queue
    with the team's leads told."""
    from frontdesk.notifications.service import notify
    from frontdesk.tickets.service import add_system_events, assign, open_tickets_of

    urgent = await open_tickets_of(session, user_id, priority=Priority.URGENT)
    if not urgent:
        return
    teams = await _teams(session, {t.team_id for t in urgent if t.team_id is not None})
    await _ensure_rows(session, teams)
    leads = await team_leads(session, set(teams))
    events: list[tuple[Ticket, str, dict[str, Any]]] = []
    for ticket in urgent:
        strategy = Strategy.LEAST_LOADED
        team = teams.get(ticket.team_id) if ticket.team_id else None
        if team is not None and team.row is not None and team.row.strategy != "manual":
            strategy = Strategy(team.row.strategy)
        to, why = team.pick(strategy, ticket, exclude=user_id) if team else (None, "no team")
        await assign(session, None, ticket, assignee_id=to)
        events.append(
            (
                ticket,
                "reassigned_assignee_offline",
                {
                    "from": str(user_id),
                    "to": str(to) if to else None,
                    "strategy": strategy.value,
                    "why": why,
                },
            )
        )
        if to is None and ticket.team_id is not None:
            await notify(
                session,
                ticket.tenant_id,
                leads.get(ticket.team_id, []),
                "urgent_ticket_unassigned",
                ticket_id=ticket.id,
                payload={"number": ticket.number, "subject": ticket.subject, "why": why},
            )
        else:
            await notify(
                session,
                ticket.tenant_id,
                [to],
                "ticket_assigned",
                ticket_id=ticket.id,
                payload={"number": ticket.number, "subject": ticket.subject, "why": why},
            )
    await add_system_events(session, events)
