"""Reminders: a timer that puts a note on a ticket's timeline when it is due."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.tickets.models import Ticket
from frontdesk.timers import service as timers
from frontdesk.timers.models import Timer

REMINDER = "reminder"


def schedule_reminder(
    session: AsyncSession, ticket: Ticket, *, due_at: dt.datetime, note: str
) -> Timer:
    return timers.schedule(
        session, kind=REMINDER, due_at=due_at, ticket_id=ticket.id, payload={"note": note}
    )


@timers.handler(REMINDER)
async def _remind(session: AsyncSession, fired: list[timers.FiredTimer]) -> None:
    from frontdesk.tickets.service import add_system_events, get_tickets_unchecked

    tickets = await get_tickets_unchecked(
        session, {t.ticket_id for t in fired if t.ticket_id is not None}
    )
    events: list[tuple[Ticket, str, dict[str, Any]]] = [
        (
            tickets[t.ticket_id],
            "reminder",
            {"note": t.payload.get("note"), "timer_id": str(t.id), "due_at": t.due_at.isoformat()},
        )
        for t in fired
        if t.ticket_id in tickets
    ]
    await add_system_events(session, events, touch=False)
