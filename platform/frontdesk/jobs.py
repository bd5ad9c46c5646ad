"""Background jobs on dramatiq: the registry, the broker, sending after commit, workers.

A job is an ``async def fn(runtime, **kwargs)`` registered with ``@job``.
Code inside a transaction calls ``enqueue(session, name, ...)``; the job is
sent only after that transaction commits (a rolled-back request leaves no job
pointing at nothing), and every job is idempotent, so a job sent twice does
its work once. With ``FRONTDESK_REDIS_URL`` the broker is Redis and
``frontdesk worker`` processes run the jobs; without it, an in-process broker
and worker threads do, so the embedded demo is one process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import dramatiq
import msgspec
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware
from dramatiq.middleware.asyncio import AsyncIO
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.config import Settings

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime

log = logging.getLogger("frontdesk.jobs")

JobFn = Callable[..., Awaitable[None]]


class JobSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    fn: JobFn
    queue: str
    # dramatiq's own retries, for errors the job did not handle (a database
    # restart, a lost race on a unique key): backoff in milliseconds.
    max_retries: int
    min_backoff: int
    max_backoff: int
    time_limit: int


_REGISTRY: dict[str, JobSpec] = {}

# How long a coalesced job's mark holds back new sends if the job never starts.
COALESCE_MS = 10_000
# A worker process's "alive" mark in Redis: renewed every third of this.
ALIVE_PREFIX = "worker-alive"
ALIVE_TTL_MS = 30_000


def job(
    name: str,
    *,
    queue: str = "default",
    max_retries: int = 20,
    min_backoff: int = 200,
    max_backoff: int = 300_000,
    time_limit: int = 300_000,
) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"two jobs named {name!r}")
        _REGISTRY[name] = JobSpec(
            name=name,
            fn=fn,
            queue=queue,
            max_retries=max_retries,
            min_backoff=min_backoff,
            max_backoff=max_backoff,
            time_limit=time_limit,
        )
        return fn

    return register


def _import_job_modules() -> None:
    # Every module that declares jobs, so any process knows every job by name.
    import frontdesk.auth.tasks
    import frontdesk.channels.tasks
    import frontdesk.reports.rollups
    import frontdesk.reports.weekly
    import frontdesk.routing.tasks
    import frontdesk.timers.tasks  # noqa: F401


class PendingJob(msgspec.Struct, frozen=True):
    name: str
    kwargs: dict[str, Any]
    delay_ms: int | None = None
    coalesce: str | None = None


def enqueue(
    session: AsyncSession,
    name: str,
    *,
    delay_ms: int | None = None,
    coalesce: str | None = None,
    **kwargs: Any,
) -> None:
    """Send job ``name`` once this session's transaction commits.

    With ``coalesce``, the job is not sent while one sent under the same key
    has not yet started and called ``Jobs.release(key)``: a burst of work for
    one tenant becomes one job that takes it all, rather than a job each.
    """
    if name not in _REGISTRY:
        _import_job_modules()
        if name not in _REGISTRY:
            raise KeyError(f"no job named {name!r}")
    pending: list[PendingJob] = session.sync_session.info.setdefault("pending_jobs", [])
    job = PendingJob(name, kwargs, delay_ms, coalesce)
    if coalesce is None or job not in pending:
        pending.append(job)


def take_pending(session: AsyncSession) -> list[PendingJob]:
    pending: list[PendingJob] = session.sync_session.info.pop("pending_jobs", [])
    return pending


# --- the worker's own runtime -----------------------------------------------
#
# Async jobs run on dramatiq's event-loop thread; database connections belong
# to the loop that opened them, so the worker builds its own runtime there.

_worker_runtime: Runtime | None = None


def worker_runtime() -> Runtime:
    if _worker_runtime is None:
        raise RuntimeError("no worker runtime: jobs run only inside a started worker")
    return _worker_runtime


class _RuntimeMiddleware(Middleware):
    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        from frontdesk.runtime import Runtime

        global _worker_runtime
        jobs = self.jobs

        async def build() -> Runtime:
            runtime = Runtime(jobs.settings, jobs=jobs)
            await runtime.start()
            return runtime

        loop_thread = get_event_loop_thread()
        assert loop_thread is not None, "the AsyncIO middleware boots first"
        _worker_runtime = loop_thread.run_coroutine(build())

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        global _worker_runtime
        loop_thread = get_event_loop_thread()
        if _worker_runtime is not None and loop_thread is not None:
            loop_thread.run_coroutine(_worker_runtime.close())
        _worker_runtime = None


def _wrap(spec: JobSpec) -> Callable[..., Awaitable[None]]:
    async def run(**kwargs: Any) -> None:
        from frontdesk.logs import JOB_FIELDS, bound
        from frontdesk.metrics import timed_job

        ids = {k: kwargs[k] for k in JOB_FIELDS if k in kwargs}
        with bound(job=spec.name, **ids), timed_job(spec.name):
            await spec.fn(worker_runtime(), **kwargs)

    run.__name__ = spec.name
    run.__module__ = spec.fn.__module__
    return run


class _RedisBroker(RedisBroker):
    """dramatiq's Redis broker, able to hand a dead worker's jobs back on demand.

    A worker keeps the jobs it fetched in a set of its own until it
    acknowledges them. dramatiq gives those of a worker whose heartbeat is
    older than ``heartbeat_timeout`` back to their queue only during
    "maintenance", which runs on a random one in a thousand broker commands
    for that queue: after a worker is killed (SIGKILL, OOM, a lost machine)
    its jobs could wait minutes, or until the sweeper's cutoff.
    ``requeue_dead_workers`` runs the maintenance now, for every queue.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._forced = threading.local()

    def _should_do_maintenance(self, command: str) -> int:
        if getattr(self._forced, "on", False):
            return 1
        return int(super()._should_do_maintenance(command))

    def requeue_dead_workers(self) -> None:
        queues: set[str] = self.get_declared_queues() | self.get_declared_delay_queues()
        self._forced.on = True
        try:
            for queue in sorted(queues):
                # Any command but ack/nack carries maintenance; qsize changes nothing.
                self.do_qsize(queue)
        finally:
            self._forced.on = False


