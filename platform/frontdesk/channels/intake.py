"""The front door for providers: verify, store durably, answer 2xx, hand to ``ingest``.

Nothing is stored for a request that fails verification. A provider's
redelivery of something already stored is acknowledged and dropped.
"""

from __future__ import annotations

import logging
import uuid

import msgspec
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.attachments import service as attachments
from frontdesk.channels import service as channels
from frontdesk.channels.errors import MalformedPayload, SignatureInvalid
from frontdesk.channels.html import sanitise_html
from frontdesk.channels.masking import mask_sensitive_numbers
from frontdesk.channels.models import InboundEvent
from frontdesk.channels.types import (
    ChannelEvent,
    InboundMessage,
    InboundRequest,
    Parsed,
    WebhookReply,
)
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import enter_tenant, utcnow
from frontdesk.errors import InvalidInput, NotFound, Unauthenticated
from frontdesk.ids import new_id
from frontdesk.jobs import enqueue
from frontdesk.runtime import Runtime

log = logging.getLogger("frontdesk.intake")

ACCEPTED = WebhookReply(status=200, body=b'{"ok":true}', content_type="application/json")


class StoredPayload(msgspec.Struct, tag_field="type", frozen=True):
    """What an inbound event row holds, encrypted."""


class StoredMessage(StoredPayload, tag="message", frozen=True):
    message: InboundMessage


class StoredEvent(StoredPayload, tag="event", frozen=True):
    event: ChannelEvent


def mask_message(message: InboundMessage) -> InboundMessage:
    """Card and identity numbers never reach storage, on any channel; HTML is
    sanitised again, whatever the adapter did (agents' browsers render it)."""
    html = sanitise_html(message.html)
    return msgspec.structs.replace(
        message,
        text=mask_sensitive_numbers(message.text),
        subject=mask_sensitive_numbers(message.subject) if message.subject else message.subject,
        html=mask_sensitive_numbers(html) if html else None,
    )


async def receive(runtime: Runtime, token: str, request: InboundRequest) -> WebhookReply:
    async with runtime.db.sessions() as session:
        async with session.begin():
            endpoint = await channels.find_endpoint(session, token)
            await enter_tenant(session, endpoint.tenant_id)
            channel = await channels.get_channel(session, endpoint.channel_id)
            if not channel.is_active:
                raise NotFound("no such channel")
            cipher = await load_tenant_cipher(session, runtime.keyring, endpoint.tenant_id)
            adapter = channels.build_adapter(runtime, cipher, channel, token)
            try:
                await adapter.verify(request)
            except SignatureInvalid as exc:
                log.info("refused a request to channel %s: %s", channel.id, exc)
                raise Unauthenticated("signature verification failed") from None
            try:
                parsed = await adapter.parse(request)
            except MalformedPayload as exc:
                raise InvalidInput(f"the channel could not read this request: {exc}") from None
            parsed = await attachments.detach(session, runtime.attachments, cipher, channel, parsed)
            stored = await store(session, cipher, endpoint.tenant_id, channel.id, parsed)
            for event_id in stored:
                enqueue(
                    session, "ingest", tenant_id=str(endpoint.tenant_id), event_id=str(event_id)
                )
        await runtime.db.committed(session)
    return parsed.reply or ACCEPTED


async def store(
    session: AsyncSession,
    cipher: TenantCipher,
    tenant_id: uuid.UUID,
    channel_id: uuid.UUID,
    parsed: Parsed,
) -> list[uuid.UUID]:
    """Store each item once; returns the ids of those not seen before."""
    items: list[tuple[str, str, StoredPayload]] = [
        (m.external_id, "message", StoredMessage(mask_message(m))) for m in parsed.messages
    ] + [(e.external_id, "event", StoredEvent(e)) for e in parsed.events]
    new: list[uuid.UUID] = []
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    for external_id, kind, payload in items:
        if not external_id or len(external_id) > 255:
            raise InvalidInput("every message needs an external id of at most 255 characters")
        event_id = new_id()
        encrypted = cipher.encrypt(
            msgspec.json.encode(payload).decode(),
            table="inbound_events",
            column="payload",
            row_id=event_id,
        )
        # ON CONFLICT DO NOTHING: concurrent redeliveries race on the unique
        # key and exactly one row wins, without an error to unwind.
        stmt = (
            insert(InboundEvent)
            .values(
                tenant_id=tenant_id,
                id=event_id,
                channel_id=channel_id,
                external_id=external_id,
                kind=kind,
                payload_encrypted=encrypted,
                status="received",
                attempts=0,
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "channel_id", "external_id"])
            .returning(InboundEvent.id)
        )
        inserted = (await session.execute(stmt)).scalar()
        if inserted is not None:
            new.append(inserted)
    return new


def read_payload(cipher: TenantCipher, event: InboundEvent) -> StoredMessage | StoredEvent:
    raw = cipher.decrypt(
        event.payload_encrypted, table="inbound_events", column="payload", row_id=event.id
    )
    return msgspec.json.decode(raw, type=StoredMessage | StoredEvent)
