"""Ticket tasks: work owed on a ticket by a due time, assigned where routing put the ticket.

A task has its own clock (one timer at ``due_at``); past it while open, the
task is marked overdue and ``task_overdue`` goes on the ticket's timeline. The
ticket's customer-facing SLA clocks are never read or written here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.auth.service import Principal
from frontdesk.clock import now as clock_now
from frontdesk.errors import IllegalTransition, NotFound
from frontdesk.tasks.models import TicketTask
from frontdesk.tickets.models import Ticket, TicketEvent
from frontdesk.timers import service as timers

OVERDUE_TIMER = "task_overdue"

CALLBACK = "callback"

OPEN = "open"
DONE = "done"
CANCELLED = "cancelled"


class DoneIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=10_000)] | None = None


class TaskOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    ticket_id: uuid.UUID
    kind: str
    title: str
    priority: str
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    status: str
    due_at: dt.datetime
    overdue: bool
    overdue_at: dt.datetime | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    note: str | None


def out(t: TicketTask) -> TaskOut:
    return TaskOut(
        id=t.id,
        ticket_id=t.ticket_id,
        kind=t.kind,
        title=t.title,
        priority=t.priority,
        team_id=t.team_id,
        assignee_id=t.assignee_id,
        status=t.status,
        due_at=t.due_at,
        overdue=t.overdue_at is not None,
        overdue_at=t.overdue_at,
        created_at=t.created_at,
        resolved_at=t.resolved_at,
        note=t.note,
    )


def _event(
    session: AsyncSession, task: TicketTask, actor: uuid.UUID | None, kind: str, **extra: Any
) -> None:
    data = {
        "task_id": str(task.id),
        "task_kind": task.kind,
        "status": task.status,
        "due_at": task.due_at.isoformat(),
        "assignee_id": str(task.assignee_id) if task.assignee_id else None,
        **extra,
    }
    session.add(TicketEvent(ticket_id=task.ticket_id, actor_user_id=actor, kind=kind, data=data))


async def open_task(
    session: AsyncSession,
    ticket: Ticket,
    *,
    kind: str,
    title: str,
    due_in: dt.timedelta,
    priority: str = "high",
) -> TicketTask:
    """The ticket's open task of ``kind``, or a new one due in ``due_in``.

    A new task goes to whoever routing gave the ticket (its assignee, else its
    team's queue). One open task of a kind per ticket: a second missed call
    before the callback adds to the ticket's timeline, not to the to-do list.
    """
    existing = await session.scalar(
        select(TicketTask)
        .where(
            TicketTask.ticket_id == ticket.id, TicketTask.kind == kind, TicketTask.status == OPEN
        )
        .order_by(TicketTask.id)
        .limit(1)
    )
    if existing is not None:
        return existing
    now = clock_now()
    task = TicketTask(
        ticket_id=ticket.id,
        kind=kind,
        title=title[:500],
        priority=priority,
        team_id=ticket.team_id,
        assignee_id=ticket.assignee_id,
        status=OPEN,
        due_at=now + due_in,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    await session.flush()
    task.timer_id = timers.schedule(
        session,
        kind=OVERDUE_TIMER,
        due_at=task.due_at,
        ticket_id=ticket.id,
        payload={"task_id": str(task.id)},
    ).id
    _event(session, task, None, "task_opened", title=task.title, priority=priority)
    await session.flush()
    return task


async def close_task(
    session: AsyncSession,
    task: TicketTask,
    *,
    status: str,
    note: str | None,
    actor: uuid.UUID | None = None,
) -> TicketTask:
    """Mark an open task ``done`` or ``cancelled``, with why."""
    if task.status != OPEN:
        raise IllegalTransition(f"the task is already {task.status}")
    if task.timer_id is not None:
        await timers.cancel(session, [task.timer_id])
        task.timer_id = None
    now = clock_now()
    task.status = status
    task.updated_at = now
    task.resolved_at = now
    task.note = note
    _event(session, task, actor, f"task_{status}", note=note)
    await session.flush()
    return task


async def open_tasks(session: AsyncSession, ticket_id: uuid.UUID, kind: str) -> list[TicketTask]:
    stmt = select(TicketTask).where(
        TicketTask.ticket_id == ticket_id, TicketTask.kind == kind, TicketTask.status == OPEN
    )
    return list((await session.scalars(stmt.order_by(TicketTask.id))).all())


async def get_task(session: AsyncSession, task_id: uuid.UUID) -> TicketTask | None:
    return await session.scalar(select(TicketTask).where(TicketTask.id == task_id))


async def for_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> list[TicketTask]:
    stmt = select(TicketTask).where(TicketTask.ticket_id == ticket_id)
    return list((await session.scalars(stmt.order_by(TicketTask.id))).all())


async def done_by(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, note: str | None
) -> TicketTask:
    """An agent marks a task done; it must be on a ticket they may read."""
    from frontdesk.tickets.service import get_ticket

    task = await get_task(session, task_id)
    if task is None:
        raise NotFound("no such task")
    try:
        await get_ticket(session, principal, task.ticket_id)
    except NotFound:
        raise NotFound("no such task") from None
    return await close_task(session, task, status=DONE, note=note, actor=principal.user_id)


@timers.handler(OVERDUE_TIMER)
async def _overdue(session: AsyncSession, fired: list[timers.FiredTimer]) -> None:
    ids = sorted({uuid.UUID(str(t.payload["task_id"])) for t in fired})
    rows = (await session.scalars(select(TicketTask).where(TicketTask.id.in_(ids)))).all()
    now = clock_now()
    for task in rows:
        if task.status != OPEN or task.overdue_at is not None:
            continue
        task.overdue_at = now
        task.timer_id = None
        _event(session, task, None, "task_overdue")
    await session.flush()


# --- personal-data requests ---------------------------------------------------


async def tasks_of_tickets(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID]
) -> list[TicketTask]:
    if not ticket_ids:
        return []
    stmt = select(TicketTask).where(TicketTask.ticket_id.in_(list(ticket_ids)))
    return list((await session.scalars(stmt.order_by(TicketTask.id))).all())


async def erase_notes(session: AsyncSession, tasks: Sequence[TicketTask]) -> int:
    """An agent's closing note may describe the customer: it goes. Titles are the
    platform's own ("Call back: missed call") and stay, with status and times."""
    erased = 0
    for task in tasks:
        if task.note is not None:
            task.note = None
            erased += 1
    await session.flush()
    return erased
