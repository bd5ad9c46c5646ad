"""The hand-off point every new or reopened ticket passes through.

Today it applies the default: a ticket without a team goes to the tenant's
default team (the front line). Routing rules, assignment strategies and SLA
timers (issue 6) plug in here without the pipeline changing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.auth.service import default_team
from frontdesk.tickets.models import Ticket


async def route(session: AsyncSession, ticket: Ticket, *, reason: str) -> None:
    if ticket.team_id is None:
        team = await default_team(session)
        if team is not None:
            from frontdesk.tickets.service import assign

            await assign(session, None, ticket, team_id=team.id)
