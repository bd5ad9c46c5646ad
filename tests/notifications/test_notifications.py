"""A user's own notifications over the API: unread first, keyset pages, marked
read only by their owner, never another user's or another tenant's."""

from __future__ import annotations

import uuid

import httpx

from conftest import TenantUnderTest
from frontdesk.notifications.service import notify
from frontdesk.runtime import Runtime


async def test_my_notifications_unread_first_in_pages_and_marked_read(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
) -> None:
    agent, engineer = tenant.users["agent"], tenant.users["engineer"]
    async with runtime.db.session(tenant.id) as session:
        made = [
            (await notify(session, tenant.id, [agent.user_id, None], "note", payload={"n": i}))[0]
            for i in range(5)
        ]
        [theirs] = await notify(session, tenant.id, [engineer.user_id], "note")
    async with runtime.db.session(other_tenant.id) as session:
        [foreign] = await notify(session, other_tenant.id, [other_tenant.admin.user_id], "note")
    ids = [str(n.id) for n in made]

    r = await client.post(
        "/api/v1/notifications/read", headers=agent.headers, json={"ids": [ids[1], ids[3]]}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"marked": 2, "unread": 3}

    # Unread first, newest first within each, two at a time.
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/v1/notifications", headers=agent.headers, params=params)
        assert r.status_code == 200, r.text
        assert r.json()["unread"] == 3
        seen += [n["id"] for n in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [ids[4], ids[2], ids[0], ids[3], ids[1]]
    r = await client.get(
        "/api/v1/notifications", headers=agent.headers, params={"unread_only": True}
    )
    assert [n["id"] for n in r.json()["items"]] == [ids[4], ids[2], ids[0]]
    assert r.json()["items"][0]["payload"] == {"n": 4}
    assert r.json()["items"][0]["read_at"] is None

    # Another user's, another tenant's or a made-up id: 404, and nothing is marked.
    for other in (theirs.id, foreign.id, uuid.uuid4()):
        r = await client.post(
            "/api/v1/notifications/read",
            headers=agent.headers,
            json={"ids": [ids[0], str(other)]},
        )
        assert r.status_code == 404, r.text
        assert str(other) not in r.text
    r = await client.get("/api/v1/notifications", headers=engineer.headers)
    assert [n["id"] for n in r.json()["items"]] == [str(theirs.id)]
    assert r.json()["unread"] == 1

    for bad in ({}, {"ids": [ids[0]], "all": True}, {"ids": []}, {"all": True, "tenant_id": "x"}):
        r = await client.post("/api/v1/notifications/read", headers=agent.headers, json=bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    for params in ({"cursor": "x!"}, {"limit": 0}):
        r = await client.get("/api/v1/notifications", headers=agent.headers, params=params)
        assert r.status_code == 400, r.text

    r = await client.post("/api/v1/notifications/read", headers=agent.headers, json={"all": True})
    assert r.json() == {"marked": 3, "unread": 0}
    r = await client.get("/api/v1/notifications", headers=engineer.headers)
    assert r.json()["unread"] == 1
    r = await client.get("/api/v1/notifications")
    assert r.status_code == 401
