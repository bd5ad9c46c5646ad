"""Attachments: taken out of an inbound message before it is stored, kept apart, linked later.

The intake calls ``detach`` so that an attachment's bytes never travel in the
encrypted inbound payload (nor through the job queue): each one within the
channel's size limit is sealed with the tenant's data key and written to the
attachment store, and a row lists it; one over the limit (or that the
adapter could not take) is listed as refused with the reason, and the
message lands all the same. Ingest then links the rows to the message.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.attachments.models import StoredAttachment
from frontdesk.attachments.store import AttachmentStore
from frontdesk.channels.models import ChannelInstance
from frontdesk.channels.settings import settings_of
from frontdesk.channels.types import Attachment, InboundMessage, Parsed
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.errors import NotFound
from frontdesk.ids import new_id

# Sealing and writing more than this runs in a worker thread (off the event loop).
_THREAD_BYTES = 256 * 1024


async def detach(
    session: AsyncSession,
    store: AttachmentStore,
    cipher: TenantCipher,
    channel: ChannelInstance,
    parsed: Parsed,
    *,
    quota_bytes: int = 0,
) -> Parsed:
    """``parsed`` with every attachment's bytes stored apart (``content`` None).

    ``quota_bytes`` (0: none) is what the tenant may keep in all: an attachment
    that would pass it is listed as refused, with the reason, and its message
    lands all the same (a provider retrying would not make room).
    """
    if not any(a.content is not None for m in parsed.messages for a in m.attachments):
        return parsed
    limit = settings_of(channel.settings).max_attachment_bytes
    room = _Room(quota_bytes, await stored_bytes(session) if quota_bytes > 0 else 0)
    messages = []
    for message in parsed.messages:
        if message.attachments and 0 < len(message.external_id) <= 255:
            await _store_all(session, store, cipher, channel, message, limit, room)
            message = msgspec.structs.replace(
                message,
                attachments=[msgspec.structs.replace(a, content=None) for a in message.attachments],
            )
        messages.append(message)
    return msgspec.structs.replace(parsed, messages=messages)


@dataclass(slots=True)
class _Room:
    """What is left of the tenant's storage quota while one request's attachments are stored."""

    quota: int
    used: int

    def take(self, size: int) -> bool:
        if self.quota <= 0:
            return True
        if self.used + size > self.quota:
            return False
        self.used += size
        return True


async def stored_bytes(session: AsyncSession) -> int:
    """The bytes of every attachment the tenant keeps (the session is bound to it)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(StoredAttachment.size), 0)).where(
            StoredAttachment.status == "stored"
        )
    )
    return int(total or 0)


def _adapter_reasons(message: InboundMessage) -> dict[int, str]:
    """What the adapter said about attachments it refused (``metadata["refused_attachments"]``)."""
    out: dict[int, str] = {}
    refused = message.metadata.get("refused_attachments")
    if isinstance(refused, list):
        for item in refused:
            if isinstance(item, dict) and isinstance(item.get("index"), int):
                out[item["index"]] = str(item.get("reason") or "refused by the channel")[:500]
    return out


async def _store_all(
    session: AsyncSession,
    store: AttachmentStore,
    cipher: TenantCipher,
    channel: ChannelInstance,
    message: InboundMessage,
    limit: int,
    room: _Room,
) -> None:
    ref = external_ref(cipher, message.external_id)
    known = await session.scalar(
        select(StoredAttachment.id)
        .where(StoredAttachment.channel_id == channel.id, StoredAttachment.external_ref == ref)
        .limit(1)
    )
    if known is not None:
        return  # a redelivery: stored the first time
    reasons = _adapter_reasons(message)
    for position, attachment in enumerate(message.attachments):
        row = StoredAttachment(
            id=new_id(),
            channel_id=channel.id,
            external_ref=ref,
            position=position,
            filename=attachment.filename[:255] or f"attachment-{position + 1}",
            content_type=attachment.content_type[:255] or "application/octet-stream",
            size=attachment.size if attachment.content is None else len(attachment.content),
            inline=attachment.inline,
            status="refused",
        )
        if attachment.content is None:
            row.refused_reason = reasons.get(position) or (
                "the provider keeps it at a URL; fetching is not supported"
                if attachment.url
                else "the channel did not receive its content"
            )
        elif len(attachment.content) > limit:
            row.refused_reason = f"larger than this channel's limit of {limit} bytes"
        elif not room.take(len(attachment.content)):
            row.refused_reason = (
                f"the tenant's attachment storage quota of {room.quota} bytes is full"
            )
        else:
            await _seal_and_write(store, cipher, row, attachment)
            row.status = "stored"
        session.add(row)
    await session.flush()


