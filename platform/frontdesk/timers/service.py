"""Scheduling, cancelling, claiming and firing timers.

A timer fires exactly once: the job that fires a batch marks its timers
``fired`` with a conditional UPDATE (``state = 'pending'``) and writes their
effects in the same transaction, so a second job for the same timers (a
redelivery, a second scheduler after a lease ran out) finds nothing left to
do. The scheduler only claims (a lease, under ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, SQLite's write lock in embedded mode) and sends the job after
the claim commits; a job lost with its worker leaves a lease that runs out,
and the next tick claims the timers again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.clock import now as clock_now
from frontdesk.errors import InvalidInput
from frontdesk.ids import new_id
from frontdesk.jobs import enqueue
from frontdesk.timers.models import Timer

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime

log = logging.getLogger("frontdesk.timers")

PENDING = "pending"
FIRED = "fired"
CANCELLED = "cancelled"
FAILED = "failed"

# A timer whose effect raised this often is given up on (kept, marked failed).
MAX_ATTEMPTS = 10


class FiredTimer(msgspec.Struct, frozen=True, kw_only=True):
    """What a handler gets for each timer of its kind that fires now."""

    id: uuid.UUID
    kind: str
    ticket_id: uuid.UUID | None
    due_at: dt.datetime
    payload: dict[str, Any]


Handler = Callable[[AsyncSession, list[FiredTimer]], Awaitable[None]]
_HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register what firing timers of ``kind`` does (in the firing transaction)."""

    def register(fn: Handler) -> Handler:
        if kind in _HANDLERS and _HANDLERS[kind] is not fn:
            raise ValueError(f"two timer handlers for {kind!r}")
        _HANDLERS[kind] = fn
        return fn

    return register


def _import_handlers() -> None:
    # Every module that declares timer kinds, so any worker can fire any timer;
    # and every model, since an effect's flush sorts by the whole schema.
    import frontdesk.followups.service
    import frontdesk.handoffs.service
    import frontdesk.models
    import frontdesk.reports.rollups
    import frontdesk.reports.weekly
    import frontdesk.routing.sla
    import frontdesk.tasks.service
    import frontdesk.timers.reminders  # noqa: F401


