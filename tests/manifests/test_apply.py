"""Applying the example manifests: a working tenant from nothing, nothing changed the
second time, only what changed the next, and nothing at all when the manifest is wrong.

Each test renames the example's tenant (the session's database is shared), and
supplies the channels' secrets through the environment as an operator would.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import msgspec
import pytest
from sqlalchemy import select

from channels.email_platform import SmtpServer, mail, new_id
from channels.test_im_channels import WECOM_ENCODING_AES_KEY, WECOM_TOKEN, WeCom
from conftest import PASSWORD, drain, unique_slug
from frontdesk.app import create_app
from frontdesk.config import Settings
from frontdesk.db import tenant_tables
from frontdesk.manifests.apply import apply_manifest
from frontdesk.manifests.export import dumps, export_manifest
from frontdesk.manifests.load import LoadedManifest, ManifestError, load_manifest
from frontdesk.models import metadata
from frontdesk.runtime import Runtime
from frontdesk.tenancy.models import Tenant

TENANTS = Path(__file__).resolve().parents[2] / "tenants"
PRIYA = "priya@northwind-cloud.example.com"

# The example's WeCom app; its callbacks are built by the IM channels' tests' simulator.
CORP_ID = "ww4d2a8c0e9f1b3a57"

SECRETS = {
    "LANTING_WECOM_CORP_SECRET": "wecom-corp-secret",
    "LANTING_WECOM_TOKEN": WECOM_TOKEN,
    "LANTING_WECOM_AES_KEY": WECOM_ENCODING_AES_KEY,
    "LANTING_PHONE_AUTH_TOKEN": "twilio-auth-token-0123",
    "LANTING_EMAIL_WEBHOOK_SECRET": "lanting-email-webhook-0123456789",
    "LANTING_EMAIL_SMTP_PASSWORD": "exmail-password",
    "NORTHWIND_WEBCHAT_SECRET": "northwind-webchat-secret-0123456789",
    "NORTHWIND_SLACK_SIGNING_SECRET": "slack-signing-secret-0123456789",
    "NORTHWIND_SLACK_BOT_TOKEN": "xoxb-1234567890-abcdefghij",
    "NORTHWIND_EMAIL_WEBHOOK_SECRET": "northwind-email-webhook-0123456789",
    "NORTHWIND_EMAIL_SMTP_PASSWORD": "relay-password",
}


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


def example(name: str, slug: str, runtime: Runtime) -> tuple[str, LoadedManifest]:
    """The example's text under another tenant slug, without channels of adapters
    not installed here (the phone adapter is its own distribution)."""
    text = (TENANTS / name).read_text(encoding="utf-8")
    text = re.sub(r'(?m)^slug = "(lanting-mall|northwind-cloud)"$', f'slug = "{slug}"', text)
    blocks = text.split("\n[[channels]]\n")
    kept = [blocks[0]] + [
        b
        for b in blocks[1:]
        if re.search(r'^kind = "([a-z]+)"', b, re.M).group(1) in runtime.registry.kinds()  # type: ignore[union-attr]
    ]
    text = "\n[[channels]]\n".join(kept)
    return text, load_manifest(text, name)


async def dump(runtime: Runtime, tenant_id: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the tenant owns, table by table."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with runtime.db.session(tenant_id) as session:
        for name in tenant_tables():
            table = metadata.tables[name]
            rows = await session.execute(
                select(table).where(table.c.tenant_id == tenant_id).order_by(*table.primary_key)
            )
            out[name] = [tuple(r) for r in rows.all()]
    return out


async def tenant_id_of(runtime: Runtime, slug: str) -> uuid.UUID | None:
    async with runtime.db.session() as session:
        return await session.scalar(select(Tenant.id).where(Tenant.slug == slug))


@pytest.fixture
async def mailed(settings: Settings) -> AsyncIterator[tuple[Runtime, SmtpServer]]:
    """A runtime whose platform mail goes to a real SMTP server on localhost, jobs running."""
    server = SmtpServer()
    rt = Runtime(
        msgspec.structs.replace(
            settings, smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none"
        ),
        pool_size=4,
    )
    await rt.start(worker=False)
    rt.jobs.start_worker(threads=2)
    try:
        yield rt, server
    finally:
        await rt.close()
        server.close()


async def test_the_saas_example_builds_a_working_tenant_then_follows_its_changes(
    mailed: tuple[Runtime, SmtpServer],
    secrets_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime, smtp = mailed
    slug = unique_slug("nw")
    text, loaded = example("northwind-cloud.toml", slug, runtime)

    plan = await apply_manifest(runtime, loaded)
    assert plan.applied
    assert ("create", "tenant", slug) in [(c.op, c.what, c.name) for c in plan.changes]
    await drain(runtime)

    app = create_app(runtime=runtime)
    app.state.runtime = runtime
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # Each listed user got an invitation by mail; Priya accepts hers and signs in.
        to = {
            r.rcpt_tos[0]: message_from_bytes(r.data, policy=policy.default) for r in smtp.messages
        }
        assert set(to) == {u.email for u in loaded.manifest.users}
        body = to[PRIYA].get_body(("plain",))
        assert body is not None
        token = re.search(r"token=(\S+)", body.get_content()).group(1)  # type: ignore[union-attr]
        accepted = await client.post(
            "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD}
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["tenant"] == slug
        again = await client.post(
            "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD + "!"}
        )
        assert again.status_code == 409
        login = await client.post(
            "/api/v1/auth/login",
            json={"tenant": slug, "email": PRIYA, "password": PASSWORD},
        )
        assert login.status_code == 200, login.text
        priya = {"Authorization": f"Bearer {login.json()['access_token']}"}
        # Someone who has not accepted cannot sign in.
        tom = await client.post(
            "/api/v1/auth/login",
            json={"tenant": slug, "email": "tom@northwind-cloud.example.com", "password": PASSWORD},
        )
        assert tom.status_code == 401

        # A customer's email through the manifest's channel becomes a ticket,
        # routed by the manifest's rules (billing → accounts, tagged).
        url = httpx.URL(plan.webhooks["Support email"]).path
        raw = mail(
            f"From: Dana <dana@customer.example>\nTo: support@northwind-cloud.example.com\n"
            f"Subject: Question about my invoice\nMessage-ID: {new_id()}"
        )
        posted = await client.post(
            url,
            content=raw,
            headers={
                "content-type": "message/rfc822",
                "x-frontdesk-email-token": secrets_env["NORTHWIND_EMAIL_WEBHOOK_SECRET"],
            },
        )
        assert posted.status_code in (200, 202), posted.text
        await drain(runtime)
        teams = (await client.get("/api/v1/teams", headers=priya)).json()
        tickets = (await client.get("/api/v1/tickets", headers=priya)).json()["items"]
    assert len(tickets) == 1
    accounts = next(t["id"] for t in teams if t["slug"] == "accounts")
    assert tickets[0]["team_id"] == accounts
    assert "billing" in tickets[0]["tags"]

    await a_changed_manifest_changes_only_what_changed(runtime, text, slug, monkeypatch)


async def test_the_chinese_example_builds_a_working_tenant_twice_is_no_change_and_round_trips(
    worker: Runtime, client: httpx.AsyncClient, secrets_env: dict[str, str]
) -> None:
    runtime = worker
    slug = unique_slug("lt")
    _, loaded = example("lanting-mall.toml", slug, runtime)
    if "phone" not in runtime.registry.kinds():
        # The hotline needs the phone adapter: without it the whole manifest is
        # refused, at the channel's kind, before anything is written.
        full = (TENANTS / "lanting-mall.toml").read_text(encoding="utf-8")
        full = full.replace('slug = "lanting-mall"', f'slug = "{slug}"')
        with pytest.raises(ManifestError) as refused:
            await apply_manifest(runtime, load_manifest(full, "lanting-mall.toml"))
        line = full.splitlines().index('kind = "phone"') + 1
        assert f"lanting-mall.toml:{line}:1: channel '客服热线': no adapter of kind 'phone'" in str(
            refused.value
        )
        assert await tenant_id_of(runtime, slug) is None

    first = await apply_manifest(runtime, loaded)
    assert len(first.changes) > 10
    tenant_id = await tenant_id_of(runtime, slug)
    assert tenant_id is not None
    before = await dump(runtime, tenant_id)

    second = await apply_manifest(runtime, loaded)
    assert second.applied
    assert second.changes == []
    assert second.lines() == ["no changes"]
    assert await dump(runtime, tenant_id) == before

    # Export, then apply the export: no changes either (with the manifest's variable names).
    names = {c.name: dict(c.secret_env) for c in loaded.manifest.channels}
    exported = dumps(await export_manifest(runtime, slug, secret_names=names))
    assert "wecom-corp-secret" not in exported
    replan = await apply_manifest(runtime, load_manifest(exported, "export.toml"), dry_run=True)
    assert replan.changes == [] and replan.unlisted == []
    assert await dump(runtime, tenant_id) == before

    # Without platform mail, the links come back to the operator: 李娜 accepts hers.
    link = first.invitations["li.na@lanting-mall.example.cn"]
    token = parse_qs(urlparse(link).query)["token"][0]
    accepted = await client.post(
        "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    login = await client.post(
        "/api/v1/auth/login",
        json={"tenant": slug, "email": "li.na@lanting-mall.example.cn", "password": PASSWORD},
    )
    assert login.status_code == 200, login.text
    li_na = {"Authorization": f"Bearer {login.json()['access_token']}"}

    # A WeCom member asks to return an order: the ticket goes to after-sales.
    hook = WeCom().callback(WeCom().inner(1, "我要退货，订单号 20261202"), receive_id=CORP_ID)
    posted = await client.request(
        hook.method,
        httpx.URL(first.webhooks["企业微信客服"]).path,
        params=hook.params,
        headers=hook.headers,
        content=hook.body,
    )
    assert posted.status_code == 200, posted.text
    await drain(runtime)
    teams = (await client.get("/api/v1/teams", headers=li_na)).json()
    tickets = (await client.get("/api/v1/tickets", headers=li_na)).json()["items"]
    assert [t["channel"] for t in tickets] == ["wecom"]
    assert tickets[0]["team_id"] == next(t["id"] for t in teams if t["slug"] == "after-sales")
    assert "return" in tickets[0]["tags"]

    # The manifest's canned replies are there for 李娜, filled in for this ticket.
    replies = (await client.get("/api/v1/canned-replies", headers=li_na)).json()
    assert {r["title"] for r in replies} == {"退换货说明", "物流查询", "结束语"}
    returns = next(r["id"] for r in replies if r["title"] == "退换货说明")
    rendered = await client.get(
        f"/api/v1/tickets/{tickets[0]['id']}/canned-replies/{returns}", headers=li_na
    )
    assert rendered.status_code == 200, rendered.text
    text = rendered.json()["text"]
    assert f"关于工单 {tickets[0]['number']}" in text
    assert text.endswith("兰亭商城客服 李娜") and "{{" not in text


def changed_tables(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


async def a_changed_manifest_changes_only_what_changed(
    runtime: Runtime, text: str, slug: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the tenant ``text`` built (the SaaS example; its build is the expensive part)."""
    tenant_id = await tenant_id_of(runtime, slug)
    assert tenant_id is not None
    before = await dump(runtime, tenant_id)

    changed = (
        text.replace('name = "Site reliability"', 'name = "SRE on call"')
        .replace(
            'name = "Priya Shah"\nrole = "agent"', 'name = "Priya Shah"\nrole = "support-lead"'
        )
        .replace('"invoice", "billing"', '"invoice", "billing", "receipt"')
    )
    monkeypatch.setenv("NORTHWIND_SLACK_BOT_TOKEN", "xoxb-1234567890-rotated")
    dry = await apply_manifest(runtime, load_manifest(changed, "changed.toml"), dry_run=True)
    assert await dump(runtime, tenant_id) == before
    plan = await apply_manifest(runtime, load_manifest(changed, "changed.toml"))
    assert [str(c) for c in plan.changes] == [str(c) for c in dry.changes]
    assert [(c.op, c.what, c.name) for c in plan.changes] == [
        ("update", "team", "sre"),
        ("update", "user", "priya@northwind-cloud.example.com"),
        ("update", "routing rules", slug),
        ("update", "channel", "Shared Slack"),
    ]
    assert plan.changes[3].detail == "secret bot_token changes"
    after = await dump(runtime, tenant_id)
    assert changed_tables(before, after) == {
        "teams",
        "users",
        "routing_rules",
        "channels",
        "audit_log",
    }
    # Only the renamed team's row, only Priya's.
    assert len(set(before["teams"]) ^ set(after["teams"])) == 2
    assert len(set(before["users"]) ^ set(after["users"])) == 2
    # An error found only while applying (a channel cannot change kind) rolls
    # back what came before it in the same apply (the renamed team).
    wrong = changed.replace('name = "SRE on call"', 'name = "SRE"').replace(
        'kind = "slack"', 'kind = "webchat"'
    )
    wrong = wrong.replace(
        'signing_secret = "NORTHWIND_SLACK_SIGNING_SECRET"\n'
        'bot_token = "NORTHWIND_SLACK_BOT_TOKEN"',
        'secret = "NORTHWIND_WEBCHAT_SECRET"',
    )
    with pytest.raises(ManifestError) as kind:
        await apply_manifest(runtime, load_manifest(wrong, "wrong.toml"))
    line = wrong.splitlines().index('name = "Shared Slack"') + 2
    assert str(kind.value).startswith(f"wrong.toml:{line}:1: channel 'Shared Slack' is a slack")
    assert await dump(runtime, tenant_id) == after

    # A canned reply's new wording is that reply's row and nothing else.
    edited = changed.replace("(it works for one hour)", "(it works for two hours)")
    plan = await apply_manifest(runtime, load_manifest(edited, "edited.toml"))
    assert [str(c) for c in plan.changes] == ["~ update canned reply Password reset: body changes"]
    edited_rows = await dump(runtime, tenant_id)
    assert changed_tables(after, edited_rows) == {"canned_replies", "audit_log"}
    assert len(set(after["canned_replies"]) ^ set(edited_rows["canned_replies"])) == 2

    # A user or canned reply the manifest no longer lists is reported and kept;
    # with prune the user is deactivated and the reply deleted, and then the plan
    # is empty again.
    fewer = re.sub(
        r'\[\[canned_replies\]\]\ntitle = "Greeting"\nbody = ".*"\n\n', "", edited
    ).replace(
        '[[users]]\nemail = "grace@northwind-cloud.example.com"', '[[users]]\nemail = "x@y.example"'
    )
    plan = await apply_manifest(runtime, load_manifest(fewer, "fewer.toml"), dry_run=True)
    assert "user grace@northwind-cloud.example.com" in plan.unlisted
    assert "canned reply Greeting" in plan.unlisted
    pruned = await apply_manifest(runtime, load_manifest(fewer, "fewer.toml"), prune=True)
    assert [(c.op, c.what, c.name) for c in pruned.changes] == [
        ("create", "user", "x@y.example"),
        ("deactivate", "user", "grace@northwind-cloud.example.com"),
        ("delete", "canned reply", "Greeting"),
    ]
    again = await apply_manifest(runtime, load_manifest(fewer, "fewer.toml"), prune=True)
    assert again.changes == [] and again.unlisted == []


async def test_a_manifest_needing_a_missing_secret_changes_nothing(
    runtime: Runtime, secrets_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = unique_slug("nw")
    text, loaded = example("northwind-cloud.toml", slug, runtime)
    monkeypatch.delenv("NORTHWIND_SLACK_BOT_TOKEN")
    with pytest.raises(ManifestError) as missing:
        await apply_manifest(runtime, loaded)
    line = text.splitlines().index('bot_token = "NORTHWIND_SLACK_BOT_TOKEN"') + 1
    assert str(missing.value) == (
        f"northwind-cloud.toml:{line}:1: the environment variable NORTHWIND_SLACK_BOT_TOKEN "
        "(for 'bot_token' of channel 'Shared Slack') is not set"
    )
    assert await tenant_id_of(runtime, slug) is None
