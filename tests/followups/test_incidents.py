"""Incidents (突发应急事件): link customers' tickets, post one update to all, resolve all.

The 500 linked tickets (60 on SQLite) are opened in bulk through the same service
functions the ingestion pipeline uses, on three channels and without one
(API tickets); an update must leave exactly one reply and, for a ticket
with a channel, exactly one delivery on that ticket's own channel.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import func, select

from conftest import TenantUnderTest
from frontdesk.channels.delivery import deliver
from frontdesk.channels.models import Delivery
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.identity.normalise import ContactKind
from frontdesk.identity.service import ContactRequest, resolve_contacts
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderServer
from frontdesk.tickets import service as tickets
from frontdesk.tickets.models import Message, Ticket, TicketEvent
from frontdesk.timers.models import Timer

TELEGRAM_TOKEN = "123456:incident-test-bot-token"


async def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def make_channels(
    client: httpx.AsyncClient, tenant: TenantUnderTest, provider: ProviderServer, smtp_port: int
) -> dict[str, uuid.UUID]:
    """A webhook, a Telegram bot and a mailbox, delivering to servers on localhost."""
    specs = {
        "webhook": {"secret": "s" * 24, "callback_url": f"{provider.url}/callback"},
        "telegram": {
            "bot_token": TELEGRAM_TOKEN,
            "secret_token": "incident-test-secret",
            "api_base_url": provider.url,
            "timeout_seconds": 5,
        },
        "email": {
            "from_address": "support@acme.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_security": "none",
        },
    }
    out = {}
    for kind, config in specs.items():
        body = {"kind": kind, "name": f"{kind} line", "config": config}
        made = await _ok(
            await client.post("/api/v1/channels", headers=tenant.admin.headers, json=body), 201
        )
        out[kind] = uuid.UUID(made["id"])
    return out


def plan(kinds: list[str], count: int) -> list[str]:
    """Which channel each ticket is on: every 250th and the last on none (API tickets)."""
    return [
        "api" if n % 250 == 249 or n == count - 1 else kinds[n % len(kinds)] for n in range(count)
    ]


def _contact(kind: str, n: int) -> ContactRequest:
    if kind == "email":
        return ContactRequest(kind=ContactKind.EMAIL, value=f"customer{n}@example.com")
    if kind == "telegram":
        return ContactRequest(kind=ContactKind.IM, value=str(700_000 + n), provider="telegram")
    return ContactRequest(kind=ContactKind.EMAIL, value=f"shopper{n}@example.net")


async def open_tickets_in_bulk(
    runtime: Runtime, tenant_id: uuid.UUID, channels: dict[str, uuid.UUID], count: int
) -> list[uuid.UUID]:
    """``count`` customers' tickets in one transaction, spread over the channels and
    (a few) none: as the ingestion pipeline opens a batch of them."""
    kinds = plan(list(channels), count)
    async with runtime.db.session(tenant_id) as session:
        cipher = await load_tenant_cipher(session, runtime.keyring, tenant_id)
        resolved = await resolve_contacts(
            session, cipher, [_contact(k, n) for n, k in enumerate(kinds)]
        )
        specs = []
        api_customers = []
        for kind, found in zip(kinds, resolved, strict=True):
            assert not isinstance(found, Exception)
            customer, point = found
            if kind == "api":
                api_customers.append(customer.id)
                continue
            specs.append(
                tickets.NewChannelTicket(
                    customer_id=customer.id,
                    subject="The service is down",
                    channel=kind,
                    channel_id=channels[kind],
                    contact_point_id=point.id,
                    team_id=None,
                )
            )
        opened = await tickets.open_channel_tickets(session, specs)
        ids = [t.id for t in opened]
        for customer_id in api_customers:
            ticket = await tickets.open_ticket(
                session,
                actor_user_id=None,
                customer_id=customer_id,
                subject="Logged from a phone call",
                channel="api",
            )
            ids.append(ticket.id)
    return ids


async def test_one_update_on_an_incident_with_500_linked_tickets_is_one_message_per_ticket_on_its_channel(  # noqa: E501
    backend: str,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
    runtime: Runtime,
) -> None:
    from channels.email_platform import SmtpServer

    smtp = SmtpServer()
    provider = ProviderServer()
    try:
        # 500 on the production database; the embedded one runs the same code
        # with fewer (500 there is seconds more of the suite's time).
        count = 500 if backend == "postgres" else 60
        await _incident_with(count, client, tenant, other_tenant, runtime, provider, smtp)
    finally:
        provider.close()
        smtp.close()


async def _incident_with(
    count: int,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
    runtime: Runtime,
    provider: ProviderServer,
    smtp: Any,
) -> None:
    h = tenant.users["agent"].headers
    channels = await make_channels(client, tenant, provider, smtp.port)
    linked = await open_tickets_in_bulk(runtime, tenant.id, channels, count)
    assert len(linked) == count

    customer = await _ok(
        await client.post("/api/v1/customers", headers=h, json={"display_name": "Ops"}), 201
    )
    outage = await _ok(
        await client.post(
            "/api/v1/tickets",
            headers=h,
            json={"customer_id": customer["id"], "subject": "Payments are failing"},
        ),
        201,
    )
    incident = await _ok(
        await client.post("/api/v1/incidents", headers=h, json={"ticket_id": outage["id"]}), 201
    )
    assert incident["status"] == "open" and incident["number"] == outage["number"]
    r = await client.post("/api/v1/incidents", headers=h, json={"ticket_id": outage["id"]})
    assert r.status_code == 409, r.text

    # Another tenant's ticket among them: nothing is linked at all.
    theirs = await _ok(
        await client.post(
            "/api/v1/customers", headers=other_tenant.admin.headers, json={"display_name": "B"}
        ),
        201,
    )
    their_ticket = await _ok(
        await client.post(
            "/api/v1/tickets",
            headers=other_tenant.admin.headers,
            json={"customer_id": theirs["id"], "subject": "theirs"},
        ),
        201,
    )
    url = f"/api/v1/incidents/{incident['id']}/links"
    r = await client.post(url, headers=h, json={"ticket_ids": [str(linked[0]), their_ticket["id"]]})
    assert r.status_code == 404, r.text
    r = await client.get(f"/api/v1/incidents/{incident['id']}", headers=other_tenant.admin.headers)
    assert r.status_code == 404

    done = await _ok(
        await client.post(url, headers=h, json={"ticket_ids": [str(t) for t in linked]})
    )
    assert done["newly_linked"] == count and done["incident"]["linked"] == count
    again = await _ok(await client.post(url, headers=h, json={"ticket_ids": [str(linked[0])]}))
    assert again["newly_linked"] == 0
    page = await _ok(await client.get(url, headers=h, params={"limit": min(count // 2, 200)}))
    assert len(page["items"]) == min(count // 2, 200) and page["next_cursor"]

    # One unlinked and linked again: still one link, no second reply later.
    r = await client.delete(f"{url}/{linked[1]}", headers=h)
    assert r.status_code == 204, r.text
    r = await client.delete(f"{url}/{linked[1]}", headers=h)
    assert r.status_code == 404, r.text
    await _ok(await client.post(url, headers=h, json={"ticket_ids": [str(linked[1])]}))

    waiting_before = runtime.jobs.waiting("deliver")
    text = "We have found the cause of the payment failures and are rolling out a fix."
    update = await _ok(
        await client.post(
            f"/api/v1/incidents/{incident['id']}/updates", headers=h, json={"body": text}
        ),
        201,
    )
    expected = Counter(k for k in plan(list(channels), count) if k != "api")
    with_channel = sum(expected.values())
    assert update["recipients"] == count and update["queued"] == with_channel

    async with runtime.db.session(tenant.id) as session:
        replies = Counter(
            (
                await session.scalars(
                    select(Message.ticket_id).where(
                        Message.ticket_id.in_(linked), Message.direction == "outbound"
                    )
                )
            ).all()
        )
        assert set(replies) == set(linked) and set(replies.values()) == {1}
        rows = (
            await session.execute(
                select(Delivery.ticket_id, Delivery.channel_id, Ticket.channel_id, Ticket.channel)
                .join(Ticket, Ticket.id == Delivery.ticket_id)
                .where(Delivery.ticket_id.in_(linked))
            )
        ).all()
        per_ticket = Counter(row[0] for row in rows)
        assert len(per_ticket) == with_channel and set(per_ticket.values()) == {1}
        assert all(sent_on == own for _, sent_on, own, _ in rows)
        assert Counter(kind for *_, kind in rows) == expected
        api_ids = {t for t in linked if t not in per_ticket}
        kinds = (await session.scalars(select(Ticket.channel).where(Ticket.id.in_(api_ids)))).all()
        assert set(kinds) == {"api"}
        own_events = (
            await session.scalars(
                select(TicketEvent.data).where(
                    TicketEvent.ticket_id == uuid.UUID(outage["id"]),
                    TicketEvent.kind == "incident_update_posted",
                )
            )
        ).all()
        assert [e["recipients"] for e in own_events] == [count]
        one_each = {
            kind: next(d for d, _, _, k in rows if k == kind)
            for kind in ("webhook", "telegram", "email")
        }
        delivery_ids = {
            kind: await session.scalar(select(Delivery.id).where(Delivery.ticket_id == ticket_id))
            for kind, ticket_id in one_each.items()
        }
    # A deliver job each, sent after the commit.
    assert runtime.jobs.waiting("deliver") - waiting_before == with_channel

    # Through the real adapters, and a retried (duplicated) job sends nothing twice.
    provider.accept(b'{"ok": true, "result": {"message_id": 77}}')
    for delivery_id in delivery_ids.values():
        assert delivery_id is not None
        await deliver(runtime, tenant.id, delivery_id)
        await deliver(runtime, tenant.id, delivery_id)
    sent = [r for r in provider.requests if r.method == "POST"]
    assert sorted(r.path for r in sent) == sorted(
        ["/callback", f"/bot{TELEGRAM_TOKEN}/sendMessage"]
    )
    assert all(text in r.body.decode() for r in sent)
    assert len(smtp.messages) == 1 and b"rolling out a fix" in smtp.messages[0].data
    async with runtime.db.session(tenant.id) as session:
        statuses = (
            await session.scalars(
                select(Delivery.status).where(Delivery.id.in_(list(delivery_ids.values())))
            )
        ).all()
        assert statuses == ["sent"] * 3

    # Resolving the incident resolves every linked ticket, each with its own
    # survey and follow-up on the way.
    resolved = await _ok(
        await client.post(
            f"/api/v1/incidents/{incident['id']}/resolve",
            headers=h,
            json={"body": "Payments work again. Sorry for the trouble."},
        )
    )
    assert resolved["status"] == "resolved"
    async with runtime.db.session(tenant.id) as session:
        states = Counter(
            (await session.scalars(select(Ticket.state).where(Ticket.id.in_(linked)))).all()
        )
        assert states == {"resolved": count}
        own = await session.get(Ticket, (tenant.id, uuid.UUID(outage["id"])))
        assert own is not None and own.state == "resolved"
        timers = Counter(
            (
                await session.execute(
                    select(Timer.kind, func.count())
                    .where(Timer.ticket_id.in_(linked), Timer.state == "pending")
                    .where(Timer.kind.in_(["survey", "follow_up"]))
                    .group_by(Timer.kind)
                )
            ).all()
        )
        assert timers == {("survey", count): 1, ("follow_up", count): 1}
        replies_now = Counter(
            (
                await session.scalars(
                    select(Message.ticket_id).where(
                        Message.ticket_id.in_(linked), Message.direction == "outbound"
                    )
                )
            ).all()
        )
        assert set(replies_now.values()) == {2}  # the update and the resolution note
    r = await client.post(
        f"/api/v1/incidents/{incident['id']}/updates", headers=h, json={"body": "more"}
    )
    assert r.status_code == 409
