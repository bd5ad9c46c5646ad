"""The timers' job: fire a batch the scheduler claimed."""

from __future__ import annotations

import uuid

from frontdesk.jobs import job
from frontdesk.runtime import Runtime


@job("fire_timers", queue="timers")
async def fire_timers(runtime: Runtime, *, tenant_id: str, timer_ids: list[str]) -> None:
    from frontdesk.timers.service import fire

    await fire(runtime, uuid.UUID(tenant_id), [uuid.UUID(i) for i in timer_ids])
