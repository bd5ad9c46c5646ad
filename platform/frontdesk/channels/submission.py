"""One way in for everything a channel receives: its webhook, its listener, its poller.

Each calls ``submit``, which is the intake (verify, parse, store, answer),
so checking, storage and masking are the same whichever way a message came.
What the intake refuses as unreadable is recorded as a rejection with the
reason (``inbound_rejections``) rather than lost; requests that fail
verification are not recorded (nothing is kept for them, by design).
"""

from __future__ import annotations

import base64
import hashlib
import logging

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from frontdesk.channels import intake
from frontdesk.channels import service as channels
from frontdesk.channels.models import InboundRejection
from frontdesk.channels.types import InboundRequest, WebhookReply
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import enter_tenant, utcnow
from frontdesk.errors import InvalidInput
from frontdesk.ids import new_id
from frontdesk.runtime import Runtime

log = logging.getLogger("frontdesk.intake")

#: How much of a refused request is kept (encrypted) for an operator to look at.
KEPT_BYTES = 256 * 1024


async def submit(
    runtime: Runtime, token: str, request: InboundRequest, *, source: str
) -> WebhookReply:
    """The intake, recording a refusal of an authentic but unreadable request."""
    try:
        return await intake.receive(runtime, token, request)
    except InvalidInput as exc:
        await record_rejection(runtime, token, request, source=source, reason=exc.detail)
        raise


async def record_rejection(
    runtime: Runtime, token: str, request: InboundRequest, *, source: str, reason: str
) -> None:
    digest = hashlib.sha256(request.body).hexdigest()
    async with runtime.db.sessions() as session, session.begin():
        endpoint = await channels.find_endpoint(session, token)
        await enter_tenant(session, endpoint.tenant_id)
        cipher = await load_tenant_cipher(session, runtime.keyring, endpoint.tenant_id)
        row_id = new_id()
        raw = base64.b64encode(request.body[:KEPT_BYTES]).decode()
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(InboundRejection)
            .values(
                tenant_id=endpoint.tenant_id,
                id=row_id,
                channel_id=endpoint.channel_id,
                source=source[:16],
                reason=reason[:2000],
                digest=digest,
                size=len(request.body),
                raw_encrypted=cipher.encrypt(
                    raw, table="inbound_rejections", column="raw", row_id=row_id
                ),
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "channel_id", "digest"])
        )
    log.info("channel %s refused a %s request: %s", endpoint.channel_id, source, reason)
