"""Loop and noise protection end to end: acknowledgements go out marked automatic, and an
auto-reply storm gets no answer and opens no ticket beyond the first."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator

import httpx
import pytest

from channels.email_platform import (
    SUPPORT,
    SmtpServer,
    count_rows,
    mail,
    make_email_channel,
    messages_of,
    new_id,
    post_mail,
    tickets_of,
)
from conftest import TenantUnderTest, drain
from frontdesk.channels.models import Delivery
from frontdesk.runtime import Runtime

CUSTOMER = "Li Wei <li.wei@example.com>"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.close()


def out_of_office(i: int, in_reply_to: str | None) -> bytes:
    threading = f"In-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\n" if in_reply_to else ""
    return mail(
        f"From: {CUSTOMER}\nTo: {SUPPORT}\nSubject: Automatic reply: I am away ({i})\n"
        f"Message-ID: {new_id(f'ooo{i}')}\nAuto-Submitted: auto-replied\n"
        f"X-Auto-Response-Suppress: All\n{threading}",
        "I am out of the office until Monday.\n",
    )


async def test_an_auto_reply_storm_gets_no_answer_and_no_new_tickets(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, smtp_server: SmtpServer
) -> None:
    channel = await make_email_channel(
        client,
        tenant,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security="none",
        settings={"acknowledge_new_tickets": True},
    )
    # A person writes: a new ticket, acknowledged automatically.
    first = mail(
        f"From: {CUSTOMER}\nTo: {SUPPORT}\nSubject: My order\nMessage-ID: {new_id()}\n",
        "Where is my order?\n",
    )
    assert (await post_mail(client, channel, first)).status_code == 200
    await drain(worker)
    [ticket] = await tickets_of(client, tenant)
    assert len(smtp_server.messages) == 1
    ack = email.message_from_bytes(smtp_server.messages[0].data, policy=email.policy.default)
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ticket["number"] in ack.get_content()
    ack_id = str(ack["Message-ID"])
    # The agent asks something and waits for the customer (pending).
    r = await client.post(
        f"/api/v1/tickets/{ticket['id']}/state",
        headers=tenant.admin.headers,
        json={"state": "pending"},
    )
    assert r.status_code == 200, r.text

    # Their autoresponder answers the acknowledgement, and goes on answering
    # whatever comes back: 50 out-of-office mails, half threaded on our last
    # mail, half with no threading headers at all (and a new subject each).
    for i in range(50):
        raw = out_of_office(i, ack_id if i % 2 == 0 else None)
        assert (await post_mail(client, channel, raw)).status_code == 200
    await drain(worker)

    tickets = await tickets_of(client, tenant)
    assert [t["id"] for t in tickets] == [ticket["id"]]
    assert tickets[0]["state"] == "pending"  # an out-of-office reply is no answer
    assert len(smtp_server.messages) == 1  # nothing answered the storm
    assert await count_rows(worker, tenant.id, Delivery) == 1
    messages = await messages_of(client, tenant, ticket["id"])
    inbound = [m for m in messages if m["direction"] == "inbound"]
    assert len(inbound) == 51
    assert all(m["automatic"] for m in inbound[1:])
    assert inbound[0]["automatic"] is None
    outbound = [m for m in messages if m["direction"] == "outbound"]
    assert [m["automatic"] for m in outbound] == ["automatic"]


async def test_a_storm_that_starts_with_an_auto_reply_opens_one_ticket(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, smtp_server: SmtpServer
) -> None:
    channel = await make_email_channel(
        client,
        tenant,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security="none",
        settings={"acknowledge_new_tickets": True},
    )
    for i in range(50):
        assert (await post_mail(client, channel, out_of_office(i, None))).status_code == 200
    await drain(worker)
    tickets = await tickets_of(client, tenant)
    assert len(tickets) == 1
    assert smtp_server.messages == []  # not even an acknowledgement
    assert len(await messages_of(client, tenant, tickets[0]["id"])) == 50


async def test_a_sender_over_the_rate_limit_is_treated_as_automatic(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, smtp_server: SmtpServer
) -> None:
    # An autoresponder that says nothing about being one: only the rate gives it away.
    channel = await make_email_channel(
        client,
        tenant,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security="none",
        settings={
            "acknowledge_new_tickets": True,
            "sender_rate_limit": 3,
            "sender_rate_window_minutes": 60,
        },
    )
    for i in range(12):
        raw = mail(
            f"From: {CUSTOMER}\nTo: {SUPPORT}\nSubject: Ticket request {i}\n"
            f"Message-ID: {new_id()}\n",
            "Please help.\n",
        )
        assert (await post_mail(client, channel, raw)).status_code == 200
        # One at a time, so which messages are over the limit is deterministic.
        await drain(worker)
    tickets = await tickets_of(client, tenant)
    assert len(tickets) == 3
    assert len(smtp_server.messages) == 3  # the three under the limit were acknowledged
    later = [
        m
        for t in tickets
        for m in await messages_of(client, tenant, t["id"])
        if m["direction"] == "inbound" and m["automatic"]
    ]
    assert len(later) == 9
    assert all(m["automatic"].startswith("rate limit") for m in later)
