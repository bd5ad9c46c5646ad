"""Auth's jobs: mailing invitation links."""

from __future__ import annotations

import uuid

from frontdesk.jobs import job
from frontdesk.runtime import Runtime


@job("send_invitation", queue="default", max_retries=8, min_backoff=2_000)
async def send_invitation(runtime: Runtime, *, tenant_id: str, invitation_id: str) -> None:
    from frontdesk.auth import invitations
    from frontdesk.crypto.service import load_tenant_cipher

    tenant = uuid.UUID(tenant_id)
    async with runtime.db.session(tenant) as session:
        cipher = await load_tenant_cipher(session, runtime.keyring, tenant)
        await invitations.send(runtime, cipher, session, uuid.UUID(invitation_id))
