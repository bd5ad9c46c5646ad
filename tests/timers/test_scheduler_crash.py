"""A ``frontdesk worker`` killed (SIGKILL) while firing timers loses none and
fires none twice once another worker takes over.

The production shape: PostgreSQL, the Redis broker, ``frontdesk worker``
processes running both the scheduler and the jobs. The first worker is
killed while it has fired some timers and holds claims on others (some with
their job in Redis, unacknowledged, some perhaps not yet sent). The second
worker gets the dead one's jobs back once its heartbeat is stale and claims
the rest again once their leases run out; every timer must be fired exactly
once: one ``fired`` row and one reminder on the ticket's timeline each.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import signal
import time
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from channels.test_worker_crash import (  # the same fixtures as the ingestion crash test
    Workers,
    crash_settings,  # noqa: F401
    namespace,  # noqa: F401
    workers,  # noqa: F401
)
from conftest import sign_up
from frontdesk.app import create_app
from frontdesk.config import Settings
from frontdesk.db import utcnow
from frontdesk.runtime import Runtime
from frontdesk.tickets.models import Ticket, TicketEvent
from frontdesk.timers.models import Timer
from frontdesk.timers.reminders import schedule_reminder

TIMERS = 5_000
SETTLE_SECONDS = 120


async def _fired(runtime: Runtime, tenant_id: uuid.UUID) -> int:
    async with runtime.db.session(tenant_id) as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Timer)
                .where(Timer.kind == "reminder", Timer.state == "fired")
            )
            or 0
        )


@pytest.mark.postgres_only
async def test_a_worker_killed_while_firing_timers_loses_none_and_repeats_none(
    crash_settings: Settings,  # noqa: F811
    workers: Workers,  # noqa: F811
) -> None:
    workers.env["FRONTDESK_TIMER_TICK_MS"] = "100"
    workers.env["FRONTDESK_TIMER_BATCH_SIZE"] = "50"
    workers.env["FRONTDESK_TIMER_LEASE_MS"] = "3000"
    runtime = Runtime(crash_settings, pool_size=4)
    await runtime.start(worker=False)
    try:
        app = create_app(runtime=runtime)
        app.state.runtime = runtime
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            tenant = await sign_up(client)
            h = tenant.admin.headers
            r = await client.post("/api/v1/customers", headers=h, json={"display_name": "Zhao"})
            r = await client.post(
                "/api/v1/tickets",
                headers=h,
                json={"customer_id": r.json()["id"], "subject": "Reminders"},
            )
            assert r.status_code == 201, r.text
            ticket_id = uuid.UUID(r.json()["id"])
        now = utcnow()
        async with runtime.db.session(tenant.id) as session:
            ticket = await session.get(Ticket, (tenant.id, ticket_id))
            assert ticket is not None
            for i in range(TIMERS):
                schedule_reminder(
                    session, ticket, due_at=now - dt.timedelta(seconds=i), note=f"n{i}"
                )

        first = workers.start()
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            assert first.poll() is None, f"the worker exited early\n{workers.output()}"
            assert time.monotonic() < deadline, f"nothing fired\n{workers.output()}"
            fired_at_kill = await _fired(runtime, tenant.id)
            if fired_at_kill >= 200:
                break
            await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        async with runtime.db.session(tenant.id) as session:
            held = int(
                await session.scalar(
                    select(func.count())
                    .select_from(Timer)
                    .where(Timer.state == "pending", Timer.claimed_by.is_not(None))
                )
                or 0
            )
        assert fired_at_kill < TIMERS, "the worker finished before it was killed"

        workers.start()
        fired = fired_at_kill
        while fired < TIMERS:
            assert time.monotonic() < deadline, (
                f"only {fired} of {TIMERS} timers fired\n{workers.output()}"
            )
            await asyncio.sleep(0.25)
            fired = await _fired(runtime, tenant.id)

        async with runtime.db.session(tenant.id) as session:
            notes = collections.Counter(
                e["note"]
                for e in await session.scalars(
                    select(TicketEvent.data).where(TicketEvent.kind == "reminder")
                )
            )
            states = dict(
                (
                    await session.execute(
                        select(Timer.state, func.count())
                        .where(Timer.kind == "reminder")
                        .group_by(Timer.state)
                    )
                ).all()
            )
        assert states == {"fired": TIMERS}
        assert set(notes) == {f"n{i}" for i in range(TIMERS)}
        assert set(notes.values()) == {1}
        print(
            f"\nkilled the worker after {fired_at_kill} of {TIMERS} timers fired, "
            f"with {held} claimed and not yet fired; the second worker fired the rest"
        )
    finally:
        await runtime.close()