class Jobs:
    """The broker and its actors for one process."""

    def __init__(self, settings: Settings) -> None:
        _import_job_modules()
        self.settings = settings
        self.broker: dramatiq.Broker
        if settings.redis_url:
            self.broker = _RedisBroker(
                url=settings.redis_url,
                namespace=settings.redis_namespace,
                heartbeat_timeout=settings.worker_heartbeat_ms,
            )
        else:
            self.broker = StubBroker()
        self.broker.add_middleware(AsyncIO())
        self.broker.add_middleware(_RuntimeMiddleware(self))
        self.actors: dict[str, dramatiq.Actor[Any, Any]] = {
            spec.name: dramatiq.Actor(
                _wrap(spec),
                broker=self.broker,
                actor_name=spec.name,
                queue_name=spec.queue,
                priority=0,
                options={
                    "max_retries": spec.max_retries,
                    "min_backoff": spec.min_backoff,
                    "max_backoff": spec.max_backoff,
                    "time_limit": spec.time_limit,
                },
            )
            for spec in _REGISTRY.values()
        }
        self._worker: dramatiq.Worker | None = None
        self._alive: threading.Event | None = None
        self._alive_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._coalesced: dict[str, float] = {}

    @property
    def in_process(self) -> bool:
        return isinstance(self.broker, StubBroker)

    def send(self, name: str, kwargs: dict[str, Any], delay_ms: int | None = None) -> None:
        self.actors[name].send_with_options(kwargs=kwargs, delay=delay_ms)

    def _claim(self, key: str) -> bool:
        """True when no job under ``key`` is waiting to start (and marks one as waiting).

        The mark expires on its own after ``COALESCE_MS``: a job lost before
        it started holds nothing back for longer (the sweeper finds its work).
        """
        if isinstance(self.broker, _RedisBroker):
            name = f"{self.broker.namespace}:coalesce:{key}"
            return bool(self.broker.client.set(name, b"1", nx=True, px=COALESCE_MS))
        now = time.monotonic()
        with self._lock:
            if self._coalesced.get(key, 0.0) > now:
                return False
            self._coalesced[key] = now + COALESCE_MS / 1000
            return True

    def release(self, key: str) -> None:
        """Called by a coalesced job as it starts reading its work: what is stored
        after this sends a new job."""
        if isinstance(self.broker, _RedisBroker):
            self.broker.client.delete(f"{self.broker.namespace}:coalesce:{key}")
            return
        with self._lock:
            self._coalesced.pop(key, None)

    def _send_one(self, p: PendingJob) -> None:
        if p.coalesce is None or self._claim(p.coalesce):
            self.send(p.name, p.kwargs, p.delay_ms)

    async def send_pending(self, pending: list[PendingJob]) -> None:
        if not pending:
            return
        if self.in_process:
            for p in pending:
                self._send_one(p)
            return

        # redis-py is blocking: keep it off the event loop.
        def send_all() -> None:
            for p in pending:
                self._send_one(p)

        await asyncio.to_thread(send_all)

    def waiting(self, name: str) -> int:
        """How many messages wait in job ``name``'s queue (not counting those being run)."""
        queue = _REGISTRY[name].queue
        if isinstance(self.broker, StubBroker):
            q = self.broker.queues.get(queue)
            return 0 if q is None else q.qsize()
        assert isinstance(self.broker, _RedisBroker)
        return int(self.broker.client.llen(f"{self.broker.namespace}:{queue}"))

    def forget_tenant(self, tenant_id: object) -> int:
        """Drop this namespace's Redis keys that name a deleted tenant (coalescing
        marks); returns how many. Queued jobs for it find nothing and end."""
        with self._lock:
            gone = [k for k in self._coalesced if str(tenant_id) in k]
            for key in gone:
                del self._coalesced[key]
        if not isinstance(self.broker, _RedisBroker):
            return len(gone)
        client = self.broker.client
        count = 0
        for name in client.scan_iter(match=f"{self.broker.namespace}:*{tenant_id}*", count=500):
            count += int(client.delete(name))
        return count

    def queue_depths(self) -> dict[str, int]:
        """Messages waiting in every declared queue (``/metrics``)."""
        queues = sorted(self.broker.get_declared_queues())
        if isinstance(self.broker, StubBroker):
            return {q: self.broker.queues[q].qsize() for q in queues if q in self.broker.queues}
        assert isinstance(self.broker, _RedisBroker)
        client = self.broker.client
        return {q: int(client.llen(f"{self.broker.namespace}:{q}")) for q in queues}

    def requeue_dead_workers(self) -> None:
        """Give the unacknowledged jobs of workers silent past the heartbeat timeout back
        to their queues (Redis only; ``frontdesk worker`` calls this periodically).
        """
        if isinstance(self.broker, _RedisBroker):
            self.broker.requeue_dead_workers()

    def start_worker(self, *, threads: int = 4) -> dramatiq.Worker:
        """Start worker threads in this process (the embedded demo, tests, ``frontdesk worker``)."""
        with self._lock:
            if self._worker is not None:
                return self._worker
            worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=100)
            worker.start()
            self._worker = worker
            if isinstance(self.broker, _RedisBroker):
                # Marked before this returns, so readiness sees a started worker at once.
                self.broker.client.set(self._alive_key(), b"1", px=ALIVE_TTL_MS)
                self._alive = threading.Event()
                self._alive_thread = threading.Thread(
                    target=self._say_alive, args=(self._alive,), name="worker-alive", daemon=True
                )
                self._alive_thread.start()
            return worker

    def _alive_key(self) -> str:
        assert isinstance(self.broker, _RedisBroker)
        return f"{self.broker.namespace}:{ALIVE_PREFIX}:{self.broker.broker_id}"

    def _say_alive(self, stop: threading.Event) -> None:
        """A worker process's mark in Redis, renewed while it runs (readiness reads it)."""
        assert isinstance(self.broker, _RedisBroker)
        key = self._alive_key()
        while not stop.wait(ALIVE_TTL_MS / 3000):
            try:
                self.broker.client.set(key, b"1", px=ALIVE_TTL_MS)
            except Exception as exc:  # Redis away: the mark lapses, readiness says so
                log.warning("could not renew the worker's mark: %s", exc)
        try:
            self.broker.client.delete(key)
        except Exception as exc:
            log.warning("could not remove the worker's mark: %s", exc)

    def live_workers(self) -> int:
        """Worker processes alive: this one's threads in-process, else marks in Redis."""
        if isinstance(self.broker, StubBroker):
            return 1 if self._worker is not None else 0
        assert isinstance(self.broker, _RedisBroker)
        pattern = f"{self.broker.namespace}:{ALIVE_PREFIX}:*"
        return sum(1 for _ in self.broker.client.scan_iter(match=pattern, count=500))

    def stop_worker(self) -> None:
        # Taken under the lock, stopped outside it: stopping waits for the
        # jobs in flight, and a job may need the lock (``release``): holding it
        # here would wait for that job forever.
        with self._lock:
            alive, alive_thread = self._alive, self._alive_thread
            worker = self._worker
            self._alive = self._alive_thread = self._worker = None
        if alive is not None:
            # The mark is gone when this returns.
            alive.set()
            if alive_thread is not None:
                alive_thread.join(timeout=5)
        if worker is not None:
            worker.stop()

    def join(self, timeout_ms: int = 60_000) -> None:
        """Wait until every queue is empty and the worker idle (in-process broker only).

        Queues are joined one after another, so a job may send work to a queue
        already found empty (a poll's ingest, a timer's delivery): the round is
        repeated until one finds nothing left anywhere.
        """
        assert isinstance(self.broker, StubBroker)
        while True:
            for queue in list(self.broker.queues):
                self.broker.join(queue, timeout=timeout_ms, fail_fast=True)
            if self._worker is not None:
                self._worker.join()
            if not any(q.unfinished_tasks for q in list(self.broker.queues.values())):
                return

    def close(self) -> None:
        self.stop_worker()
        self.broker.close()
