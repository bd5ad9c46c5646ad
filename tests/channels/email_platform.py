"""Helpers for the email channel's platform tests: a channel made through the API,
raw mail posted to its webhook, and the email adapter's own corpus and servers."""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import msgspec
from sqlalchemy import func, select

# The email adapter's test helpers (its corpus, its real SMTP and IMAP servers),
# by the same path its own conftest adds.
sys.path.append(str(Path(__file__).resolve().parents[2] / "adapters" / "email" / "tests"))

from email_corpus import CASES, Case, dsn
from email_servers import IMAP_PASSWORD, IMAP_USER, ImapServer, SmtpServer, free_port, wait_for_port

from conftest import TenantUnderTest
from frontdesk.runtime import Runtime

__all__ = [
    "CASES",
    "IMAP_PASSWORD",
    "IMAP_USER",
    "SECRET",
    "SUPPORT",
    "Case",
    "EmailChannel",
    "ImapServer",
    "SmtpServer",
    "count_rows",
    "dsn",
    "free_port",
    "mail",
    "make_email_channel",
    "messages_of",
    "new_id",
    "post_mail",
    "reply",
    "tickets_of",
    "wait_for_port",
]

SECRET = "whsec_email_platform_0123456789"
SUPPORT = "support@acme.example"


class EmailChannel(msgspec.Struct):
    id: str
    url: str


async def make_email_channel(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    *,
    name: str = "support mail",
    settings: dict[str, Any] | None = None,
    **config: Any,
) -> EmailChannel:
    body = {
        "kind": "email",
        "name": name,
        "config": {
            "from_address": SUPPORT,
            "from_name": "Acme Support",
            "webhook_secret": SECRET,
            **config,
        },
        "settings": settings or {},
    }
    r = await client.post("/api/v1/channels", headers=tenant.admin.headers, json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    return EmailChannel(id=out["id"], url=httpx.URL(out["webhook_url"]).path)


async def post_mail(client: httpx.AsyncClient, channel: EmailChannel, raw: bytes) -> httpx.Response:
    return await client.post(
        channel.url,
        content=raw,
        headers={"content-type": "message/rfc822", "x-frontdesk-email-token": SECRET},
    )


def mail(headers: str, body: str = "Hello\n") -> bytes:
    """RFC 5322 with CRLF line ends, headers given one per line."""
    text = headers.strip("\n") + "\n\n" + body
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def new_id(tag: str = "m") -> str:
    return f"<{tag}-{uuid.uuid4().hex[:12]}@mail.example.com>"


async def count_rows(runtime: Runtime, tenant_id: uuid.UUID, model: Any, *where: Any) -> int:
    async with runtime.db.session(tenant_id) as session:
        stmt = select(func.count()).select_from(model)
        for clause in where:
            stmt = stmt.where(clause)
        return int(await session.scalar(stmt) or 0)


async def tickets_of(client: httpx.AsyncClient, tenant: TenantUnderTest) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/tickets?limit=100", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def messages_of(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str
) -> list[dict[str, Any]]:
    r = await client.get(
        f"/api/v1/tickets/{ticket_id}/messages?limit=200", headers=tenant.admin.headers
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def reply(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str, body: str
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        headers=tenant.admin.headers,
        json={"kind": "reply", "body": body},
    )
    assert r.status_code in (200, 201), r.text
    out: dict[str, Any] = r.json()
    return out
