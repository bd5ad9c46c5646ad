"""A reply on another of the customer's linked channels: the customer wrote through
one channel, the agent answers through another, to another of their contact points;
the reply stays on the same ticket, with its channel. Bad choices are refused with
problem details and nothing is queued.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from channels.test_pipeline import make_channel, messages_of, payload, post_signed
from conftest import TenantUnderTest, drain, sign_up
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderServer
from frontdesk.tickets import service as tickets

PHONE = "+8613812345678"


async def test_an_agent_replies_by_another_channel_to_another_contact_point(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    admin = tenant.admin.headers
    agent = tenant.users["agent"].headers
    with ProviderServer() as shop_provider, ProviderServer() as sms_provider:
        shop = await make_channel(client, tenant, name="shop", callback_url=shop_provider.url)
        sms = await make_channel(client, tenant, name="sms gateway", callback_url=sms_provider.url)
        r = await post_signed(client, shop, payload("m-1", "The router drops every evening."))
        assert r.status_code == 200, r.text
        await drain(worker)
        ticket = (await client.get("/api/v1/tickets", headers=admin)).json()["items"][0]
        phone = await client.post(
            f"/api/v1/customers/{ticket['customer_id']}/contact-points",
            headers=admin,
            json={"kind": "phone", "value": PHONE},
        )
        assert phone.status_code == 201, phone.text
        url = f"/api/v1/tickets/{ticket['id']}/messages"

        async def reply(headers: dict[str, str], **route: Any) -> httpx.Response:
            return await client.post(
                url, headers=headers, json={"kind": "reply", "body": "Texting you.", **route}
            )

        r = await reply(agent, channel_id=sms.id, contact_point_id=phone.json()["id"])
        assert r.status_code == 201, r.text
        assert r.json()["channel_id"] == sms.id and r.json()["channel"] == "webhook"
        await drain(worker)
        # Through the chosen channel's adapter, to the phone number; not the shop's.
        assert shop_provider.requests == []
        sent = [req.json() for req in sms_provider.requests]
        assert [(s["recipient"]["kind"], s["recipient"]["value"], s["text"]) for s in sent] == [
            ("phone", PHONE, "Texting you.")
        ]
        assert sent[0]["ticket_number"] == ticket["number"]
        replies = [
            m
            for m in await messages_of(client, tenant, ticket["id"])
            if m["direction"] == "outbound"
        ]
        assert [(m["channel_id"], m["delivery"]) for m in replies] == [(sms.id, "sent")]
        events = (await client.get(f"{url[:-9]}/events", headers=admin)).json()["items"]
        added = [e for e in events if e["kind"] == "reply_added"]
        assert added[0]["data"]["channel_id"] == sms.id
        # The customer's answer on that channel (one running conversation per
        # customer on chat-like channels) finds this ticket, not a new one.
        async with worker.db.session(tenant.id) as session:
            latest = await tickets.latest_ticket_on_channel(
                session,
                customer_id=uuid.UUID(ticket["customer_id"]),
                channel_id=uuid.UUID(sms.id),
            )
        assert latest is not None and str(latest.id) == ticket["id"]

        # A plain reply still goes on the ticket's own channel, to the customer's email.
        r = await reply(agent)
        assert r.status_code == 201, r.text
        await drain(worker)
        assert [req.json()["recipient"]["kind"] for req in shop_provider.requests] == ["email"]

        # Bad choices: problem details, and nothing written or queued.
        other = await client.post(
            "/api/v1/customers",
            headers=admin,
            json={
                "display_name": "Someone else",
                "contacts": [{"kind": "phone", "value": "+8613900000000"}],
            },
        )
        assert other.status_code == 201, other.text
        email_channel = await client.post(
            "/api/v1/channels",
            headers=admin,
            json={
                "kind": "email",
                "name": "mail",
                "config": {"from_address": "support@acme.example", "webhook_secret": "s" * 24},
            },
        )
        assert email_channel.status_code == 201, email_channel.text
        elsewhere = await sign_up(client)
        theirs = await make_channel(client, elsewhere, name="theirs")
        phone_id = phone.json()["id"]
        # A role that may reply but not read customers cannot pick another contact point.
        role = await client.post(
            "/api/v1/roles",
            headers=admin,
            json={
                "name": "replier",
                "permissions": ["tickets.read", "tickets.read_all", "tickets.reply"],
            },
        )
        assert role.status_code == 201, role.text
        token = await client.post(
            "/api/v1/api-tokens", headers=admin, json={"name": "bot", "role": "replier"}
        )
        assert token.status_code == 201, token.text
        replier = {"Authorization": f"Bearer {token.json()['token']}"}
        refused = [
            (
                400,
                agent,
                {"channel_id": sms.id, "contact_point_id": other.json()["contact_points"][0]["id"]},
            ),
            (400, agent, {"channel_id": email_channel.json()["id"], "contact_point_id": phone_id}),
            (404, agent, {"channel_id": theirs.id, "contact_point_id": phone_id}),
            (404, agent, {"channel_id": "00000000-0000-0000-0000-000000000000"}),
            (403, replier, {"channel_id": sms.id, "contact_point_id": phone_id}),
        ]
        r = await client.patch(
            f"/api/v1/channels/{sms.id}", headers=admin, json={"is_active": False}
        )
        assert r.status_code == 200, r.text
        refused.append((409, agent, {"channel_id": sms.id, "contact_point_id": phone_id}))
        for status, headers, route in refused:
            r = await reply(headers, **route)
            assert r.status_code == status, (route, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        note = await client.post(
            url, headers=agent, json={"kind": "note", "body": "x", "channel_id": sms.id}
        )
        assert note.status_code == 400, note.text
        await drain(worker)
        assert len(sms_provider.requests) == 1 and len(shop_provider.requests) == 1
        bodies = [m["body_text"] for m in await messages_of(client, tenant, ticket["id"])]
        assert bodies.count("Texting you.") == 2 and "x" not in bodies


def test_which_channel_reaches_which_contact_point(runtime: Runtime) -> None:
    """The rule the picker and the API share, over the installed adapters."""
    from frontdesk.channels.delivery import unreachable
    from frontdesk.channels.models import ChannelInstance
    from frontdesk.identity.models import ContactPoint
    from frontdesk.tickets.models import Ticket

    ids = {name: uuid.uuid4() for name in ("chat", "visitor", "email")}
    ticket = Ticket(channel_id=ids["chat"], contact_point_id=ids["visitor"])

    def channel(kind: str, name: str = "other") -> ChannelInstance:
        return ChannelInstance(id=ids.get(name, uuid.uuid4()), kind=kind, name=name)

    def point(kind: str, provider: str | None = None, name: str = "other") -> ContactPoint:
        return ContactPoint(id=ids.get(name, uuid.uuid4()), kind=kind, provider=provider)

    reachable = [
        (channel("webchat", "chat"), point("webchat", name="visitor")),  # the ticket's own
        (channel("email"), point("email", name="email")),
        (channel("webhook"), point("im", "slack")),
        (channel("webhook"), point("phone")),
        (channel("telegram"), point("im", "telegram")),
    ]
    refused = [
        (channel("webchat", "chat"), point("email", name="email")),  # chat, not its visitor
        (channel("webchat"), point("email")),
        (channel("email"), point("webchat", name="visitor")),
        (channel("email"), point("phone")),
        (channel("telegram"), point("im", "slack")),
    ]
    for c, p in reachable:
        assert unreachable(runtime, ticket, c, p) is None, (c.kind, p.kind, p.provider)
    for c, p in refused:
        assert unreachable(runtime, ticket, c, p) is not None, (c.kind, p.kind, p.provider)
