"""The channel pipeline's jobs: ingest what arrived, deliver what agents wrote, sweep."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import or_, select

from frontdesk.channels.models import Delivery, InboundEvent
from frontdesk.db import utcnow
from frontdesk.jobs import job
from frontdesk.runtime import Runtime


@job("ingest", queue="intake")
async def ingest(runtime: Runtime, *, tenant_id: str, event_id: str) -> None:
    from frontdesk.channels.ingest import ingest_event

    await ingest_event(runtime, uuid.UUID(tenant_id), uuid.UUID(event_id))


@job("deliver", queue="delivery")
async def deliver(runtime: Runtime, *, tenant_id: str, delivery_id: str) -> None:
    from frontdesk.channels.delivery import deliver as run

    await run(runtime, uuid.UUID(tenant_id), uuid.UUID(delivery_id))


async def sweep(runtime: Runtime, *, older_than: dt.timedelta = dt.timedelta(minutes=1)) -> int:
    """Send again the jobs of work left behind (a crash between commit and send,
    a broker that lost a message). Every job is idempotent, so a duplicate is
    harmless. Returns how many jobs were sent.
    """
    from frontdesk.tenancy.service import list_tenant_ids

    async with runtime.db.session() as session:
        tenant_ids = await list_tenant_ids(session)
    cutoff = utcnow() - older_than
    now = utcnow()
    sent = 0
    for tenant_id in tenant_ids:
        async with runtime.db.session(tenant_id) as session:
            events = (
                await session.scalars(
                    select(InboundEvent.id).where(
                        InboundEvent.status == "received", InboundEvent.received_at < cutoff
                    )
                )
            ).all()
            deliveries = (
                await session.scalars(
                    select(Delivery.id).where(
                        Delivery.status == "queued",
                        Delivery.created_at < cutoff,
                        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
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
