"""The in-process job worker stops cleanly, whatever its jobs are doing."""

from __future__ import annotations

import asyncio
import threading

from frontdesk.config import Settings
from frontdesk.jobs import job
from frontdesk.runtime import Runtime

_started = threading.Event()
_proceed = threading.Event()


@job("test_release_while_stopping")
async def _release_while_stopping(runtime: Runtime, *, key: str) -> None:
    # As ingest_pending does: release its coalesce mark once under way.
    _started.set()
    await asyncio.to_thread(_proceed.wait, 30)
    runtime.jobs.release(key)


async def test_stopping_the_worker_waits_for_a_job_that_releases_its_mark(
    settings: Settings,
) -> None:
    # It used to deadlock: stop_worker held the jobs' lock while waiting for
    # the worker to stop, and the job in flight waited for that lock.
    _started.clear()
    _proceed.clear()
    runtime = Runtime(settings, pool_size=2)
    await runtime.start(worker=False)
    runtime.jobs.start_worker(threads=1)
    runtime.jobs.send("test_release_while_stopping", {"key": "k"})
    assert await asyncio.to_thread(_started.wait, 30), "the job never started"

    stopper = threading.Thread(target=runtime.jobs.stop_worker, daemon=True)
    stopper.start()
    # Let the stop get under way before the job goes on to release its mark.
    await asyncio.sleep(0.2)
    _proceed.set()
    await asyncio.to_thread(stopper.join, 60)
    stopped = not stopper.is_alive()
    assert stopped, "stopping the worker deadlocked with its job"
    await runtime.close()
