"""Email against real servers on localhost, run by the platform: the SMTP listener started
from the channel's configuration receives mail sent with smtplib; IMAP polling (pymap, a
real IMAP server in a child process) through the scheduler's tick, with a lease per
channel and a durable cursor."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, update

from channels.email_platform import (
    IMAP_PASSWORD,
    IMAP_USER,
    SUPPORT,
    ImapServer,
    count_rows,
    free_port,
    mail,
    make_email_channel,
    messages_of,
    new_id,
    tickets_of,
)
from conftest import TenantUnderTest, drain
from frontdesk.channels import runner
from frontdesk.channels.models import ChannelCursor, InboundEvent, InboundRejection
from frontdesk.db import utcnow
from frontdesk.runtime import Runtime


@pytest.fixture(scope="module")
def imap_server() -> Iterator[ImapServer]:
    server = ImapServer()
    yield server
    server.close()


def send_with_smtplib(port: int, raw: bytes, rcpt: str = SUPPORT) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.sendmail("li.wei@example.com", [rcpt], raw)


async def start_listeners(runtime: Runtime, channel_id: str) -> runner.Listeners:
    """The listeners of every active channel (other tests' tenants too); waits for this one."""
    listeners = runner.Listeners(runtime)
    await listeners.sync()
    adapter = listeners.adapters[uuid.UUID(channel_id)]
    for _ in range(200):
        if getattr(adapter, "listen_address", None):
            return listeners
        await asyncio.sleep(0.02)
    raise AssertionError("the listener did not start")


async def test_the_listener_receives_mail_sent_with_smtplib(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    port = free_port()
    channel = await make_email_channel(client, tenant, listen_port=port)
    listeners = await start_listeners(worker, channel.id)
    try:
        raw = mail(
            f"From: Li Wei <li.wei@example.com>\nTo: {SUPPORT}\nSubject: Sent over SMTP\n"
            f"Message-ID: {new_id()}\n",
            "Hello by SMTP. My card is 4111 1111 1111 1111.\n",
        )
        await asyncio.to_thread(send_with_smtplib, port, raw)
        # Unreadable mail: refused with the reason (the sender's server
        # bounces it) and recorded, not lost.
        no_headers = b"just some text without any header line\r\n"
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(send_with_smtplib, port, no_headers)
        assert refused.value.smtp_code == 554
        # Not the channel's address: refused at RCPT, never relayed.
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            await asyncio.to_thread(send_with_smtplib, port, raw, "someone@elsewhere.example")
        await drain(worker)
    finally:
        await listeners.close()
    [ticket] = await tickets_of(client, tenant)
    assert ticket["subject"] == "Sent over SMTP"
    [message] = await messages_of(client, tenant, ticket["id"])
    assert "4111 1111 1111 1111" not in message["body_text"]  # masked as on the webhook
    [rejection] = (
        await _all(worker, tenant.id, InboundRejection)  # type: ignore[misc]
    )
    assert rejection.source == "listener"
    assert str(rejection.channel_id) == channel.id
    assert "header" in rejection.reason


async def test_listeners_follow_the_channels(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    port = free_port()
    channel = await make_email_channel(client, tenant, listen_port=port)
    listeners = await start_listeners(worker, channel.id)
    try:
        assert uuid.UUID(channel.id) in listeners.tasks
        r = await client.patch(
            f"/api/v1/channels/{channel.id}",
            headers=tenant.admin.headers,
            json={"is_active": False},
        )
        assert r.status_code == 200, r.text
        await listeners.sync()
        assert uuid.UUID(channel.id) not in listeners.tasks
        with pytest.raises(OSError):
            await asyncio.to_thread(send_with_smtplib, port, b"Subject: x\r\n\r\nx\r\n")
    finally:
        await listeners.close()


async def _all(runtime: Runtime, tenant_id: uuid.UUID, model: type) -> list[object]:
    async with runtime.db.session(tenant_id) as session:
        return list((await session.scalars(select(model))).all())


def imap_message(n: int) -> bytes:
    return mail(
        f"From: Customer {n} <customer{n}@example.com>\nTo: {SUPPORT}\n"
        f"Subject: Polled mail {n}\nMessage-ID: <polled-{n}-{uuid.uuid4().hex[:8]}@example.com>\n"
        "Date: Mon, 02 Mar 2026 09:30:00 +0000\n",
        f"Message number {n}.\n",
    )


async def imap_channel(
    client: httpx.AsyncClient, tenant: TenantUnderTest, imap_server: ImapServer
) -> tuple[uuid.UUID, str]:
    mailbox = f"Support {uuid.uuid4().hex[:8]}"
    imap_server.create(mailbox)
    channel = await make_email_channel(
        client,
        tenant,
        imap_host="127.0.0.1",
        imap_port=imap_server.port,
        imap_security="none",
        imap_username=IMAP_USER,
        imap_password=IMAP_PASSWORD,
        imap_mailbox=mailbox,
        imap_timeout_seconds=5.0,
        imap_batch=2,
    )
    return uuid.UUID(channel.id), mailbox


async def test_imap_polling_reads_each_message_once_across_restarts(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    imap_server: ImapServer,
) -> None:
    channel_id, mailbox = await imap_channel(client, tenant, imap_server)
    for n in range(3):
        imap_server.append(mailbox, imap_message(n))
    # The scheduler's tick sends a poll job; the job polls (a batch of 2).
    assert channel_id in await runner.schedule_polls(worker)
    await drain(worker)
    assert len(await tickets_of(client, tenant)) == 2
    first_cursor = await runner.cursor_of(worker, tenant.id, channel_id)
    assert first_cursor is not None
    # Not due again until the poll interval has passed.
    assert channel_id not in await runner.schedule_polls(worker)

    # "Restart": another process (another lease owner), from the stored cursor.
    outcome = await runner.poll_channel(
        worker, tenant.id, channel_id, owner="restarted:1", force=True
    )
    assert (outcome.polled, outcome.submitted, outcome.cursor_saved) == (True, 1, True)
    imap_server.append(mailbox, imap_message(3))
    outcome = await runner.poll_channel(
        worker, tenant.id, channel_id, owner="restarted:1", force=True
    )
    assert outcome.submitted == 1
    outcome = await runner.poll_channel(
        worker, tenant.id, channel_id, owner="restarted:1", force=True
    )
    assert outcome.submitted == 0
    await drain(worker)
    subjects = sorted(t["subject"] for t in await tickets_of(client, tenant))
    assert subjects == [f"Polled mail {n}" for n in range(4)]
    assert await count_rows(worker, tenant.id, InboundEvent) == 4


async def test_two_workers_never_poll_one_mailbox_at_once(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    imap_server: ImapServer,
) -> None:
    channel_id, mailbox = await imap_channel(client, tenant, imap_server)
    imap_server.append(mailbox, imap_message(10))
    outcomes = await asyncio.gather(
        runner.poll_channel(worker, tenant.id, channel_id, owner="worker-a", force=True),
        runner.poll_channel(worker, tenant.id, channel_id, owner="worker-b", force=True),
    )
    assert sorted(o.polled for o in outcomes) == [False, True]

    # A lease held by a worker still polling: nobody else polls until it ends
    # or expires.
    async with worker.db.session(tenant.id) as session:
        await session.execute(
            update(ChannelCursor)
            .where(ChannelCursor.channel_id == channel_id)
            .values(lease_owner="stuck", lease_until=utcnow() + runner.LEASE)
        )
    outcome = await runner.poll_channel(worker, tenant.id, channel_id, owner="c", force=True)
    assert not outcome.polled
    assert channel_id not in await runner.schedule_polls(worker)
    # The stuck poll finishing late cannot overwrite what came after it.
    async with worker.db.session(tenant.id) as session:
        await session.execute(
            update(ChannelCursor)
            .where(ChannelCursor.channel_id == channel_id)
            .values(lease_until=utcnow() - runner.LEASE)
        )
    imap_server.append(mailbox, imap_message(11))
    outcome = await runner.poll_channel(worker, tenant.id, channel_id, owner="d", force=True)
    assert (outcome.polled, outcome.submitted, outcome.cursor_saved) == (True, 1, True)
    await drain(worker)
    assert len(await tickets_of(client, tenant)) == 2


async def test_a_failed_poll_keeps_the_cursor_and_says_why(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    imap_server: ImapServer,
) -> None:
    channel_id, mailbox = await imap_channel(client, tenant, imap_server)
    imap_server.append(mailbox, imap_message(20))
    assert (await runner.poll_channel(worker, tenant.id, channel_id, force=True)).submitted == 1
    cursor = await runner.cursor_of(worker, tenant.id, channel_id)
    r = await client.patch(
        f"/api/v1/channels/{channel_id}",
        headers=tenant.admin.headers,
        json={"config": {"imap_password": "wrong-password"}},
    )
    assert r.status_code == 200, r.text
    outcome = await runner.poll_channel(worker, tenant.id, channel_id, force=True)
    assert outcome.polled and outcome.error and not outcome.cursor_saved
    assert await runner.cursor_of(worker, tenant.id, channel_id) == cursor
    async with worker.db.session(tenant.id) as session:
        row = await session.get(ChannelCursor, (tenant.id, channel_id))
        assert row is not None and row.last_error and row.lease_owner is None
    await drain(worker)  # leave nothing half-done for tests that sweep the database
    assert len(await tickets_of(client, tenant)) == 1


async def test_a_channel_without_a_mailbox_is_asked_again_only_once_it_has_one(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    imap_server: ImapServer,
) -> None:
    channel = await make_email_channel(client, tenant)
    channel_id = uuid.UUID(channel.id)
    assert channel_id in await runner.schedule_polls(worker)
    await drain(worker)
    assert channel_id not in await runner.schedule_polls(worker)
    async with worker.db.session(tenant.id) as session:
        row = await session.get(ChannelCursor, (tenant.id, channel_id))
        assert row is not None and row.next_poll_at is not None
        assert row.next_poll_at - utcnow() > runner.IDLE_RECHECK / 2

    mailbox = f"Later {uuid.uuid4().hex[:8]}"
    imap_server.create(mailbox)
    imap_server.append(mailbox, imap_message(30))
    r = await client.patch(
        f"/api/v1/channels/{channel.id}",
        headers=tenant.admin.headers,
        json={
            "config": {
                "imap_host": "127.0.0.1",
                "imap_port": imap_server.port,
                "imap_security": "none",
                "imap_username": IMAP_USER,
                "imap_password": IMAP_PASSWORD,
                "imap_mailbox": mailbox,
                "imap_timeout_seconds": 5.0,
            }
        },
    )
    assert r.status_code == 200, r.text
    assert channel_id in await runner.schedule_polls(worker)
    await drain(worker)
    [ticket] = await tickets_of(client, tenant)
    assert ticket["subject"] == "Polled mail 30"
    assert await runner.cursor_of(worker, tenant.id, channel_id) is not None
