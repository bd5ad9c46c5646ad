"""Presence follows the inbox socket, and notifications reach their own user's socket only."""

from __future__ import annotations

import asyncio

import httpx

from conftest import TenantUnderTest, add_user
from realtime.live import WAIT, OpenInbox


async def test_presence_follows_the_socket_and_notifications_reach_only_their_user(
    http: httpx.AsyncClient, open_inbox: OpenInbox, tenant: TenantUnderTest
) -> None:
    h = tenant.admin.headers
    first = await add_user(http, tenant, "agent", teams=["front-line"])
    spare = await add_user(http, tenant, "agent", teams=["front-line"])
    bystander = await add_user(http, tenant, "agent", teams=["after-sales"])
    r = await http.put(
        f"/api/v1/teams/{tenant.teams['front-line']}/assignment",
        headers=h,
        json={"strategy": "least_loaded"},
    )
    assert r.status_code == 200, r.text
    # The spare agent is online but full for now.
    r = await http.put(
        f"/api/v1/users/{spare.user_id}/agent-profile", headers=h, json={"capacity": 0}
    )
    assert r.status_code == 200, r.text
    r = await http.put("/api/v1/me/presence", headers=spare.headers, json={"status": "online"})
    assert r.status_code == 200, r.text

    inbox = await open_inbox(first)
    r = await http.get("/api/v1/me/presence", headers=first.headers)
    assert r.json() == {"status": "online"}
    watching = await open_inbox(bystander)

    r = await http.post("/api/v1/customers", headers=h, json={"display_name": "Wang Fang"})
    r = await http.post(
        "/api/v1/tickets",
        headers=h,
        json={"customer_id": r.json()["id"], "subject": "Line down", "priority": "urgent"},
    )
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["assignee_id"] == str(first.user_id)

    frames = await inbox.until(lambda f: f["type"] == "notification.created")
    note = frames[-1]
    assert note["recipient_id"] == str(first.user_id)
    assert note["ticket_id"] == ticket["id"]
    assert note["data"]["kind"] == "ticket_assigned"
    assert note["data"]["payload"]["number"] == ticket["number"]
    # The bystander sees the ticket's events, never the notification: the
    # timeline's "auto_assigned" is written after it in the same transaction.
    seen = await watching.until(
        lambda f: f["type"] == "ticket.event" and f["data"]["kind"] == "auto_assigned"
    )
    assert all(f["type"] != "notification.created" for f in seen)
    await watching.close()

    # The last socket closes: offline, and the urgent ticket goes to the spare agent.
    r = await http.put(f"/api/v1/users/{spare.user_id}/agent-profile", headers=h, json={})
    assert r.status_code == 200, r.text
    await inbox.close()
    async with asyncio.timeout(WAIT):
        while True:
            r = await http.get(f"/api/v1/tickets/{ticket['id']}", headers=h)
            if r.json()["assignee_id"] == str(spare.user_id):
                break
            await asyncio.sleep(0.05)
    r = await http.get("/api/v1/me/presence", headers=first.headers)
    assert r.json() == {"status": "offline"}
