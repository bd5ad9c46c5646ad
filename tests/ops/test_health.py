"""Liveness and readiness: the database, Redis and the workers, each reported."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
import redis

from frontdesk.app import create_app
from frontdesk.config import Settings
from frontdesk.runtime import Runtime

REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@asynccontextmanager
async def app_on(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    app.state.runtime = runtime
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        yield client


async def ready(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    r = await client.get("/readyz")
    body: dict[str, Any] = r.json()
    return r.status_code, body


async def test_embedded_readiness_reports_database_and_the_in_process_workers(
    runtime: Runtime,
) -> None:
    async with app_on(runtime) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        code, body = await ready(client)
        assert code == 200
        assert body == {
            "status": "degraded",
            "checks": {"database": "ok", "redis": "not configured", "workers": "none alive"},
        }
        runtime.jobs.start_worker(threads=1)
        code, body = await ready(client)
        assert (code, body["status"], body["checks"]["workers"]) == (200, "ok", "1 alive")


async def test_with_redis_workers_are_seen_while_they_run_and_a_lost_redis_is_unready(
    settings: Settings,
) -> None:
    namespace = f"test-ready-{uuid.uuid4().hex[:8]}"
    with_redis = msgspec.structs.replace(settings, redis_url=REDIS_URL, redis_namespace=namespace)
    runtime = Runtime(with_redis, pool_size=2)
    await runtime.start(worker=False)
    try:
        async with app_on(runtime) as client:
            code, body = await ready(client)
            assert (code, body["status"]) == (200, "degraded")
            assert body["checks"] == {"database": "ok", "redis": "ok", "workers": "none alive"}
            runtime.jobs.start_worker(threads=1)
            code, body = await ready(client)
            assert (code, body["status"], body["checks"]["workers"]) == (200, "ok", "1 alive")
            runtime.jobs.stop_worker()
            code, body = await ready(client)
            assert body["checks"]["workers"] == "none alive"
    finally:
        await runtime.close()
        r = redis.Redis.from_url(REDIS_URL)
        keys = list(r.scan_iter(match=f"{namespace}:*"))
        if keys:
            r.delete(*keys)
        r.close()

    gone = msgspec.structs.replace(settings, redis_url="redis://127.0.0.1:1/0")
    runtime = Runtime(gone, pool_size=2)
    await runtime.start(worker=False)
    try:
        async with app_on(runtime) as client:
            code, body = await ready(client)
            assert (code, body["status"]) == (503, "unavailable")
            assert body["checks"]["database"] == "ok"
            assert body["checks"]["redis"].startswith("error: ")
    finally:
        await runtime.close()
