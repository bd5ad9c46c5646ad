"""@mentions in internal notes: the users named who may read the ticket are notified;
a name nobody has, or a user who may not read the ticket, stays plain text."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import Actor, TenantUnderTest
from frontdesk.tickets.service import mentions_in


async def mine(client: httpx.AsyncClient, actor: Actor) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/notifications", headers=actor.headers)
    assert r.status_code == 200, r.text
    return [n for n in r.json()["items"] if n["kind"] == "mentioned"]


async def test_a_note_notifies_the_readers_it_mentions(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    h = tenant.admin.headers
    customer = await client.post("/api/v1/customers", headers=h, json={"display_name": "Li Wei"})
    assert customer.status_code == 201, customer.text
    ticket = await client.post(
        "/api/v1/tickets",
        headers=h,
        json={"customer_id": customer.json()["id"], "subject": "Router drops"},
    )
    assert ticket.status_code == 201, ticket.text
    url = f"/api/v1/tickets/{ticket.json()['id']}/messages"
    agent, engineer = tenant.users["agent"], tenant.users["engineer"]
    manager = tenant.users["success_manager"]
    # The ticket is the front line's: the engineer may not read it yet.
    r = await client.post(
        url,
        headers=agent.headers,
        json={"kind": "note", "body": "@engineer and @success_manager: see @Nobody's log"},
    )
    assert r.status_code == 201, r.text
    assert await mine(client, engineer) == []
    [told] = await mine(client, manager)
    assert told["ticket_id"] == ticket.json()["id"]
    assert told["payload"]["ticket_number"] == ticket.json()["number"]
    assert told["payload"]["by"] == str(agent.user_id)
    # Handed to engineering, a mention reaches the engineer; replies do not mention.
    r = await client.post(
        f"{url[:-9]}/assign", headers=h, json={"team_id": str(tenant.teams["engineering"])}
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        url, headers=agent.headers, json={"kind": "note", "body": "@Engineer, over to you."}
    )
    assert r.status_code == 201, r.text
    assert [n["payload"]["message_id"] for n in await mine(client, engineer)] == [r.json()["id"]]
    assert await mine(client, agent) == []  # the writer is not told of their own note


def test_mentions_are_whole_names_the_longest_first() -> None:
    names = {1: "Li", 2: "Li Wei", 3: "Chen"}
    text = "@li wei, @Li and @Chenxi and @Chen."
    found = [(u, text[s:e]) for u, s, e in mentions_in(text, names)]  # type: ignore[arg-type]
    assert found == [(2, "@li wei"), (1, "@Li"), (3, "@Chen")]
