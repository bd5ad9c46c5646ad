"""Helpers for the follow-up tests: customers' messages through the intake, the scheduler's tick."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from conftest import TenantUnderTest, drain
from frontdesk.channels import InboundMessage, Parsed
from frontdesk.channels.intake import event_rows, intake_of
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.runtime import Runtime
from frontdesk.timers.service import run_due


async def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def arrive(
    runtime: Runtime, tenant_id: uuid.UUID, channel_id: str, message: InboundMessage
) -> None:
    """A customer's message stored by the intake as the channel's webhook would."""
    async with runtime.db.session(tenant_id) as session:
        cipher = await load_tenant_cipher(session, runtime.keyring, tenant_id)
    rows = event_rows(cipher, tenant_id, uuid.UUID(channel_id), Parsed(messages=[message]))
    await intake_of(runtime).store(tenant_id, rows)


async def tick(runtime: Runtime, tenant: TenantUnderTest) -> None:
    """The scheduler's tick for this tenant, and every job it leads to."""
    await run_due(runtime, tenant_ids=[tenant.id])
    await drain(runtime)
