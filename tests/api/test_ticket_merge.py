"""Merging tickets: the merged ticket's messages move to the surviving one, its events
are read there too, it is closed with a link, and the merge is audited."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from conftest import TenantUnderTest, sign_up
from frontdesk.runtime import Runtime
from frontdesk.tickets import service as tickets


async def open_ticket(
    client: httpx.AsyncClient, tenant: TenantUnderTest, customer_id: str, subject: str
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/tickets",
        headers=tenant.admin.headers,
        json={"customer_id": customer_id, "subject": subject, "body": f"About {subject}"},
    )
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()
    return ticket


async def test_merge_moves_messages_closes_with_a_link_and_is_audited(
    client: httpx.AsyncClient, tenant: TenantUnderTest, runtime: Runtime
) -> None:
    h = tenant.admin.headers
    agent = tenant.users["agent"].headers
    customer = await client.post("/api/v1/customers", headers=h, json={"display_name": "Li Wei"})
    other = await client.post("/api/v1/customers", headers=h, json={"display_name": "Chen Jie"})
    duplicate = await open_ticket(client, tenant, customer.json()["id"], "Router (by email)")
    survivor = await open_ticket(client, tenant, customer.json()["id"], "Router (by phone)")
    someone_elses = await open_ticket(client, tenant, other.json()["id"], "Blender")
    base = "/api/v1/tickets"

    r = await client.post(
        f"{base}/{duplicate['id']}/merge", headers=agent, json={"into_ticket_id": survivor["id"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == survivor["id"]
    merged = (await client.get(f"{base}/{duplicate['id']}", headers=h)).json()
    assert merged["state"] == "closed" and merged["merged_into_id"] == survivor["id"]
    messages = (await client.get(f"{base}/{survivor['id']}/messages", headers=h)).json()["items"]
    assert [m["body_text"] for m in messages] == [
        "About Router (by email)",
        "About Router (by phone)",
    ]
    assert {m["ticket_id"] for m in messages} == {survivor["id"]}
    left = (await client.get(f"{base}/{duplicate['id']}/messages", headers=h)).json()["items"]
    assert left == []
    events = (await client.get(f"{base}/{survivor['id']}/events", headers=h)).json()["items"]
    kinds = [(e["ticket_id"], e["kind"]) for e in events]
    # The merged ticket's own events are read here too, oldest first.
    assert (duplicate["id"], "note_added") in kinds
    assert kinds.index((duplicate["id"], "note_added")) < kinds.index(
        (survivor["id"], "note_added")
    )
    merged_event = next(e for e in events if e["kind"] == "ticket_merged")
    assert merged_event["data"]["source_number"] == duplicate["number"]
    assert (duplicate["id"], "merged_into") in kinds
    audit = await client.get("/api/v1/audit-log", headers=h, params={"action": "ticket.merged"})
    [entry] = audit.json()["items"]
    assert entry["subject_id"] == survivor["id"]
    assert entry["actor_user_id"] == str(tenant.users["agent"].user_id)
    # A customer naming the old number (or its reply token) lands on the survivor.
    async with runtime.db.session(tenant.id) as session:
        found = await tickets.find_by_number(session, duplicate["number"])
        assert found is not None and str(found.id) == survivor["id"]

    # Refused, with problem details, changing nothing.
    theirs = await open_ticket(
        client,
        (elsewhere := await sign_up(client)),
        (
            await client.post(
                "/api/v1/customers", headers=elsewhere.admin.headers, json={"display_name": "X"}
            )
        ).json()["id"],
        "Theirs",
    )
    refused = [
        (400, agent, survivor["id"], someone_elses["id"]),  # another customer's
        (400, agent, survivor["id"], survivor["id"]),  # itself
        (409, agent, duplicate["id"], survivor["id"]),  # already merged
        (409, agent, survivor["id"], duplicate["id"]),  # into a merged (closed) one
        (404, agent, survivor["id"], theirs["id"]),  # another tenant's
        (404, agent, survivor["id"], str(uuid.uuid4())),
        (404, tenant.users["engineer"].headers, survivor["id"], someone_elses["id"]),  # unreadable
    ]
    for status, headers, source, target in refused:
        r = await client.post(
            f"{base}/{source}/merge", headers=headers, json={"into_ticket_id": target}
        )
        assert r.status_code == status, (source, target, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    survivor_now = (await client.get(f"{base}/{survivor['id']}", headers=h)).json()
    assert survivor_now["state"] != "closed" and survivor_now["merged_into_id"] is None
