"""The front door for providers: verify, store durably, answer 2xx, hand to ``ingest``.

Nothing is stored for a request that fails verification. A provider's
redelivery of something already stored is acknowledged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from frontdesk import metrics
from frontdesk.attachments import service as attachments
from frontdesk.channels import service as channels
from frontdesk.channels.adapter import ChannelAdapter
from frontdesk.channels.errors import MalformedPayload, SignatureInvalid
from frontdesk.channels.html import sanitise_html
from frontdesk.channels.masking import mask_sensitive_numbers
from frontdesk.channels.models import ChannelInstance, InboundEvent
from frontdesk.channels.tasks import ingest_coalesce_key
from frontdesk.channels.types import (
    ChannelEvent,
    InboundMessage,
    InboundRequest,
    Parsed,
    WebhookReply,
)
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.crypto.service import keys_generation, load_tenant_cipher
from frontdesk.db import enter_tenant, utcnow
from frontdesk.errors import InvalidInput, NotFound, Unauthenticated
from frontdesk.ids import new_id
from frontdesk.jobs import PendingJob
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


# How long a process trusts what it loaded about a webhook token (its tenant,
# channel, adapter and cipher) before it looks again. Changes made in this
# process are seen at once; another process's within this.
TARGET_TTL_SECONDS = 2.0

UNIQUE_KEY = ["tenant_id", "channel_id", "external_id"]


@dataclass(frozen=True, slots=True)
class _Target:
    tenant_id: uuid.UUID
    channel_id: uuid.UUID
    adapter: ChannelAdapter[Any] | None  # None: the channel is switched off
    cipher: TenantCipher
    # Detached from its session: read, never written through.
    channel: ChannelInstance
    expires: float
    generation: tuple[int, int]


@dataclass(slots=True)
class _Write:
    tenant_id: uuid.UUID
    rows: list[dict[str, Any]]
    done: asyncio.Future[list[uuid.UUID]]


class Intake:
    """One process's front door: what it knows of webhook tokens, and the
    writer that commits many requests' events in one transaction.

    Under load, requests arriving while a commit is under way are written by
    the next one together (a group commit), so the commit's cost is shared
    and every request is still answered only after its events are durable.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._targets: dict[str, _Target] = {}
        # Per event loop: the app has one, tests and workers may start others.
        self._queues: dict[asyncio.AbstractEventLoop, list[_Write]] = {}
        self._writers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}

    async def target(self, token: str) -> _Target:
        now = time.monotonic()
        generation = (channels.changes_generation(), keys_generation())
        cached = self._targets.get(token)
        if cached is None or cached.expires < now or cached.generation != generation:
            cached = await self._load(token, now, generation)
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[token] = cached
        if cached.adapter is None:
            raise NotFound("no such channel")
        return cached

    async def _load(self, token: str, now: float, generation: tuple[int, int]) -> _Target:
        runtime = self.runtime
        async with runtime.db.sessions() as session, session.begin():
            endpoint = await channels.find_endpoint(session, token)
            await enter_tenant(session, endpoint.tenant_id)
            channel = await channels.get_channel(session, endpoint.channel_id)
            cipher = await load_tenant_cipher(session, runtime.keyring, endpoint.tenant_id)
            adapter = channels.build_adapter(runtime, cipher, channel, token)
        return _Target(
            tenant_id=endpoint.tenant_id,
            channel_id=channel.id,
            adapter=adapter if channel.is_active else None,
            cipher=cipher,
            channel=channel,
            expires=now + TARGET_TTL_SECONDS,
            generation=generation,
        )

    async def store(self, tenant_id: uuid.UUID, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
        """Commit these inbound event rows; returns the ids of those not seen before."""
        loop = asyncio.get_running_loop()
        write = _Write(tenant_id, rows, loop.create_future())
        self._queues.setdefault(loop, []).append(write)
        writer = self._writers.get(loop)
        if writer is None or writer.done():
            for old in [lp for lp in self._writers if lp.is_closed()]:
                self._writers.pop(old, None)
                self._queues.pop(old, None)
            self._writers[loop] = loop.create_task(self._drain(loop))
        return await write.done

    async def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        queue = self._queues[loop]
        while queue:
            group = queue[:]
            queue.clear()
            try:
                await self._commit(group)
            except Exception as exc:
                if len(group) == 1:
                    if not group[0].done.done():
                        group[0].done.set_exception(exc)
                    continue
                # One request's rows may be what failed: each alone, so only it does.
                for write in group:
                    try:
                        await self._commit([write])
                    except Exception as alone:
                        if not write.done.done():
                            write.done.set_exception(alone)

    async def _commit(self, group: list[_Write]) -> None:
        runtime = self.runtime
        by_tenant: dict[uuid.UUID, list[_Write]] = {}
        for write in group:
            by_tenant.setdefault(write.tenant_id, []).append(write)
        new: dict[tuple[uuid.UUID, uuid.UUID, str], uuid.UUID] = {}
        postgres = runtime.db.engine.dialect.name == "postgresql"
        insert = pg_insert if postgres else sqlite_insert
        table = cast(Table, InboundEvent.__table__)
        # Core statements on one connection: one transaction for every tenant
        # in the group, each row carrying its tenant; on PostgreSQL row-level
        # security checks each tenant's rows under that tenant.
        async with runtime.db.engine.begin() as conn:
            for tenant_id, writes in by_tenant.items():
                rows = [row for write in writes for row in write.rows]
                if not rows:
                    continue
                if postgres:
                    await conn.execute(
                        text("SELECT set_config('app.tenant_id', :tenant, true)"),
                        {"tenant": str(tenant_id)},
                    )
                # ON CONFLICT DO NOTHING: concurrent redeliveries race on the unique
                # key and exactly one row wins, without an error to unwind.
                # Executemany: SQLAlchemy sends it as multi-row INSERTs
                # ("insertmanyvalues") from one cached compiled statement.
                stmt = (
                    insert(table)
                    .on_conflict_do_nothing(index_elements=UNIQUE_KEY)
                    .returning(table.c.id, table.c.channel_id, table.c.external_id)
                )
                for event_id, channel_id, external_id in await conn.execute(stmt, rows):
                    new[(tenant_id, channel_id, external_id)] = event_id
        jobs = [
            PendingJob(
                "ingest_pending",
                {"tenant_id": str(tenant_id)},
                coalesce=ingest_coalesce_key(tenant_id),
            )
            for tenant_id in by_tenant
            if any(key[0] == tenant_id for key in new)
        ]
        await runtime.jobs.send_pending(jobs)
        for write in group:
            stored = [
                new.pop((write.tenant_id, row["channel_id"], row["external_id"]))
                for row in write.rows
                if (write.tenant_id, row["channel_id"], row["external_id"]) in new
            ]
            if not write.done.done():
                write.done.set_result(stored)


def intake_of(runtime: Runtime) -> Intake:
    intake = getattr(runtime, "_intake", None)
    if intake is None:
        intake = Intake(runtime)
        runtime._intake = intake  # type: ignore[attr-defined]
    return intake


async def receive(runtime: Runtime, token: str, request: InboundRequest) -> WebhookReply:
    """Verify, store durably, answer. Nothing is stored for a request that fails
    verification; a redelivery is acknowledged and dropped."""
    intake = intake_of(runtime)
    target = await intake.target(token)
    assert target.adapter is not None
    try:
        await target.adapter.verify(request)
    except SignatureInvalid as exc:
        log.info("refused a request to channel %s: %s", target.channel_id, exc)
        raise Unauthenticated("signature verification failed") from None
    try:
        parsed = await target.adapter.parse(request)
    except MalformedPayload as exc:
        raise InvalidInput(f"the channel could not read this request: {exc}") from None
    # Verified, not yet stored: over the tenant's rate the provider is told to
    # retry (429 with Retry-After), and nothing of the request is kept.
    await runtime.quotas.check_inbound(target.tenant_id, len(parsed.messages))
    if any(a.content is not None for m in parsed.messages for a in m.attachments):
        # Attachments' bytes are stored apart (never in the event's payload nor
        # the job queue), before the event; a redelivery finds them stored.
        async with runtime.db.session(target.tenant_id) as session:
            limits = await runtime.quotas.limits(target.tenant_id, session)
            parsed = await attachments.detach(
                session,
                runtime.attachments,
                target.cipher,
                target.channel,
                parsed,
                quota_bytes=limits.storage_bytes,
            )
    rows = event_rows(target.cipher, target.tenant_id, target.channel_id, parsed)
    if rows:
        stored = set(await intake.store(target.tenant_id, rows))
        kinds = Counter(row["kind"] for row in rows if row["id"] in stored)
        for kind, n in kinds.items():
            metrics.INTAKE.labels(target.channel.kind, kind).inc(n)
    return parsed.reply or ACCEPTED


def event_rows(
    cipher: TenantCipher, tenant_id: uuid.UUID, channel_id: uuid.UUID, parsed: Parsed
) -> list[dict[str, Any]]:
    """The inbound event rows for what a request carried: masked, encrypted, checked."""
    items: list[tuple[str, str, StoredPayload]] = [
        (m.external_id, "message", StoredMessage(mask_message(m))) for m in parsed.messages
    ] + [(e.external_id, "event", StoredEvent(e)) for e in parsed.events]
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for external_id, kind, payload in items:
        if not external_id or len(external_id) > 255:
            raise InvalidInput("every message needs an external id of at most 255 characters")
        event_id = new_id()
        rows.append(
            {
                "tenant_id": tenant_id,
                "id": event_id,
                "channel_id": channel_id,
                "external_id": external_id,
                "kind": kind,
                "payload_encrypted": cipher.encrypt(
                    msgspec.json.encode(payload).decode(),
                    table="inbound_events",
                    column="payload",
                    row_id=event_id,
                ),
                "status": "received",
                "attempts": 0,
                "received_at": now,
            }
        )
    return rows


def read_payload(cipher: TenantCipher, event: InboundEvent) -> StoredMessage | StoredEvent:
    raw = cipher.decrypt(
        event.payload_encrypted, table="inbound_events", column="payload", row_id=event.id
    )
    return msgspec.json.decode(raw, type=StoredMessage | StoredEvent)
