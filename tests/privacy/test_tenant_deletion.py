"""Deleting a tenant: its keys destroyed, its rows, attachment files and Redis keys
gone, every other tenant's intact (operator CLI ``frontdesk tenants delete``)."""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import redis.asyncio as aioredis
from click.testing import CliRunner
from sqlalchemy import func, literal, select, union_all

import frontdesk.models  # noqa: F401 - every table in the metadata
from channels.email_platform import make_email_channel, post_mail
from channels.test_pipeline import make_channel, payload, post_signed
from conftest import TenantUnderTest, drain, sign_up
from frontdesk.cli import main
from frontdesk.config import Settings
from frontdesk.db import Base, create_engine
from frontdesk.quotas.limiter import RedisRateLimiter
from frontdesk.reports import rollups
from frontdesk.runtime import Runtime
from frontdesk.tenancy.models import Tenant
from frontdesk.timers.service import run_due

REDIS_URL = "redis://127.0.0.1:6379/0"


async def rows_per_table(settings: Settings, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows naming the tenant in every table that has a tenant column, counted in one
    query as the owner (past row-level security)."""
    tables = [t for t in Base.metadata.sorted_tables if "tenant_id" in t.columns]
    counts = [
        select(literal(table.name).label("name"), func.count().label("n"))
        .select_from(table)
        .where(table.c.tenant_id == tenant_id)
        for table in tables
    ]
    counts.append(
        select(literal("tenants").label("name"), func.count().label("n"))
        .select_from(Tenant)
        .where(Tenant.id == tenant_id)
    )
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(union_all(*counts))).all()
    finally:
        await engine.dispose()
    return {name: int(n) for name, n in rows}


async def populate(client: httpx.AsyncClient, runtime: Runtime) -> TenantUnderTest:
    t = await sign_up(client)
    hook = await make_channel(client, t)
    mail = await make_email_channel(client, t)
    r = await post_signed(client, hook, payload(f"m-{t.slug}", "Hello from the webhook"))
    assert r.status_code == 200, r.text
    msg = EmailMessage()
    msg["From"] = f"Someone <someone@{t.slug}.example.com>"
    msg["To"] = "support@acme.example"
    msg["Subject"] = "With a file"
    msg["Message-ID"] = f"<file-{t.slug}@example.com>"
    msg.set_content("See attached.")
    msg.add_attachment(b"file bytes", maintype="text", subtype="plain", filename="a.txt")
    r = await post_mail(client, mail, msg.as_bytes())
    assert r.status_code == 200, r.text
    # A resolved ticket: its survey link's token goes into the global survey_tokens.
    await drain(runtime)
    first = (await client.get("/api/v1/tickets", headers=t.admin.headers)).json()["items"][0]
    r = await client.post(
        f"/api/v1/tickets/{first['id']}/state", headers=t.admin.headers, json={"state": "resolved"}
    )
    assert r.status_code == 200, r.text
    await drain(runtime)
    await run_due(runtime, tenant_ids=[t.id])
    return t


async def test_deleting_a_tenant_removes_its_keys_rows_files_and_redis_keys_only(
    client: httpx.AsyncClient, worker: Runtime
) -> None:
    runtime = worker
    settings = runtime.settings
    a = await populate(client, runtime)
    b = await populate(client, runtime)
    await drain(runtime)
    for t in (a, b):
        async with runtime.db.session(t.id) as session:
            await rollups.refresh(session)
    namespace = f"frontdesk-test-{uuid.uuid4().hex[:8]}"
    limiter = RedisRateLimiter(REDIS_URL, namespace)
    redis = aioredis.Redis.from_url(REDIS_URL)
    try:
        for t in (a, b):
            assert (await limiter.hit([(f"api:{t.id}", 1)])).allowed  # held for a minute
            await redis.set(f"{namespace}:coalesce:ingest:{t.id}", b"1")

        a_rows = await rows_per_table(settings, a.id)
        b_before = await rows_per_table(settings, b.id)
        for table in ("tenant_keys", "customers", "contact_points", "tickets", "messages",
                      "ticket_events", "audit_log", "attachments", "inbound_events",
                      "channel_endpoints", "survey_tokens", "surveys", "report_rollups",
                      "report_rollup_state", "tenants"):  # fmt: skip
            assert a_rows[table] > 0, table
        files = settings.data_dir / "attachments"
        assert (files / str(a.id)).is_dir() and (files / str(b.id)).is_dir()

        env = {
            "FRONTDESK_DATABASE_URL": settings.database_url,
            "FRONTDESK_MASTER_KEY": settings.master_key,
            "FRONTDESK_DATA_DIR": str(settings.data_dir),
            "FRONTDESK_REDIS_URL": REDIS_URL,
            "FRONTDESK_REDIS_NAMESPACE": namespace,
        }
        runner = CliRunner()
        refused = await asyncio.to_thread(
            runner.invoke, main, ["tenants", "delete", a.slug], env=env
        )
        assert refused.exit_code != 0 and "--yes" in refused.output
        assert (await rows_per_table(settings, a.id)) == a_rows  # nothing happened
        done = await asyncio.to_thread(
            runner.invoke, main, ["tenants", "delete", a.slug, "--yes"], env=env
        )
        assert done.exit_code == 0, done.output
        assert "keys destroyed" in done.output

        assert {name: n for name, n in (await rows_per_table(settings, a.id)).items() if n} == {}
        assert await rows_per_table(settings, b.id) == b_before
        assert not (files / str(a.id)).exists()
        assert any((files / str(b.id)).rglob("*"))
        names = {k.decode() async for k in redis.scan_iter(match=f"{namespace}:*")}
        assert not [k for k in names if str(a.id) in k]
        assert {f"{namespace}:quota:api:{b.id}", f"{namespace}:coalesce:ingest:{b.id}"} <= names
    finally:
        async for key in redis.scan_iter(match=f"{namespace}:*"):
            await redis.delete(key)
        await redis.aclose()
        await limiter.close()

    # A's credentials open nothing; B works as before, its data still decrypts.
    r = await client.get("/api/v1/tickets", headers=a.admin.headers)
    assert r.status_code in (401, 404), r.text
    r = await client.get("/api/v1/tickets", headers=b.admin.headers)
    assert r.status_code == 200
    tickets: list[dict[str, Any]] = r.json()["items"]
    assert len(tickets) == 2
    customer = await client.get(
        f"/api/v1/customers/{tickets[0]['customer_id']}", headers=b.admin.headers
    )
    assert customer.status_code == 200 and customer.json()["contact_points"]
    # and the slug is free again
    await sign_up(client, a.slug)
