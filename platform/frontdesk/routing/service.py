"""The hand-off point every new or reopened ticket passes through.

A ticket without a language gets the one its subject is written in
(``routing.language``). The tenant's routing rules run first
(``routing.rules``: the first match sets team, priority, tags, assignee,
escalation, and says why on the timeline); a ticket still without a team
goes to the default team (the front line); then an agent of its team is
chosen by the rule's or the team's strategy (``routing.assignment``); then
its SLA clocks start (``routing.sla``), so a rule's priority sets the targets.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.auth.service import default_team
from frontdesk.routing.assignment import assign_routed
from frontdesk.routing.language import detect
from frontdesk.routing.rules import apply_rules
from frontdesk.routing.sla import start_clocks
from frontdesk.tickets.models import Ticket


async def route_many(session: AsyncSession, routed: Sequence[tuple[Ticket, str]]) -> None:
    """Route tickets, each with why it is routed now ("new ticket", "reopened", "follow-up")."""
    for ticket, _ in routed:
        if ticket.language is None:
            ticket.language = detect(ticket.subject)
    chosen = await apply_rules(session, routed)
    unrouted = [ticket for ticket, _ in routed if ticket.team_id is None]
    team = await default_team(session) if unrouted else None
    if team is not None:
        from frontdesk.tickets.service import assign

        for ticket in unrouted:
            await assign(session, None, ticket, team_id=team.id)
    await assign_routed(session, routed, chosen)
    # After the team is known: the team's calendar counts the clocks.
    await start_clocks(session, routed)


async def route(session: AsyncSession, ticket: Ticket, *, reason: str) -> None:
    await route_many(session, [(ticket, reason)])