def schedule(
    session: AsyncSession,
    *,
    kind: str,
    due_at: dt.datetime,
    ticket_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> Timer:
    """A new pending timer, written with the caller's transaction."""
    if due_at.tzinfo is None:
        raise InvalidInput("a timer's due time needs a time zone")
    timer = Timer(
        id=new_id(),
        kind=kind,
        ticket_id=ticket_id,
        due_at=due_at,
        payload=payload or {},
        state=PENDING,
        attempts=0,
    )
    session.add(timer)
    return timer


async def cancel(session: AsyncSession, timer_ids: Sequence[uuid.UUID]) -> int:
    """Cancel those still pending; a fired one stays fired."""
    if not timer_ids:
        return 0
    result = await session.execute(
        update(Timer)
        .where(Timer.id.in_(list(timer_ids)), Timer.state == PENDING)
        .values(state=CANCELLED)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def cancel_for_tickets(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID], kinds: Sequence[str]
) -> int:
    """Cancel the tickets' pending timers of these kinds (a reopened ticket's follow-up)."""
    if not ticket_ids:
        return 0
    result = await session.execute(
        update(Timer)
        .where(
            Timer.ticket_id.in_(sorted(set(ticket_ids))),
            Timer.kind.in_(list(kinds)),
            Timer.state == PENDING,
        )
        .values(state=CANCELLED)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def pending_for_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> list[Timer]:
    stmt = select(Timer).where(Timer.ticket_id == ticket_id, Timer.state == PENDING)
    return list((await session.scalars(stmt.order_by(Timer.due_at))).all())


async def claim_due(
    session: AsyncSession, *, owner: str, limit: int, lease: dt.timedelta
) -> list[uuid.UUID]:
    """Claim up to ``limit`` of the session's tenant's due timers for ``lease``.

    ``SKIP LOCKED``: two schedulers claiming at once take different timers
    instead of queueing behind each other (SQLite has one writer at a time).
    """
    now = clock_now()
    ids = list(
        (
            await session.scalars(
                select(Timer.id)
                .where(
                    Timer.state == PENDING,
                    Timer.due_at <= now,
                    or_(Timer.claimed_until.is_(None), Timer.claimed_until <= now),
                )
                .order_by(Timer.due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    if ids:
        await session.execute(
            update(Timer)
            .where(Timer.id.in_(ids))
            .values(claimed_by=owner, claimed_until=now + lease, attempts=Timer.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    return ids


def scheduler_owner() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def run_due(
    runtime: Runtime,
    *,
    owner: str | None = None,
    max_batches: int = 50,
    tenant_ids: Sequence[uuid.UUID] | None = None,
) -> int:
    """One scheduler tick: claim every tenant's (or only ``tenant_ids``') due
    timers in batches, send a ``fire_timers`` job per batch. Returns how many
    timers were claimed. Agents whose inbox sockets' lease has lapsed go
    offline in the same transaction as the first claim."""
    from frontdesk.routing.assignment import expire_socket_presence
    from frontdesk.tenancy.service import list_tenant_ids

    owner = owner or runtime.timer_owner
    batch = runtime.settings.timer_batch_size
    lease = dt.timedelta(milliseconds=runtime.settings.timer_lease_ms)
    # Row-level security shows a transaction one tenant's rows: the claim
    # runs per tenant (an indexed, usually empty, read for most of them).
    if tenant_ids is None:
        async with runtime.db.session() as session:
            tenant_ids = await list_tenant_ids(session)
    claimed = 0
    for tenant_id in tenant_ids:
        for batch_number in range(max_batches):
            async with runtime.db.session(tenant_id) as session:
                if batch_number == 0:
                    await expire_socket_presence(session)
                ids = await claim_due(session, owner=owner, limit=batch, lease=lease)
                if ids:
                    enqueue(
                        session,
                        "fire_timers",
                        tenant_id=str(tenant_id),
                        timer_ids=[str(i) for i in ids],
                    )
            claimed += len(ids)
            if len(ids) < batch:
                break
    return claimed


def session_runtime(session: AsyncSession) -> Runtime:
    """The runtime firing this session's timers (for effects that need settings)."""
    runtime: Runtime = session.sync_session.info["runtime"]
    return runtime


async def _fire_in(runtime: Runtime, session: AsyncSession, timer_ids: Sequence[uuid.UUID]) -> int:
    """Mark the still-pending ones fired and run their effects, in this transaction."""
    _import_handlers()
    session.sync_session.info["runtime"] = runtime
    rows = (
        await session.execute(
            update(Timer)
            .where(Timer.id.in_(list(timer_ids)), Timer.state == PENDING)
            .values(state=FIRED, fired_at=clock_now(), claimed_until=None)
            .returning(Timer.id, Timer.kind, Timer.ticket_id, Timer.due_at, Timer.payload)
            .execution_options(synchronize_session=False)
        )
    ).all()
    by_kind: dict[str, list[FiredTimer]] = {}
    for timer_id, kind, ticket_id, due_at, payload in sorted(rows, key=lambda r: r[3]):
        by_kind.setdefault(kind, []).append(
            FiredTimer(id=timer_id, kind=kind, ticket_id=ticket_id, due_at=due_at, payload=payload)
        )
    for kind, fired in by_kind.items():
        fn = _HANDLERS.get(kind)
        if fn is None:
            raise LookupError(f"no handler for timers of kind {kind!r}")
        await fn(session, fired)
    return len(rows)


async def fire(runtime: Runtime, tenant_id: uuid.UUID, timer_ids: Sequence[uuid.UUID]) -> int:
    """Fire a claimed batch; returns how many fired now (0 for a duplicate job).

    If the batch's transaction fails, each timer is tried alone, so one bad
    timer holds back only itself: it stays pending with its error, and the
    scheduler retries it when its lease runs out (given up after
    ``MAX_ATTEMPTS`` claims).
    """
    try:
        async with runtime.db.session(tenant_id) as session:
            return await _fire_in(runtime, session, timer_ids)
    except Exception:
        if len(timer_ids) == 1:
            log.exception("timer %s failed", timer_ids[0])
            await _record_failure(runtime, tenant_id, timer_ids[0])
            return 0
    fired = 0
    for timer_id in timer_ids:
        try:
            async with runtime.db.session(tenant_id) as session:
                fired += await _fire_in(runtime, session, [timer_id])
        except Exception:
            log.exception("timer %s failed", timer_id)
            await _record_failure(runtime, tenant_id, timer_id)
    return fired


async def _record_failure(runtime: Runtime, tenant_id: uuid.UUID, timer_id: uuid.UUID) -> None:
    import traceback

    error = traceback.format_exc(limit=5)[-4000:]
    async with runtime.db.session(tenant_id) as session:
        timer = await session.get(Timer, (tenant_id, timer_id))
        if timer is None or timer.state != PENDING:
            return
        timer.last_error = error
        if timer.attempts >= MAX_ATTEMPTS:
            timer.state = FAILED
