"""Timers: claimed when due, fired exactly once, never lost with a job.

The clock is stopped (the ``clock`` fixture); nothing here sleeps on time
or asserts a duration. The database is shared with other tests, whose
tenants may have timers due at the same stopped time: the counts here are
of this test's tenant (``tenant_ids``).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import uuid

import httpx
import msgspec
import pytest
from sqlalchemy import func, select

from conftest import TenantUnderTest, drain
from frontdesk.clock import Clock
from frontdesk.runtime import Runtime
from frontdesk.tickets.models import Ticket, TicketEvent
from frontdesk.timers import service as timers
from frontdesk.timers.models import Timer
from frontdesk.timers.reminders import schedule_reminder


async def new_ticket(client: httpx.AsyncClient, tenant: TenantUnderTest) -> uuid.UUID:
    h = tenant.admin.headers
    r = await client.post("/api/v1/customers", headers=h, json={"display_name": "Wang Fang"})
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/tickets", headers=h, json={"customer_id": r.json()["id"], "subject": "Printer"}
    )
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


async def remind(
    runtime: Runtime, tenant_id: uuid.UUID, ticket_id: uuid.UUID, due: list[dt.datetime]
) -> list[uuid.UUID]:
    async with runtime.db.session(tenant_id) as session:
        ticket = await session.get(Ticket, (tenant_id, ticket_id))
        assert ticket is not None
        made = [
            schedule_reminder(session, ticket, due_at=d, note=f"r{i}") for i, d in enumerate(due)
        ]
        await session.flush()
        return [t.id for t in made]


async def reminders_fired(runtime: Runtime, tenant_id: uuid.UUID) -> collections.Counter[str]:
    async with runtime.db.session(tenant_id) as session:
        rows = await session.scalars(select(TicketEvent.data).where(TicketEvent.kind == "reminder"))
        return collections.Counter(str(d["timer_id"]) for d in rows)


async def states(runtime: Runtime, tenant_id: uuid.UUID) -> dict[str, int]:
    """Timers by state, leaving out the tickets' own SLA timers."""
    async with runtime.db.session(tenant_id) as session:
        rows = await session.execute(
            select(Timer.state, func.count())
            .where(Timer.kind != "sla_warning", Timer.kind != "sla_breach")
            .group_by(Timer.state)
        )
        return {state: n for state, n in rows}


