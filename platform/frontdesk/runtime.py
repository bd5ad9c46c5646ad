"""The running platform's shared parts, built once per process from the settings.

Controllers, actors and the CLI get what they need from here, so a test or a
deployment swaps one part without touching its callers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.attachments.store import AttachmentStore, FileAttachmentStore
from frontdesk.channels.registry import Registry
from frontdesk.config import Settings
from frontdesk.crypto.keyring import MasterKeyring, load_master_keyring
from frontdesk.db import Database
from frontdesk.jobs import Jobs
from frontdesk.jobs import take_pending as take_pending_jobs
from frontdesk.realtime.events import take_pending as take_pending_events
from frontdesk.realtime.events import tenant_channel
from frontdesk.realtime.pubsub import LocalPubSub, PubSub, RedisPubSub, publish_all

log = logging.getLogger("frontdesk.runtime")


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        pool_size: int | None = None,
        jobs: Jobs | None = None,
        registry: Registry | None = None,
        pubsub: PubSub | None = None,
    ) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.keyring: MasterKeyring = load_master_keyring(settings)
        self.db = Database(settings, pool_size=pool_size or settings.db_pool_size)
        self.signing_key = self._signing_key()
        self.registry = registry or Registry()
        self.attachments: AttachmentStore = FileAttachmentStore(settings.data_dir / "attachments")
        # A runtime built inside a worker shares that worker's broker.
        self._owns_jobs = jobs is None
        self.jobs = jobs or Jobs(settings)
        self.pubsub: PubSub = pubsub or (
            RedisPubSub(settings.redis_url, settings.redis_namespace)
            if settings.redis_url
            else _LOCAL_PUBSUB
        )
        self.db.after_commit.append(self._after_commit)
        from frontdesk.quotas.service import Quotas, make_limiter

        self.quotas = Quotas(settings, self.db, make_limiter(settings))
        from frontdesk.timers.service import scheduler_owner

        # Names this process's timer claims (a lease shows who holds it).
        self.timer_owner = scheduler_owner()
        self._scheduler: asyncio.Task[None] | None = None

    def _signing_key(self) -> bytes:
        if self.settings.secret_key:
            return self.settings.secret_key.encode()
        # One key from which the others derive keeps the embedded demo to one
        # secret; production sets FRONTDESK_SECRET_KEY so rotating the master
        # key does not sign everyone out.
        first = self.keyring.keys[min(self.keyring.keys)]
        return hmac.new(first, b"frontdesk access-token signing", hashlib.sha256).digest()

    async def _after_commit(self, session: AsyncSession) -> None:
        await self.jobs.send_pending(take_pending_jobs(session))
        if "erased_attachments" in session.sync_session.info:
            from frontdesk.privacy.service import after_commit as after_erasure

            await after_erasure(self, session)
        events = take_pending_events(session.sync_session)
        if events:
            await publish_all(
                self.pubsub,
                [(tenant_channel(e.tenant_id), msgspec.json.encode(e)) for e in events],
            )

    async def start(self, *, worker: bool | None = None) -> None:
        """Check the database role; without Redis, start in-process workers and
        the timer scheduler (the embedded demo is one process)."""
        await self.db.check_app_role()
        from frontdesk.metrics import watch_queues

        watch_queues(self.jobs)
        if worker if worker is not None else (self._owns_jobs and self.jobs.in_process):
            self.jobs.start_worker(threads=self.settings.worker_threads)
            self._scheduler = asyncio.create_task(self._schedule_forever())

    async def _schedule_forever(self) -> None:
        from frontdesk.timers.service import run_due

        while True:
            try:
                await run_due(self)
            except Exception:  # a passing database outage must not end the loop
                log.exception("the timer scheduler's tick failed; trying again")
            await asyncio.sleep(self.settings.timer_tick_ms / 1000)

    async def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
            self._scheduler = None
        if self._owns_jobs:
            self.jobs.close()
        await self.db.dispose()
        if self.pubsub is not _LOCAL_PUBSUB:
            await self.pubsub.close()
        close_limiter = getattr(self.quotas.limiter, "close", None)
        if close_limiter is not None:
            await close_limiter()


# One in-process bus per process, shared by the app and its worker threads.
_LOCAL_PUBSUB = LocalPubSub()
