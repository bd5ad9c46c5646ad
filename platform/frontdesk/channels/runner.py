"""Running pull and push channels: pollers on the scheduler's tick, listeners as servers.

**Pollers.** The tick (``schedule_polls``: the worker's loop, or the embedded
app's) sends a ``poll`` job for each active pull channel that is due. The
job takes the channel's lease in ``channel_cursors`` with one conditional
UPDATE, so two workers never poll one mailbox at once; it polls from the
stored cursor, hands each request to the same intake as the webhook
(``submission.submit``), and only then saves the new cursor, guarded by its
lease: a crash repeats a poll (the intake drops what it already has), never
skips one. Refused requests are recorded as rejections and passed over.

**Listeners.** ``run_listeners`` (``frontdesk listen``, and the embedded
demo) keeps one ``listen`` task per active push channel, started,
restarted after a failure and stopped when the channel is turned off or
reconfigured. Each received request goes to the same intake, in this
process (an adapter may seal listener requests with a per-process key).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk import egress
from frontdesk.channels import service as channels
from frontdesk.channels.adapter import ChannelAdapter
from frontdesk.channels.errors import MalformedPayload
from frontdesk.channels.models import ChannelCursor, ChannelInstance
from frontdesk.channels.submission import submit
from frontdesk.channels.types import InboundRequest
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import session_tenant, utcnow
from frontdesk.errors import InvalidInput
from frontdesk.runtime import Runtime

log = logging.getLogger("frontdesk.channels.runner")

#: A poll that has not finished after this long is presumed dead; another worker may poll.
LEASE = dt.timedelta(minutes=5)

#: How soon a channel that had nothing to poll (no cursor, nothing new) is asked again.
IDLE_RECHECK = dt.timedelta(hours=1)

#: This process, as a lease holder.
OWNER = f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _kinds_with(runtime: Runtime, method: str) -> list[str]:
    return [k for k in runtime.registry.kinds() if runtime.registry.get(k).supports(method)]


async def _active_channels(runtime: Runtime, method: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant, channel) of every active channel whose adapter implements ``method``."""
    from frontdesk.tenancy.service import list_tenant_ids

    kinds = _kinds_with(runtime, method)
    if not kinds:
        return []
    async with runtime.db.session() as session:
        tenant_ids = await list_tenant_ids(session)
    out: list[tuple[uuid.UUID, uuid.UUID]] = []
    for tenant_id in tenant_ids:
        async with runtime.db.session(tenant_id) as session:
            ids = await session.scalars(
                select(ChannelInstance.id).where(
                    ChannelInstance.kind.in_(kinds), ChannelInstance.is_active.is_(True)
                )
            )
            out.extend((tenant_id, channel_id) for channel_id in ids.all())
    return out


# --- pollers ----------------------------------------------------------------------------


async def schedule_polls(runtime: Runtime) -> list[uuid.UUID]:
    """The tick: send a ``poll`` job for each pull channel that is due. Returns their ids.

    Due: never polled, or its next poll time has come, or reconfigured since
    its last poll (an IMAP mailbox just added to an email channel).
    """
    sent: list[uuid.UUID] = []
    now = utcnow()
    for tenant_id, channel_id in await _active_channels(runtime, "poll"):
        async with runtime.db.session(tenant_id) as session:
            row = await session.get(ChannelCursor, (tenant_id, channel_id))
            if row is not None:
                if row.lease_until is not None and row.lease_until > now:
                    continue
                channel = await channels.get_channel(session, channel_id)
                reconfigured = (
                    row.last_polled_at is not None and channel.updated_at > row.last_polled_at
                )
                if reconfigured:
                    row.next_poll_at = None
                elif row.next_poll_at is not None and row.next_poll_at > now:
                    continue
        runtime.jobs.send("poll", {"tenant_id": str(tenant_id), "channel_id": str(channel_id)})
        sent.append(channel_id)
    return sent


