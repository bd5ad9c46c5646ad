#!/usr/bin/env python3
"""Timer benchmark: how many timers per second the scheduler fires on PostgreSQL.

Prints figures; never asserts timings. On a database of its own (dropped
afterwards) and a Redis namespace of its own: one tenant, one ticket, and
``--timers`` reminder timers that all fall due a few seconds after
``--workers`` ``frontdesk worker`` processes have started (each runs the
scheduler and the jobs, as in production). A timer counts as fired when its
row is marked fired and its reminder is on the ticket's timeline, in one
transaction. The rate is timers over the span from the first ``fired_at``
to the last (the workers' start-up is not in it); every timer is checked to
have fired exactly once.

    python bench/timers.py
    python bench/timers.py --timers 50000 --workers 2 --threads 8 --batch 500
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import datetime as dt
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import redis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

os.environ.setdefault("FRONTDESK_INSECURE_FAST_PASSWORD_HASHING", "1")

from frontdesk.app import create_app
from frontdesk.config import Settings, normalise_database_url
from frontdesk.migrate import upgrade
from frontdesk.runtime import Runtime
from frontdesk.tickets.models import Ticket, TicketEvent
from frontdesk.timers.models import Timer
from frontdesk.timers.reminders import schedule_reminder

PG_URL = os.environ.get("FRONTDESK_BENCH_POSTGRES_URL") or os.environ.get(
    "FRONTDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("FRONTDESK_BENCH_REDIS_URL") or os.environ.get(
    "FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"
)
FRONTDESK = Path(sys.executable).parent / "frontdesk"


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_dsn(PG_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _setup(settings: Settings, count: int, lead: dt.timedelta) -> tuple[uuid.UUID, float]:
    """A tenant with one ticket and ``count`` reminders due ``lead`` from now."""
    runtime = Runtime(settings, pool_size=4)
    await runtime.start(worker=False)
    try:
        app = create_app(runtime=runtime)
        app.state.runtime = runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            slug = f"bench-{uuid.uuid4().hex[:8]}"
            r = await client.post(
                "/api/v1/signup",
                json={
                    "tenant_name": "Bench",
                    "tenant_slug": slug,
                    "admin_email": f"admin@{slug}.example.com",
                    "admin_name": "Bench",
                    "password": "correct horse battery",
                },
            )
            r.raise_for_status()
            tenant_id = uuid.UUID(r.json()["tenant_id"])
            h = {"Authorization": f"Bearer {r.json()['tokens']['access_token']}"}
            r = await client.post("/api/v1/customers", headers=h, json={"display_name": "C"})
            r.raise_for_status()
            r = await client.post(
                "/api/v1/tickets", headers=h, json={"customer_id": r.json()["id"], "subject": "T"}
            )
            r.raise_for_status()
            ticket_id = uuid.UUID(r.json()["id"])
        due = dt.datetime.now(dt.UTC) + lead
        for start in range(0, count, 5_000):
            async with runtime.db.session(tenant_id) as session:
                ticket = await session.get(Ticket, (tenant_id, ticket_id))
                assert ticket is not None
                for i in range(start, min(count, start + 5_000)):
                    schedule_reminder(session, ticket, due_at=due, note=f"n{i}")
        return tenant_id, due.timestamp()
    finally:
        await runtime.close()


async def _progress(settings: Settings, tenant_id: uuid.UUID) -> tuple[int, float, float]:
    runtime = Runtime(settings, pool_size=1)
    try:
        async with runtime.db.session(tenant_id) as session:
            row = (
                await session.execute(
                    select(func.count(), func.min(Timer.fired_at), func.max(Timer.fired_at)).where(
                        Timer.kind == "reminder", Timer.state == "fired"
                    )
                )
            ).one()
        n, first, last = row
        return int(n), first.timestamp() if first else 0.0, last.timestamp() if last else 0.0
    finally:
        await runtime.close()


async def _exactly_once(settings: Settings, tenant_id: uuid.UUID, count: int) -> bool:
    runtime = Runtime(settings, pool_size=1)
    try:
        async with runtime.db.session(tenant_id) as session:
            notes = collections.Counter(
                d["note"]
                for d in await session.scalars(
                    select(TicketEvent.data).where(TicketEvent.kind == "reminder")
                )
            )
        return len(notes) == count and set(notes.values()) == {1}
    finally:
        await runtime.close()


def main(args: argparse.Namespace) -> int:
    name = f"frontdesk_bench_{uuid.uuid4().hex[:10]}"
    namespace = f"frontdesk-bench-{uuid.uuid4().hex[:10]}"
    url = make_url(normalise_database_url(PG_URL)).set(database=name)
    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-bench-timers-"))
    settings = Settings(
        data_dir=tmp,
        database_url=url.render_as_string(hide_password=False),
        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        redis_url=REDIS_URL,
        redis_namespace=namespace,
        embedded=False,
    )
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        asyncio.run(upgrade(settings))
        tenant_id, due = asyncio.run(_setup(settings, args.timers, dt.timedelta(seconds=args.lead)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
        env.update(
            FRONTDESK_DATABASE_URL=settings.database_url,
            FRONTDESK_MASTER_KEY=settings.master_key,
            FRONTDESK_DATA_DIR=str(tmp),
            FRONTDESK_REDIS_URL=REDIS_URL,
            FRONTDESK_REDIS_NAMESPACE=namespace,
            FRONTDESK_TIMER_TICK_MS=str(args.tick_ms),
            FRONTDESK_TIMER_BATCH_SIZE=str(args.batch),
        )
        for i in range(args.workers):
            with (tmp / f"worker-{i}.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(  # noqa: S603 - our own command
                        [str(FRONTDESK), "worker", "--threads", str(args.threads)],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + args.lead + args.timeout
        fired, first, last = 0, 0.0, 0.0
        while fired < args.timers:
            if time.monotonic() > deadline:
                print(f"timed out: {fired} of {args.timers} fired; logs in {tmp}")
                return 1
            time.sleep(0.5)
            fired, first, last = asyncio.run(_progress(settings, tenant_id))
        span = max(last - first, 1e-6)
        once = asyncio.run(_exactly_once(settings, tenant_id, args.timers))
        print(
            f"{args.timers} timers, {args.workers} worker(s) x {args.threads} threads, "
            f"batch {args.batch}, tick {args.tick_ms} ms"
        )
        print(f"first fired {first - due:+.2f} s after due; span {span:.2f} s")
        print(f"fired: {args.timers / span:.0f} timers/s; each exactly once: {once}")
        return 0 if once else 1
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--timers", type=int, default=20_000)
    p.add_argument("--workers", type=int, default=2, help="`frontdesk worker` processes")
    p.add_argument("--threads", type=int, default=8, help="worker threads per process")
    p.add_argument("--batch", type=int, default=200, help="timers per claim (one job each)")
    p.add_argument("--tick-ms", type=int, default=200, help="the scheduler's tick")
    p.add_argument("--lead", type=float, default=8.0, help="seconds until the timers fall due")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait after that")
    sys.exit(main(p.parse_args()))