async def _seal_and_write(
    store: AttachmentStore, cipher: TenantCipher, row: StoredAttachment, attachment: Attachment
) -> None:
    content = attachment.content
    assert content is not None
    tenant_id = cipher.tenant_id

    def work() -> str:
        blob = cipher.encrypt_bytes(content, table="attachments", column="content", row_id=row.id)
        store.write(tenant_id, row.id, blob)
        return hashlib.sha256(content).hexdigest()

    row.sha256 = await asyncio.to_thread(work) if len(content) > _THREAD_BYTES else work()


def external_ref(cipher: TenantCipher, external_id: str) -> str:
    """What attachments are keyed by: a keyed hash of the message's external id."""
    return cipher.blind_index("external-id", external_id)


async def link(
    session: AsyncSession,
    cipher: TenantCipher,
    *,
    channel_id: uuid.UUID,
    external_id: str,
    message_id: uuid.UUID,
) -> list[dict[str, Any]]:
    """Attach the message's stored attachments to it; returns what the message lists."""
    await session.execute(
        update(StoredAttachment)
        .where(
            StoredAttachment.channel_id == channel_id,
            StoredAttachment.external_ref == external_ref(cipher, external_id),
        )
        .values(message_id=message_id)
    )
    rows = await session.scalars(
        select(StoredAttachment)
        .where(StoredAttachment.message_id == message_id)
        .order_by(StoredAttachment.position)
    )
    return [describe(r) for r in rows.all()]


def describe(row: StoredAttachment) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "inline": row.inline,
        "status": row.status,
        **({"refused_reason": row.refused_reason} if row.refused_reason else {}),
    }


async def read_content(
    session: AsyncSession, store: AttachmentStore, cipher: TenantCipher, attachment_id: uuid.UUID
) -> tuple[StoredAttachment, bytes]:
    """A stored attachment and its bytes (NotFound for another tenant's or a refused one)."""
    row = await session.get(StoredAttachment, (cipher.tenant_id, attachment_id))
    if row is None or row.status != "stored":
        raise NotFound("no such attachment")
    blob = await asyncio.to_thread(store.read, cipher.tenant_id, row.id)
    data = cipher.decrypt_bytes(blob, table="attachments", column="content", row_id=row.id)
    return row, data


async def of_messages(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> list[StoredAttachment]:
    stmt = (
        select(StoredAttachment)
        .where(StoredAttachment.message_id.in_(list(message_ids)))
        .order_by(StoredAttachment.message_id, StoredAttachment.position)
    )
    return list((await session.scalars(stmt)).all())


async def by_message(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """What each message lists (a ticket's timeline), in the order they came."""
    out: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if not message_ids:
        return out
    for row in await of_messages(session, message_ids):
        assert row.message_id is not None
        out.setdefault(row.message_id, []).append(describe(row))
    return out


async def erase(session: AsyncSession, rows: Sequence[StoredAttachment]) -> list[uuid.UUID]:
    """Delete the attachments' rows; returns the ids whose files the caller deletes
    once the transaction has committed (a rollback must not lose the bytes)."""
    stored = [row.id for row in rows if row.status == "stored"]
    for row in rows:
        await session.delete(row)
    await session.flush()
    return stored


def delete_files(store: AttachmentStore, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
    for attachment_id in ids:
        store.delete(tenant_id, attachment_id)
