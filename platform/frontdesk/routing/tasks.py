"""Routing's jobs: a policy's escalation steps for an SLA warning or breach."""

from __future__ import annotations

import uuid

from frontdesk.jobs import job
from frontdesk.runtime import Runtime


@job("sla_escalate", queue="timers")
async def sla_escalate(
    runtime: Runtime, *, tenant_id: str, ticket_id: str, metric: str, generation: int, moment: str
) -> None:
    import frontdesk.models  # noqa: F401 - a flush sorts by the whole schema
    from frontdesk.routing.sla import escalate

    async with runtime.db.session(uuid.UUID(tenant_id)) as session:
        await escalate(session, uuid.UUID(ticket_id), metric, generation, moment)
