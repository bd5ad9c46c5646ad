"""Email threading end to end: mail in through the webhook, replies out to a real SMTP
server (aiosmtpd on localhost), parsed back, and the customer's answers, written as
Gmail, Outlook and Apple Mail write them, threading onto the ticket."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest

from channels.email_platform import (
    SUPPORT,
    EmailChannel,
    SmtpServer,
    mail,
    make_email_channel,
    messages_of,
    new_id,
    post_mail,
    reply,
    tickets_of,
)
from conftest import TenantUnderTest, drain
from frontdesk.runtime import Runtime

LI = "Li Wei <li.wei@example.com>"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.close()


def sent(server: SmtpServer, index: int = -1) -> EmailMessage:
    message = email.message_from_bytes(server.messages[index].data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def first_contact(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, smtp: SmtpServer
) -> tuple[str, str, str]:
    """Li writes; an agent answers. Returns (ticket id, Li's Message-ID, our reply's Message-ID)."""
    channel = await make_email_channel(
        client, tenant, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none"
    )
    original = new_id("gmail")
    raw = mail(
        f"From: {LI}\nTo: Acme Support <{SUPPORT}>\nSubject: Router drops every evening\n"
        f"Message-ID: {original}\nDate: Mon, 02 Mar 2026 09:30:00 +0800\n"
        "Content-Type: text/plain; charset=utf-8",
        "It drops at 8 pm, every day.\n",
    )
    r = await post_mail(client, channel, raw)
    assert r.status_code == 200, r.text
    await drain(worker)
    [ticket] = await tickets_of(client, tenant)
    await reply(client, tenant, ticket["id"], "Please send us the router's log.")
    await drain(worker)
    assert len(smtp.messages) == 1
    ours = sent(smtp)
    return ticket["id"], original, str(ours["Message-ID"])


async def test_a_reply_goes_out_threaded_and_carries_the_reply_token(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, smtp_server: SmtpServer
) -> None:
    _, original, ours = await first_contact(client, tenant, worker, smtp_server)
    out = sent(smtp_server)
    [ticket] = await tickets_of(client, tenant)
    assert out["In-Reply-To"] == original
    assert original in str(out["References"])
    reply_to = str(out["Reply-To"])
    assert "support+" in reply_to and "@acme.example" in reply_to
    token = reply_to.split("support+", 1)[1].split("@", 1)[0]
    assert token and token == token.lower() and token in ours
    assert ticket["number"] in str(out["Subject"])
    assert out["Auto-Submitted"] is None  # an agent's reply is not automatic
    assert smtp_server.messages[0].rcpt_tos == ["li.wei@example.com"]


def gmail_reply(ours: str, original: str, subject: str) -> bytes:
    token = ours.split(".", 2)[1]
    return mail(
        f"From: {LI}\nTo: Acme Support <support+{token}@acme.example>\nSubject: Re: {subject}\n"
        f"Message-ID: {new_id('CAGmail')}\nIn-Reply-To: {ours}\nReferences: {original} {ours}\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="000000000000abcdef"',
        "--000000000000abcdef\nContent-Type: text/plain; charset=UTF-8\n\n"
        "Here is the log.\n\nOn Mon, 2 Mar 2026 at 10:00, Acme Support <support@acme.example> "
        "wrote:\n> Please send us the router's log.\n\n"
        "--000000000000abcdef\nContent-Type: text/html; charset=UTF-8\n\n"
        '<div dir="ltr">Here is the log.</div><div class="gmail_quote">'
        "<blockquote>Please send us the router's log.</blockquote></div>\n"
        "--000000000000abcdef--\n",
    )


def outlook_reply(ours: str, subject: str) -> bytes:
    # Outlook answers the From address (no token), says RE:, and adds Thread-*.
    return mail(
        f"From: {LI}\nTo: Acme Support <{SUPPORT}>\nSubject: RE: {subject}\n"
        f"Message-ID: <AM0PR01MB{uuid.uuid4().hex[:10].upper()}"
        "@AM0PR01MB.eurprd01.prod.outlook.com>\n"
        f"In-Reply-To: {ours}\nReferences: {ours}\nThread-Topic: {subject}\n"
        "Thread-Index: AQHZabcdEFGHIJKLMNOPQ==\nX-MS-Has-Attach:\nContent-Language: en-US\n"
        "Content-Type: text/plain; charset=us-ascii",
        "Log attached tomorrow.\n\n________________________________\n"
        "From: Acme Support <support@acme.example>\nSent: Monday, March 2, 2026 10:00\n"
        "Subject: Re: Router drops every evening\n\nPlease send us the router's log.\n",
    )


def apple_reply(references: str, subject: str) -> bytes:
    # Apple Mail: References only (no In-Reply-To here), quoted with "On ... wrote:".
    return mail(
        f"From: {LI}\nTo: {SUPPORT}\nSubject: {subject}\n"
        f"Message-ID: <{uuid.uuid4().hex.upper()}@example.com>\n"
        f"References: {references}\nX-Mailer: Apple Mail (2.3731)\n"
        "Mime-Version: 1.0 (Mac OS X Mail)\n"
        "Content-Type: text/plain; charset=utf-8",
        "Sent from my Mac.\n\n> On 2 Mar 2026, at 10:00, Acme Support wrote:\n> \n> Please send.\n",
    )


@pytest.mark.parametrize("style", ["gmail", "outlook", "apple"])
async def test_replies_of_every_mail_program_thread_onto_the_ticket(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    smtp_server: SmtpServer,
    style: str,
) -> None:
    ticket_id, original, ours = await first_contact(client, tenant, worker, smtp_server)
    subject = "Router drops every evening"
    raw = {
        "gmail": lambda: gmail_reply(ours, original, subject),
        "outlook": lambda: outlook_reply(ours, subject),
        "apple": lambda: apple_reply(f"{original} {ours}", f"Re: {subject}"),
    }[style]()
    channel_url = (await client.get("/api/v1/channels", headers=tenant.admin.headers)).json()[0]
    r = await client.post(
        httpx.URL(channel_url["webhook_url"]).path,
        content=raw,
        headers={
            "content-type": "message/rfc822",
            "x-frontdesk-email-token": "whsec_email_platform_0123456789",
        },
    )
    assert r.status_code == 200, r.text
    await drain(worker)
    tickets = await tickets_of(client, tenant)
    assert [t["id"] for t in tickets] == [ticket_id]
    inbound = [
        m for m in await messages_of(client, tenant, ticket_id) if m["direction"] == "inbound"
    ]
    assert len(inbound) == 2
    reason = inbound[-1]["thread_reason"]
    assert "reply token" in reason or "In-Reply-To" in reason or "References" in reason, reason


async def test_a_changed_subject_still_threads_by_headers(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, smtp_server: SmtpServer
) -> None:
    ticket_id, original, _ = await first_contact(client, tenant, worker, smtp_server)
    channel = (await client.get("/api/v1/channels", headers=tenant.admin.headers)).json()[0]
    # Li answers their own first mail (not ours), with a new subject: only
    # In-Reply-To, matched against the stored Message-ID of the inbound mail.
    raw = mail(
        f"From: {LI}\nTo: {SUPPORT}\nSubject: Something else entirely\n"
        f"Message-ID: {new_id()}\nIn-Reply-To: {original}\n",
        "Forgot to say: it is the X200 model.\n",
    )
    r = await client.post(
        httpx.URL(channel["webhook_url"]).path,
        content=raw,
        headers={
            "content-type": "message/rfc822",
            "x-frontdesk-email-token": "whsec_email_platform_0123456789",
        },
    )
    assert r.status_code == 200, r.text
    await drain(worker)
    assert [t["id"] for t in await tickets_of(client, tenant)] == [ticket_id]
    last = (await messages_of(client, tenant, ticket_id))[-1]
    assert last["thread_reason"].startswith("In-Reply-To names a message of")


async def test_the_same_subject_from_another_sender_opens_a_new_ticket(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, smtp_server: SmtpServer
) -> None:
    ticket_id, original, ours = await first_contact(client, tenant, worker, smtp_server)
    channel = (await client.get("/api/v1/channels", headers=tenant.admin.headers)).json()[0]
    url = httpx.URL(channel["webhook_url"]).path
    headers = {
        "content-type": "message/rfc822",
        "x-frontdesk-email-token": "whsec_email_platform_0123456789",
    }
    [ticket] = await tickets_of(client, tenant)
    # Same subject, no headers.
    same_subject = mail(
        f"From: Ana <ana@example.org>\nTo: {SUPPORT}\nSubject: Router drops every evening\n"
        f"Message-ID: {new_id()}\n",
        "Mine too!\n",
    )
    # Someone else who got hold of our reply's ids, the token and the number:
    # every way is scoped to the ticket's customer.
    token = ours.split(".", 2)[1]
    hijack = mail(
        f"From: Eve <eve@example.net>\nTo: support+{token}@acme.example\n"
        f"Subject: Re: Router drops every evening [{ticket['number']}]\n"
        f"Message-ID: {new_id()}\nIn-Reply-To: {ours}\nReferences: {original} {ours}\n",
        "Let me in.\n",
    )
    for raw in (same_subject, hijack):
        r = await client.post(url, content=raw, headers=headers)
        assert r.status_code == 200, r.text
    await drain(worker)
    tickets = await tickets_of(client, tenant)
    assert len(tickets) == 3
    others = [t for t in tickets if t["id"] != ticket_id]
    assert {t["subject"] for t in others} == {
        "Router drops every evening",
        f"Re: Router drops every evening [{ticket['number']}]",
    }
    assert len(await messages_of(client, tenant, ticket_id)) == 2  # Li's and our reply


async def test_a_ticket_number_in_the_subject_threads_without_headers(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, smtp_server: SmtpServer
) -> None:
    ticket_id, _, _ = await first_contact(client, tenant, worker, smtp_server)
    [ticket] = await tickets_of(client, tenant)
    channel = (await client.get("/api/v1/channels", headers=tenant.admin.headers)).json()[0]
    raw = mail(
        f"From: {LI}\nTo: {SUPPORT}\nSubject: About [{ticket['number']}]\nMessage-ID: {new_id()}\n",
        "Any news?\n",
    )
    r = await client.post(
        httpx.URL(channel["webhook_url"]).path,
        content=raw,
        headers={
            "content-type": "message/rfc822",
            "x-frontdesk-email-token": "whsec_email_platform_0123456789",
        },
    )
    assert r.status_code == 200, r.text
    await drain(worker)
    assert [t["id"] for t in await tickets_of(client, tenant)] == [ticket_id]
    last = (await messages_of(client, tenant, ticket_id))[-1]
    assert last["thread_reason"] == f"ticket number {ticket['number']}"


@pytest.mark.parametrize("setting", ["follow_up", "reopen"])
async def test_a_reply_to_a_closed_ticket_follows_the_channel_setting(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    smtp_server: SmtpServer,
    setting: str,
) -> None:
    ticket_id, _, ours = await first_contact(client, tenant, worker, smtp_server)
    channel = (await client.get("/api/v1/channels", headers=tenant.admin.headers)).json()[0]
    r = await client.patch(
        f"/api/v1/channels/{channel['id']}",
        headers=tenant.admin.headers,
        json={"settings": {"closed_ticket_reply": setting}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["closed_ticket_reply"] == setting
    for state in ("resolved", "closed"):
        r = await client.post(
            f"/api/v1/tickets/{ticket_id}/state",
            headers=tenant.admin.headers,
            json={"state": state},
        )
        assert r.status_code == 200, r.text
    raw = outlook_reply(ours, "Router drops every evening")
    r = await post_mail(client, make_channel_ref(channel), raw)
    assert r.status_code == 200, r.text
    await drain(worker)
    tickets = {t["id"]: t for t in await tickets_of(client, tenant)}
    if setting == "reopen":
        assert list(tickets) == [ticket_id]
        assert tickets[ticket_id]["state"] == "open"
    else:
        assert len(tickets) == 2
        assert tickets[ticket_id]["state"] == "closed"
        [follow_up] = [t for t in tickets.values() if t["id"] != ticket_id]
        last = (await messages_of(client, tenant, follow_up["id"]))[-1]
        assert "follow-up of closed" in last["thread_reason"]


def make_channel_ref(channel: dict[str, str]) -> EmailChannel:
    return EmailChannel(id=channel["id"], url=httpx.URL(channel["webhook_url"]).path)