async def test_a_timer_fires_when_due_and_exactly_once(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    ticket_id = await new_ticket(client, tenant)
    now = clock.now()
    [soon, later] = await remind(
        worker, tenant.id, ticket_id, [now + dt.timedelta(minutes=5), now + dt.timedelta(hours=1)]
    )
    assert await timers.run_due(worker, tenant_ids=[tenant.id]) == 0  # nothing due yet
    clock.advance(dt.timedelta(minutes=5))
    assert await timers.run_due(worker, tenant_ids=[tenant.id]) == 1
    await drain(worker)
    assert await reminders_fired(worker, tenant.id) == {str(soon): 1}
    # The same batch again (a redelivered job): nothing left to do.
    assert await timers.fire(worker, tenant.id, [soon]) == 0
    assert await timers.run_due(worker, tenant_ids=[tenant.id]) == 0
    clock.advance(dt.timedelta(hours=1))
    assert await timers.run_due(worker, tenant_ids=[tenant.id]) == 1
    await drain(worker)
    assert await reminders_fired(worker, tenant.id) == {str(soon): 1, str(later): 1}
    assert await states(worker, tenant.id) == {"fired": 2}


async def test_a_claimed_timer_whose_job_is_lost_is_claimed_again_after_its_lease(
    client: httpx.AsyncClient, tenant: TenantUnderTest, runtime: Runtime, clock: Clock
) -> None:
    ticket_id = await new_ticket(client, tenant)
    [timer_id] = await remind(runtime, tenant.id, ticket_id, [clock.now()])
    assert await timers.run_due(runtime, tenant_ids=[tenant.id]) == 1
    assert runtime.jobs.waiting("fire_timers") == 1
    runtime.jobs.broker.flush_all()  # the broker lost the job (or its worker died)
    assert await timers.run_due(runtime, tenant_ids=[tenant.id]) == 0  # still leased
    clock.advance(dt.timedelta(milliseconds=runtime.settings.timer_lease_ms))
    assert await timers.run_due(runtime, tenant_ids=[tenant.id]) == 1
    runtime.jobs.start_worker(threads=1)
    await drain(runtime)
    assert await reminders_fired(runtime, tenant.id) == {str(timer_id): 1}


async def test_a_cancelled_timer_never_fires(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    ticket_id = await new_ticket(client, tenant)
    [timer_id] = await remind(worker, tenant.id, ticket_id, [clock.now()])
    async with worker.db.session(tenant.id) as session:
        assert await timers.cancel(session, [timer_id]) == 1
    assert await timers.run_due(worker, tenant_ids=[tenant.id]) == 0
    assert await timers.fire(worker, tenant.id, [timer_id]) == 0
    assert await reminders_fired(worker, tenant.id) == {}


async def test_a_timer_whose_effect_fails_holds_back_only_itself(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    ticket_id = await new_ticket(client, tenant)
    good = await remind(worker, tenant.id, ticket_id, [clock.now()] * 3)
    async with worker.db.session(tenant.id) as session:
        bad = timers.schedule(session, kind="no-such-kind", due_at=clock.now())
    assert await timers.run_due(worker, tenant_ids=[tenant.id]) == 4
    await drain(worker)
    assert await reminders_fired(worker, tenant.id) == {str(i): 1 for i in good}
    async with worker.db.session(tenant.id) as session:
        failed = await session.get(Timer, (tenant.id, bad.id))
        assert failed is not None
        assert failed.state == "pending"
        assert "no handler" in (failed.last_error or "")


async def test_timers_are_the_tenants_own(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
    runtime: Runtime,
    clock: Clock,
) -> None:
    ticket_id = await new_ticket(client, tenant)
    [timer_id] = await remind(runtime, tenant.id, ticket_id, [clock.now()])
    async with runtime.db.session(other_tenant.id) as session:
        assert await session.get(Timer, (tenant.id, timer_id)) is None
        assert await timers.cancel(session, [timer_id]) == 0
    assert await timers.fire(runtime, other_tenant.id, [timer_id]) == 0
    assert await states(runtime, tenant.id) == {"pending": 1}


TIMERS = 10_000


@pytest.mark.postgres_only
async def test_two_schedulers_over_10000_due_timers_fire_each_exactly_once(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    """Two schedulers, each its own runtime and connection pool, claim at once
    (``FOR UPDATE SKIP LOCKED``); worker threads fire what they send."""
    ticket_ids = [await new_ticket(client, tenant) for _ in range(10)]
    now = clock.now()
    for n, ticket_id in enumerate(ticket_ids):
        await remind(
            worker,
            tenant.id,
            ticket_id,
            [now - dt.timedelta(seconds=n * 1000 + i) for i in range(TIMERS // len(ticket_ids))],
        )
    second = Runtime(worker.settings, pool_size=4, jobs=worker.jobs)
    await second.start(worker=False)
    claimed: dict[str, int] = {}
    try:

        async def scheduler(rt: Runtime, name: str) -> None:
            claimed[name] = 0
            while True:
                got = await timers.run_due(rt, max_batches=5)
                claimed[name] += got
                if got == 0:
                    return
                await asyncio.sleep(0)

        await asyncio.gather(scheduler(worker, "first"), scheduler(second, "second"))
        await drain(worker)
    finally:
        await second.close()
    fired = await reminders_fired(worker, tenant.id)
    assert len(fired) == TIMERS
    assert set(fired.values()) == {1}
    assert await states(worker, tenant.id) == {"fired": TIMERS}
    # Each timer was claimed once, by one scheduler (the lease held); the
    # schedulers also claim other tenants' due timers, so only ours are counted.
    async with worker.db.session(tenant.id) as session:
        attempts = await session.execute(
            select(Timer.attempts, func.count())
            .where(Timer.kind == "reminder")
            .group_by(Timer.attempts)
        )
        assert dict(attempts.all()) == {1: TIMERS}
    assert claimed["first"] > 0
    assert claimed["second"] > 0
    print(f"\nclaims: {claimed}")


async def test_the_embedded_runtime_runs_the_scheduler_in_process(
    client: httpx.AsyncClient, tenant: TenantUnderTest, runtime: Runtime, clock: Clock
) -> None:
    """As ``frontdesk demo`` runs: no Redis, worker threads and the scheduler in one process."""
    ticket_id = await new_ticket(client, tenant)
    [timer_id] = await remind(runtime, tenant.id, ticket_id, [clock.now()])
    embedded = Runtime(msgspec.structs.replace(runtime.settings, timer_tick_ms=20), pool_size=2)
    await embedded.start()
    try:
        for _ in range(3000):  # polls until it has fired; no duration is asserted
            if await reminders_fired(runtime, tenant.id):
                break
            await asyncio.sleep(0.01)
    finally:
        await embedded.close()
    assert await reminders_fired(runtime, tenant.id) == {str(timer_id): 1}
