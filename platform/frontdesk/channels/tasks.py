"""The channel pipeline's jobs: ingest what arrived, deliver what agents wrote, poll, sweep."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select

from frontdesk.channels.models import Delivery, InboundEvent
from frontdesk.db import utcnow
from frontdesk.jobs import PendingJob, job
from frontdesk.runtime import Runtime


def ingest_coalesce_key(tenant_id: uuid.UUID) -> str:
    return f"ingest:{tenant_id}"


# Batches one ingest job takes before it queues itself again behind the other
# tenants' jobs: a tenant with a backlog (a flood) gets its turn, and so does
# everyone else, rather than one job draining it while the others wait.
FAIR_SHARE_BATCHES = 2


@job("ingest_pending", queue="intake")
async def ingest_pending(runtime: Runtime, *, tenant_id: str) -> None:
    """A tenant's waiting events, a fair share of batches at a time (sent, coalesced,
    by the intake; sent again by itself while more are waiting)."""
    from frontdesk.channels.ingest import ingest_share

    tenant = uuid.UUID(tenant_id)
    key = ingest_coalesce_key(tenant)
    _, more = await ingest_share(
        runtime,
        tenant,
        release=lambda: runtime.jobs.release(key),
        max_batches=FAIR_SHARE_BATCHES,
    )
    if more:
        # To the back of the queue; coalesced, so no second job if the intake
        # already sent one for what arrived meanwhile.
        await runtime.jobs.send_pending(
            [PendingJob("ingest_pending", {"tenant_id": tenant_id}, coalesce=key)]
        )


@job("ingest", queue="intake")
async def ingest(runtime: Runtime, *, tenant_id: str, event_id: str) -> None:
    """One event (the sweeper's, for work whose job was lost)."""
    from frontdesk.channels.ingest import ingest_event

    await ingest_event(runtime, uuid.UUID(tenant_id), uuid.UUID(event_id))


@job("deliver", queue="delivery")
async def deliver(runtime: Runtime, *, tenant_id: str, delivery_id: str) -> None:
    from frontdesk.channels.delivery import deliver as run

    await run(runtime, uuid.UUID(tenant_id), uuid.UUID(delivery_id))


@job("poll", queue="poll", max_retries=0)
async def poll(runtime: Runtime, *, tenant_id: str, channel_id: str) -> None:
    """Poll one pull channel (its lease keeps a second copy of this job from polling too)."""
    from frontdesk.channels.runner import poll_channel

    await poll_channel(runtime, uuid.UUID(tenant_id), uuid.UUID(channel_id))


async def sweep(runtime: Runtime, *, older_than: dt.timedelta = dt.timedelta(minutes=1)) -> int:
    """Send again the jobs of work left behind (a crash between commit and send,
    a broker that lost a message). Every job is idempotent, so a duplicate is
    harmless. Returns how many jobs were sent.

    Work whose queue still has messages waiting is left alone: under a backlog
    older than ``older_than`` its jobs are queued, not lost, and sending them
    again on every sweep (from every worker) would only grow the backlog.
    Anything truly lost is sent once the queue has drained.
    """
    from frontdesk.tenancy.service import list_tenant_ids

    busy = await asyncio.to_thread(
        lambda: {name for name in ("ingest", "deliver") if runtime.jobs.waiting(name)}
    )
    if busy == {"ingest", "deliver"}:
        return 0
    async with runtime.db.session() as session:
        tenant_ids = await list_tenant_ids(session)
    cutoff = utcnow() - older_than
    now = utcnow()
    sent = 0
    for tenant_id in tenant_ids:
        async with runtime.db.session(tenant_id) as session:
            events: Sequence[uuid.UUID] = []
            deliveries: Sequence[uuid.UUID] = []
            if "ingest" not in busy:
                events = (
                    await session.scalars(
                        select(InboundEvent.id).where(
                            InboundEvent.status == "received", InboundEvent.received_at < cutoff
                        )
                    )
                ).all()
            if "deliver" not in busy:
                deliveries = (
                    await session.scalars(
                        select(Delivery.id).where(
                            Delivery.status == "queued",
                            Delivery.created_at < cutoff,
                            or_(
                                Delivery.next_attempt_at.is_(None),
                                Delivery.next_attempt_at <= now,
                            ),
                        )
                    )
                ).all()
        for event_id in events:
            runtime.jobs.send("ingest", {"tenant_id": str(tenant_id), "event_id": str(event_id)})
        for delivery_id in deliveries:
            runtime.jobs.send(
                "deliver", {"tenant_id": str(tenant_id), "delivery_id": str(delivery_id)}
            )
        sent += len(events) + len(deliveries)
    return sent