async def _ensure_cursor_row(session: AsyncSession, channel_id: uuid.UUID) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    tenant_id = session_tenant(session.sync_session)
    await session.execute(
        insert(ChannelCursor)
        .values(tenant_id=tenant_id, channel_id=channel_id, polls=0)
        .on_conflict_do_nothing(index_elements=["tenant_id", "channel_id"])
    )


async def _claim(
    runtime: Runtime, tenant_id: uuid.UUID, channel_id: uuid.UUID, owner: str, *, force: bool
) -> tuple[ChannelAdapter[Any], str, str | None] | None:
    async with runtime.db.session(tenant_id) as session:
        channel = await channels.get_channel(session, channel_id)
        if not channel.is_active:
            return None
        await _ensure_cursor_row(session, channel_id)
        now = utcnow()
        stmt = (
            update(ChannelCursor)
            .where(
                ChannelCursor.channel_id == channel_id,
                or_(ChannelCursor.lease_until.is_(None), ChannelCursor.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if not force:
            stmt = stmt.where(
                or_(ChannelCursor.next_poll_at.is_(None), ChannelCursor.next_poll_at <= now)
            )
        result = await session.execute(stmt)
        if getattr(result, "rowcount", 0) != 1:
            return None
        cursor = await session.scalar(
            select(ChannelCursor.cursor).where(ChannelCursor.channel_id == channel_id)
        )
        cipher = await load_tenant_cipher(session, runtime.keyring, tenant_id)
        token = await channels.endpoint_token(session, channel_id)
        adapter = channels.build_adapter(runtime, cipher, channel, token)
    return adapter, token, cursor


async def _release(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    channel_id: uuid.UUID,
    owner: str,
    *,
    cursor: str | None,
    advance: bool,
    error: str | None,
    idle: bool = False,
) -> bool:
    """End the lease; save ``cursor`` if ``advance``. False if the lease was lost.

    ``idle``: the channel has nothing to poll (an email channel without a
    mailbox): asked again only after ``IDLE_RECHECK``, or once reconfigured.
    """
    now = utcnow()
    wait = IDLE_RECHECK if idle else dt.timedelta(seconds=runtime.settings.poll_interval_seconds)
    values: dict[str, Any] = {
        "lease_owner": None,
        "lease_until": None,
        "last_polled_at": now,
        "next_poll_at": now + wait,
        "last_error": error,
        "polls": ChannelCursor.polls + 1,
    }
    if advance:
        values["cursor"] = cursor
    async with runtime.db.session(tenant_id) as session:
        result = await session.execute(
            update(ChannelCursor)
            .where(ChannelCursor.channel_id == channel_id, ChannelCursor.lease_owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return getattr(result, "rowcount", 0) == 1


class PollOutcome:
    """What one poll did (for logs and tests)."""

    def __init__(self) -> None:
        self.polled = False
        self.submitted = 0
        self.rejected = 0
        self.error: str | None = None
        self.cursor_saved = False


async def poll_channel(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    channel_id: uuid.UUID,
    *,
    owner: str = OWNER,
    force: bool = False,
) -> PollOutcome:
    """Poll one channel if its lease is free (and it is due, unless ``force``)."""
    outcome = PollOutcome()
    claimed = await _claim(runtime, tenant_id, channel_id, owner, force=force)
    if claimed is None:
        return outcome
    adapter, token, cursor = claimed
    outcome.polled = True
    try:
        await egress.check_adapter(
            adapter.config, allow_private=runtime.settings.allow_private_targets
        )
        result = await adapter.poll(cursor)
        for request in result.requests:
            try:
                await submit(runtime, token, request, source="poll")
                outcome.submitted += 1
            except InvalidInput:
                outcome.rejected += 1  # recorded as a rejection; not lost, not retried
    except Exception as exc:  # the cursor stays: the next poll repeats, never skips
        outcome.error = f"{type(exc).__name__}: {exc}"[:1000]
        log.warning("polling channel %s failed: %s", channel_id, outcome.error)
        await _release(
            runtime, tenant_id, channel_id, owner, cursor=None, advance=False, error=outcome.error
        )
        return outcome
    outcome.cursor_saved = await _release(
        runtime,
        tenant_id,
        channel_id,
        owner,
        cursor=result.cursor,
        advance=True,
        error=None,
        idle=result.cursor is None and not result.requests,
    )
    return outcome


async def cursor_of(runtime: Runtime, tenant_id: uuid.UUID, channel_id: uuid.UUID) -> str | None:
    async with runtime.db.session(tenant_id) as session:
        return await session.scalar(
            select(ChannelCursor.cursor).where(ChannelCursor.channel_id == channel_id)
        )


async def tick_forever(runtime: Runtime, *, every: float) -> None:
    """The embedded platform's scheduler tick (``frontdesk worker`` has its own loop)."""
    while True:
        try:
            await schedule_polls(runtime)
        except Exception:  # a passing database outage must not end the tick
            log.exception("scheduling polls failed; will retry")
        await asyncio.sleep(every)


# --- listeners --------------------------------------------------------------------------


def listener_submit(runtime: Runtime, token: str) -> Any:
    """The ``submit`` a listener gets: the intake, in this process; a refused
    message raises ``MalformedPayload`` with the reason (the sender is told)."""

    async def submit_received(request: InboundRequest) -> None:
        try:
            await submit(runtime, token, request, source="listener")
        except InvalidInput as exc:
            raise MalformedPayload(exc.detail) from None

    return submit_received


class Listeners:
    """One running ``listen`` task per active push channel."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.tasks: dict[uuid.UUID, tuple[dt.datetime, asyncio.Task[None]]] = {}
        self.adapters: dict[uuid.UUID, ChannelAdapter[Any]] = {}

    async def sync(self) -> None:
        """Start what should run, stop what should not, restart what ended or changed."""
        wanted: dict[uuid.UUID, tuple[uuid.UUID, dt.datetime]] = {}
        for tenant_id, channel_id in await _active_channels(self.runtime, "listen"):
            async with self.runtime.db.session(tenant_id) as session:
                channel = await channels.get_channel(session, channel_id)
                wanted[channel_id] = (tenant_id, channel.updated_at)
        for channel_id in list(self.tasks):
            version, task = self.tasks[channel_id]
            if channel_id not in wanted or wanted[channel_id][1] != version or task.done():
                await self._stop(channel_id)
        for channel_id, (tenant_id, version) in wanted.items():
            if channel_id not in self.tasks:
                await self._start(tenant_id, channel_id, version)

    async def _start(
        self, tenant_id: uuid.UUID, channel_id: uuid.UUID, version: dt.datetime
    ) -> None:
        async with self.runtime.db.session(tenant_id) as session:
            channel = await channels.get_channel(session, channel_id)
            cipher = await load_tenant_cipher(session, self.runtime.keyring, tenant_id)
            token = await channels.endpoint_token(session, channel_id)
            adapter = channels.build_adapter(self.runtime, cipher, channel, token)
        task = asyncio.create_task(
            self._listen(channel_id, adapter, token), name=f"listener {channel_id}"
        )
        self.tasks[channel_id] = (version, task)
        self.adapters[channel_id] = adapter

    async def _listen(
        self, channel_id: uuid.UUID, adapter: ChannelAdapter[Any], token: str
    ) -> None:
        try:
            await adapter.listen(listener_submit(self.runtime, token))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the listener of channel %s stopped; it will be restarted", channel_id)

    async def _stop(self, channel_id: uuid.UUID) -> None:
        _, task = self.tasks.pop(channel_id)
        self.adapters.pop(channel_id, None)
        task.cancel()
        # Whatever the task ended with was logged by ``_listen``.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def close(self) -> None:
        for channel_id in list(self.tasks):
            await self._stop(channel_id)


async def run_listeners(runtime: Runtime, *, every: float = 10.0) -> None:
    """Keep the listeners in line with the channels until cancelled."""
    listeners = Listeners(runtime)
    try:
        while True:
            try:
                await listeners.sync()
            except Exception:
                log.exception("syncing listeners failed; will retry")
            await asyncio.sleep(every)
    finally:
        await listeners.close()
