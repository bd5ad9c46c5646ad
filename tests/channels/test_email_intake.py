"""Email in through the platform: the adapter's whole corpus end to end, attachments
stored apart and encrypted, bounces marking addresses failing, refusals recorded."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

import httpx
import msgspec
import pytest
from sqlalchemy import select

from channels.email_platform import (
    CASES,
    SECRET,
    SUPPORT,
    SmtpServer,
    count_rows,
    dsn,
    mail,
    make_email_channel,
    messages_of,
    new_id,
    post_mail,
    reply,
    tickets_of,
)
from conftest import TenantUnderTest, drain, sign_up
from frontdesk.attachments import service as attachments
from frontdesk.attachments.models import StoredAttachment
from frontdesk.channels import ChannelContext
from frontdesk.channels.models import InboundEvent, InboundRejection
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.runtime import Runtime
from frontdesk.testing import make_request
from frontdesk_email import EmailAdapter, EmailConfig

MIB = 1024 * 1024


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.close()


async def test_the_whole_corpus_lands_as_messages_or_recorded_rejections(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    assert len(CASES) >= 50
    channel = await make_email_channel(client, tenant)
    refused: dict[str, str] = {}
    accepted: list[str] = []
    for case in CASES:
        r = await post_mail(client, channel, case.raw)
        if case.expect == "malformed":
            assert r.status_code == 400, (case.name, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            refused[hashlib.sha256(case.raw).hexdigest()] = case.name
        else:
            assert r.status_code == 200, (case.name, r.status_code, r.text[:300])
            accepted.append(case.name)
    await drain(worker)
    async with worker.db.session(tenant.id) as session:
        events = (await session.scalars(select(InboundEvent))).all()
        rejections = (await session.scalars(select(InboundRejection))).all()
    # Nothing left half-done: every stored item was ingested (or, for an
    # address that cannot be a contact point, failed with its reason).
    assert {e.status for e in events} <= {"processed", "failed"}
    assert all(e.error for e in events if e.status == "failed")
    assert {r.digest for r in rejections} == set(refused)
    assert all(r.reason for r in rejections)
    listed = await client.get(
        f"/api/v1/channels/{channel.id}/rejections?limit=200", headers=tenant.admin.headers
    )
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == len(refused)
    assert {r["source"] for r in listed.json()["items"]} == {"webhook"}
    # Every message and event the adapter finds in the accepted mail is there,
    # once; every message became a message on a ticket.
    expected: set[str] = set()
    adapter = EmailAdapter(
        msgspec.convert({"from_address": SUPPORT, "webhook_secret": SECRET}, EmailConfig),
        ChannelContext(
            channel_id=channel.id, webhook_url="http://x/hooks/x", public_url="http://x"
        ),
    )
    for case in CASES:
        if case.expect != "malformed":
            request = make_request(case.raw, headers={"content-type": "message/rfc822"})
            parsed = await adapter.parse(request)
            expected |= {m.external_id for m in parsed.messages}
            expected |= {e.external_id for e in parsed.events}
    assert {e.external_id for e in events} == expected
    failed = [e for e in events if e.status == "failed"]
    # The one sender the identity domain cannot take yet (an internationalised
    # address, RFC 6531) is kept as a failed event with the reason.
    assert [e.error for e in failed] == ["not an email address: '用户@例子.中国'"]
    messages = [e for e in events if e.kind == "message" and e.status == "processed"]
    assert all(e.message_id is not None for e in messages)
    assert await tickets_of(client, tenant)


async def test_a_twenty_megabyte_attachment_arrives_and_is_stored_encrypted(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    channel = await make_email_channel(
        client, tenant, max_attachment_bytes=30 * MIB, settings={"max_attachment_bytes": 30 * MIB}
    )
    payload = bytes(range(256)) * (20 * MIB // 256)
    raw = _with_attachment(payload, "backup.zip")
    assert len(raw) > 2_000_000 * 10  # far over the platform's default body limit
    r = await post_mail(client, channel, raw)
    assert r.status_code == 200, r.text
    await drain(worker)
    [ticket] = await tickets_of(client, tenant)
    [message] = await messages_of(client, tenant, ticket["id"])
    [listed] = message["attachments"]
    assert (listed["filename"], listed["size"], listed["status"]) == (
        "backup.zip",
        len(payload),
        "stored",
    )
    async with worker.db.session(tenant.id) as session:
        cipher = await load_tenant_cipher(session, worker.keyring, tenant.id)
        row, data = await attachments.read_content(
            session, worker.attachments, cipher, uuid.UUID(listed["id"])
        )
        event = await session.scalar(select(InboundEvent))
    assert data == payload and row.sha256 == hashlib.sha256(payload).hexdigest()
    # Outside the encrypted payload, and not in the clear on disk.
    assert event is not None and len(event.payload_encrypted) < 100_000
    on_disk = worker.attachments.read(tenant.id, row.id)  # type: ignore[attr-defined]
    assert payload[:4096] not in on_disk


async def test_over_the_channels_limit_the_message_lands_and_the_attachment_is_refused(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    channel = await make_email_channel(client, tenant, settings={"max_attachment_bytes": 1000})
    raw = _with_attachment(b"x" * 5000, "photo.jpg", small=b"tiny")
    assert (await post_mail(client, channel, raw)).status_code == 200
    await drain(worker)
    [ticket] = await tickets_of(client, tenant)
    [message] = await messages_of(client, tenant, ticket["id"])
    assert message["body_text"].startswith("See attached")
    statuses = [(a["filename"], a["status"]) for a in message["attachments"]]
    assert statuses == [("photo.jpg", "refused"), ("note.txt", "stored")]
    assert "limit of 1000 bytes" in message["attachments"][0]["refused_reason"]
    # Agents download it (as a download, whatever it claims to be); another
    # tenant, or another ticket's path, gets 404.
    stored = message["attachments"][1]
    path = f"/api/v1/tickets/{ticket['id']}/attachments/{stored['id']}"
    r = await client.get(path, headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    assert r.content == b"tiny"
    assert r.headers["content-type"] == "application/octet-stream"
    assert "note.txt" in r.headers["content-disposition"]
    refused = message["attachments"][0]["id"]
    r = await client.get(
        f"/api/v1/tickets/{ticket['id']}/attachments/{refused}", headers=tenant.admin.headers
    )
    assert r.status_code == 404
    stranger = await sign_up(client)
    r = await client.get(path, headers=stranger.admin.headers)
    assert r.status_code == 404
    # A redelivery stores nothing twice.
    assert (await post_mail(client, channel, raw)).status_code == 200
    await drain(worker)
    assert await count_rows(worker, tenant.id, StoredAttachment) == 2


async def test_a_bounce_marks_the_address_failing_and_lands_on_the_ticket(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, smtp_server: SmtpServer
) -> None:
    channel = await make_email_channel(
        client, tenant, smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none"
    )
    raw = mail(
        f"From: Li Wei <li.wei@example.com>\nTo: {SUPPORT}\nSubject: Refund\n"
        f"Message-ID: {new_id()}\n",
        "Please refund.\n",
    )
    assert (await post_mail(client, channel, raw)).status_code == 200
    await drain(worker)
    [ticket] = await tickets_of(client, tenant)
    await reply(client, tenant, ticket["id"], "Done.")
    await drain(worker)
    deliveries = await client.get(
        f"/api/v1/tickets/{ticket['id']}/deliveries", headers=tenant.admin.headers
    )
    [sent] = deliveries.json()
    assert sent["status"] == "sent"

    bounce = dsn(("li.wei@example.com", "failed", "5.1.1"), original=sent["external_id"])
    assert (await post_mail(client, channel, bounce)).status_code == 200
    await drain(worker)

    assert len(await tickets_of(client, tenant)) == 1  # a bounce opens no ticket
    customer = await client.get(
        f"/api/v1/customers/{ticket['customer_id']}", headers=tenant.admin.headers
    )
    [point] = customer.json()["contact_points"]
    assert point["status"] == "failing"
    assert point["failure_reason"].startswith("5.1.1")
    assert "li.wei" not in point["failure_reason"]
    events = await client.get(
        f"/api/v1/tickets/{ticket['id']}/events?limit=100", headers=tenant.admin.headers
    )
    kinds = [e["kind"] for e in events.json()["items"]]
    assert "delivery_bounced" in kinds
    deliveries = await client.get(
        f"/api/v1/tickets/{ticket['id']}/deliveries", headers=tenant.admin.headers
    )
    assert deliveries.json()[0]["status"] == "bounced"

    # Writing again from the address shows it works.
    again = mail(
        f"From: li.wei@example.com\nTo: {SUPPORT}\nSubject: Re: Refund [{ticket['number']}]\n"
        f"Message-ID: {new_id()}\n",
        "Thanks!\n",
    )
    assert (await post_mail(client, channel, again)).status_code == 200
    await drain(worker)
    customer = await client.get(
        f"/api/v1/customers/{ticket['customer_id']}", headers=tenant.admin.headers
    )
    assert customer.json()["contact_points"][0]["status"] == "ok"


async def test_a_bounce_of_an_unknown_message_is_kept_and_harmless(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    channel = await make_email_channel(client, tenant)
    r = await post_mail(client, channel, dsn(("nobody@example.com", "failed", "5.1.1")))
    assert r.status_code == 200
    await drain(worker)
    assert await tickets_of(client, tenant) == []
    async with worker.db.session(tenant.id) as session:
        [event] = (await session.scalars(select(InboundEvent))).all()
    assert event.status == "processed"


async def test_an_oversized_body_is_refused_for_other_channels(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    r = await client.post(
        "/api/v1/channels",
        headers=tenant.admin.headers,
        json={"kind": "webhook", "name": "shop", "config": {"secret": "s" * 32}},
    )
    assert r.status_code == 201, r.text
    url = httpx.URL(r.json()["webhook_url"]).path
    big = await client.post(url, content=b"x" * (worker.settings.max_body_bytes + 10))
    assert big.status_code == 413
    assert big.headers["content-type"].startswith("application/problem+json")


def _with_attachment(content: bytes, filename: str, *, small: bytes | None = None) -> bytes:
    import base64

    parts = [
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n",
        f'--b\r\nContent-Type: application/octet-stream; name="{filename}"\r\n'
        f'Content-Disposition: attachment; filename="{filename}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(content).decode().replace("\n", "\r\n"),
    ]
    if small is not None:
        parts.append(
            '--b\r\nContent-Type: text/plain; name="note.txt"\r\n'
            'Content-Disposition: attachment; filename="note.txt"\r\n\r\n' + small.decode() + "\r\n"
        )
    head = (
        f"From: Li Wei <li.wei@example.com>\r\nTo: {SUPPORT}\r\nSubject: Files\r\n"
        f"Message-ID: {new_id()}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    )
    return (head + "".join(parts) + "--b--\r\n").encode()


async def test_bad_channel_settings_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    for settings in (
        {"closed_ticket_reply": "maybe"},
        {"sender_rate_limit": 0},
        {"max_attachment_bytes": 10**12},
        {"no_such_setting": True},
    ):
        r = await client.post(
            "/api/v1/channels",
            headers=tenant.admin.headers,
            json={
                "kind": "email",
                "name": "bad",
                "config": {"from_address": SUPPORT},
                "settings": settings,
            },
        )
        assert r.status_code == 400, (settings, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    listed = await client.get("/api/v1/channels", headers=tenant.admin.headers)
    assert listed.json() == []
    channel = await make_email_channel(client, tenant, settings={"sender_rate_limit": 5})
    r = await client.patch(
        f"/api/v1/channels/{channel.id}",
        headers=tenant.admin.headers,
        json={"name": "renamed", "settings": {"closed_ticket_reply": "never"}},
    )
    assert r.status_code == 400, r.text
    after = (
        await client.get(f"/api/v1/channels/{channel.id}", headers=tenant.admin.headers)
    ).json()
    assert after["name"] == "support mail"
    assert after["settings"]["sender_rate_limit"] == 5
    assert after["settings"]["closed_ticket_reply"] == "follow_up"
