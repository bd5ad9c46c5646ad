"""Quotas as tenants and operators meet them: 429 with Retry-After past a limit,
nothing stored for a refused inbound request, usage readable, limits set by the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from email.message import EmailMessage

import httpx
import pytest
from click.testing import CliRunner

from channels.email_platform import make_email_channel, post_mail
from channels.test_pipeline import make_channel, payload, post_signed
from conftest import TenantUnderTest, add_user, drain, sign_up
from frontdesk.attachments.models import StoredAttachment
from frontdesk.channels.models import InboundEvent
from frontdesk.cli import main
from frontdesk.clock import Clock
from frontdesk.config import Settings
from frontdesk.quotas.limiter import LocalRateLimiter, RedisRateLimiter
from frontdesk.quotas.service import LimitChanges, set_limits
from frontdesk.runtime import Runtime

REDIS_URL = "redis://127.0.0.1:6379/0"


async def limit(runtime: Runtime, tenant: TenantUnderTest, **changes: int | None) -> None:
    async with runtime.db.session(tenant.id) as session:
        await set_limits(session, runtime.settings, LimitChanges(**changes))
    runtime.quotas.forget_limits(tenant.id)


def assert_rate_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/rate-limited")
    assert 1 <= int(r.headers["retry-after"]) <= 60


async def test_api_requests_past_the_tenant_or_token_limit_get_429_with_retry_after(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    a = await sign_up(client)
    b = await sign_up(client)
    agent = await add_user(client, a, "agent", teams=["front-line"])
    await limit(runtime, a, api_per_minute=6, token_api_per_minute=4)
    for _ in range(4):
        assert (await client.get("/api/v1/tickets", headers=a.admin.headers)).status_code == 200
    # the admin's own token is spent; the tenant has room for another caller
    assert_rate_limited(await client.get("/api/v1/tickets", headers=a.admin.headers))
    for _ in range(2):
        assert (await client.get("/api/v1/tickets", headers=agent.headers)).status_code == 200
    # now the whole tenant is spent, whoever asks
    assert_rate_limited(await client.get("/api/v1/tickets", headers=agent.headers))
    # another tenant is untouched
    assert (await client.get("/api/v1/tickets", headers=b.admin.headers)).status_code == 200
    # a refused request wrote nothing: a customer created over the limit does not exist
    r = await client.post(
        "/api/v1/customers", headers=agent.headers, json={"display_name": "Over Limit"}
    )
    assert_rate_limited(r)
    await limit(runtime, a, api_per_minute=0, token_api_per_minute=0)
    r = await client.get("/api/v1/customers", headers=a.admin.headers)
    assert r.status_code == 200
    assert "Over Limit" not in r.text


async def test_inbound_messages_past_the_limit_get_429_and_nothing_is_stored(
    client: httpx.AsyncClient, runtime: Runtime, tenant: TenantUnderTest
) -> None:
    channel = await make_channel(client, tenant)
    await limit(runtime, tenant, inbound_per_minute=3)
    for n in range(3):
        r = await post_signed(client, channel, payload(f"m-{n}", f"message {n}"))
        assert r.status_code == 200, r.text
    refused = await post_signed(client, channel, payload("m-3", "one too many"))
    assert_rate_limited(refused)
    # a bad signature is still refused as such, whatever the quota
    r = await post_signed(client, channel, payload("m-4", "forged"), secret="not-the-secret")
    assert r.status_code == 401
    async with runtime.db.session(tenant.id) as session:
        from sqlalchemy import select

        stored = sorted((await session.scalars(select(InboundEvent.external_id))).all())
    assert stored == ["m-0", "m-1", "m-2"]

    r = await client.get("/api/tenant/usage", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    usage = r.json()
    assert usage["inbound_messages_per_minute"] == {"used": 3, "limit": 3}
    assert usage["api_requests_per_minute"]["limit"] == runtime.settings.quota_api_per_minute
    assert usage["attachment_bytes"] == {
        "used": 0,
        "limit": runtime.settings.quota_storage_bytes,
    }
    # the tenant admin reads it; an agent does not
    r = await client.get("/api/v1/tenant/usage", headers=tenant.users["agent"].headers)
    assert r.status_code == 403


def _mail_with_attachment(message_id: str, content: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Li Wei <li.wei@example.com>"
    msg["To"] = "support@acme.example"
    msg["Subject"] = "Invoice attached"
    msg["Message-ID"] = message_id
    msg.set_content("Please see the attached invoice.")
    msg.add_attachment(content, maintype="application", subtype="pdf", filename="invoice.pdf")
    return msg.as_bytes()


async def test_attachments_past_the_storage_quota_are_refused_and_the_message_lands(
    client: httpx.AsyncClient, worker: Runtime
) -> None:
    tenant = await sign_up(client)
    channel = await make_email_channel(client, tenant)
    await limit(worker, tenant, storage_bytes=1_500)
    first = await post_mail(
        client, channel, _mail_with_attachment("<a-1@example.com>", b"x" * 1000)
    )
    assert first.status_code == 200, first.text
    second = await post_mail(
        client, channel, _mail_with_attachment("<a-2@example.com>", b"y" * 1000)
    )
    assert second.status_code == 200, second.text
    await drain(worker)
    async with worker.db.session(tenant.id) as session:
        from sqlalchemy import select

        rows = (await session.scalars(select(StoredAttachment))).all()
    assert sorted(r.status for r in rows) == ["refused", "stored"]
    [refused] = [r for r in rows if r.status == "refused"]
    assert "storage quota" in (refused.refused_reason or "")
    assert refused.message_id is not None  # its message landed all the same
    r = await client.get("/api/v1/tenant/usage", headers=tenant.admin.headers)
    assert r.json()["attachment_bytes"] == {"used": 1000, "limit": 1_500}


async def test_operator_sets_limits_with_the_cli(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    t = await sign_up(client)
    env = {
        "FRONTDESK_DATABASE_URL": settings.database_url,
        "FRONTDESK_MASTER_KEY": settings.master_key,
        "FRONTDESK_DATA_DIR": str(settings.data_dir),
    }
    runner = CliRunner()
    args = ["tenants", "limits", t.slug, "--api-per-minute", "2", "--inbound-per-minute", "0"]
    result = await asyncio.to_thread(runner.invoke, main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "api-per-minute         2" in result.output
    assert "inbound-per-minute     no limit" in result.output
    runtime.quotas.forget_limits(t.id)
    await client.get("/api/v1/tickets", headers=t.admin.headers)
    await client.get("/api/v1/tickets", headers=t.admin.headers)
    assert_rate_limited(await client.get("/api/v1/tickets", headers=t.admin.headers))
    result = await asyncio.to_thread(
        runner.invoke, main, ["tenants", "limits", t.slug, "--default", "api-per-minute"], env=env
    )
    assert result.exit_code == 0, result.output
    assert f"api-per-minute         {settings.quota_api_per_minute}" in result.output
    result = await asyncio.to_thread(
        runner.invoke, main, ["tenants", "limits", "no-such-tenant"], env=env
    )
    assert result.exit_code != 0 and "no such tenant" in result.output


@pytest.mark.parametrize("backend", ["redis"])
async def test_the_redis_limiter_is_atomic_over_several_keys(backend: str) -> None:
    limiter = RedisRateLimiter(REDIS_URL, f"frontdesk-test-{uuid.uuid4().hex[:8]}")
    try:
        tenant = str(uuid.uuid4())
        keys = [(f"api:{tenant}", 3), (f"api-token:{tenant}:x", 2)]
        assert (await limiter.hit(keys)).allowed
        assert (await limiter.hit(keys)).allowed
        refused = await limiter.hit(keys)
        assert not refused.allowed and 1 <= refused.retry_after <= 60
        # the refusal charged neither key: the tenant key has one left for another token
        assert await limiter.used(f"api:{tenant}", 3) == 2
        assert (await limiter.hit([(f"api:{tenant}", 3), (f"api-token:{tenant}:y", 2)])).allowed
        assert not (await limiter.hit([(f"api:{tenant}", 3)])).allowed
        assert await limiter.forget(tenant) == 3
        assert await limiter.used(f"api:{tenant}", 3) == 0
    finally:
        await limiter.close()


@pytest.mark.parametrize("backend", ["embedded"])
async def test_the_embedded_limiter_refills_as_the_platform_clock_moves(
    backend: str, clock: Clock
) -> None:
    limiter = LocalRateLimiter()
    key = [(f"api:{uuid.uuid4()}", 2)]  # one request per 30 s, bursts of two
    assert (await limiter.hit(key)).allowed
    assert (await limiter.hit(key)).allowed
    refused = await limiter.hit(key)
    assert not refused.allowed and refused.retry_after == 30
    clock.advance(dt.timedelta(seconds=29))
    assert not (await limiter.hit(key)).allowed
    clock.advance(dt.timedelta(seconds=1))
    assert await limiter.used(key[0][0], 2) == 1
    assert (await limiter.hit(key)).allowed
    assert not (await limiter.hit(key)).allowed
    clock.advance(dt.timedelta(minutes=1))
    assert await limiter.used(key[0][0], 2) == 0
    # The clock moved back (a test sets it; an NTP step): nobody is locked out for it.
    assert (await limiter.hit(key)).allowed
    assert (await limiter.hit(key)).allowed
    clock.advance(-dt.timedelta(days=5))
    assert await limiter.used(key[0][0], 2) == 0
    assert (await limiter.hit(key)).allowed
