"""Tickets through the API: numbers, states, messages, visibility, filters and bad input."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
import pytest

from conftest import Actor, TenantUnderTest, sign_up


def is_problem(r: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = (status,) if isinstance(status, int) else status
    assert r.status_code in statuses, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == r.status_code
    return body


async def new_customer(client: httpx.AsyncClient, actor: Actor, name: str = "Chen Jie") -> str:
    r = await client.post("/api/v1/customers", headers=actor.headers, json={"display_name": name})
    assert r.status_code == 201, r.text
    customer_id: str = r.json()["id"]
    return customer_id


async def new_ticket(
    client: httpx.AsyncClient, actor: Actor, customer_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"customer_id": customer_id, "subject": "Router keeps dropping", **fields}
    r = await client.post("/api/v1/tickets", headers=actor.headers, json=body)
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()
    return ticket


async def move(
    client: httpx.AsyncClient, actor: Actor, ticket_id: str, state: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/tickets/{ticket_id}/state", headers=actor.headers, json={"state": state, **extra}
    )


async def all_ticket_ids(
    client: httpx.AsyncClient, actor: Actor, params: Any = None, limit: int = 2
) -> list[str]:
    """Follows next_cursor to the end; ``params`` may repeat keys (a list of pairs)."""
    ids: list[str] = []
    cursor = None
    while True:
        query = list(params or []) + [("limit", limit)] + ([("cursor", cursor)] if cursor else [])
        r = await client.get("/api/v1/tickets", headers=actor.headers, params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        ids += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def events_of(client: httpx.AsyncClient, actor: Actor, ticket_id: str) -> list[Any]:
    r = await client.get(f"/api/v1/tickets/{ticket_id}/events", headers=actor.headers)
    assert r.status_code == 200, r.text
    items: list[Any] = r.json()["items"]
    return items


# --- numbers ------------------------------------------------------------------


async def test_ticket_numbers_count_up_per_tenant(
    client: httpx.AsyncClient, tenant: TenantUnderTest, other_tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    customer = await new_customer(client, agent)
    ours = [await new_ticket(client, agent, customer) for _ in range(3)]
    theirs = await new_ticket(
        client, other_tenant.admin, await new_customer(client, other_tenant.admin)
    )
    year = dt.datetime.fromisoformat(ours[0]["created_at"]).year
    assert [t["number"] for t in ours] == [f"CS-{year}-00000{n}" for n in (1, 2, 3)]
    assert theirs["number"] == f"CS-{year}-000001"
    assert all(re.fullmatch(r"CS-\d{4}-\d{6}", t["number"]) for t in ours)
    first = ours[0]
    assert (first["state"], first["priority"], first["channel"]) == ("new", "normal", "api")
    assert first["team_id"] == str(tenant.teams["front-line"])  # the default team
    assert first["customer_id"] == customer


# --- states ---------------------------------------------------------------------


async def test_state_machine_is_enforced(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    ticket = await new_ticket(client, agent, await new_customer(client, agent))
    tid = ticket["id"]

    r = await move(client, agent, tid, "open")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "open"
    body = is_problem(await move(client, agent, tid, "open"), 409)
    assert body["type"].endswith("/illegal-transition")
    assert (await move(client, agent, tid, "pending", reason="waiting for logs")).status_code == 200
    r = await move(client, agent, tid, "resolved")
    assert r.status_code == 200, r.text
    assert r.json()["resolved_at"] is not None
    assert r.json()["closed_at"] is None
    r = await move(client, agent, tid, "closed")
    assert r.json()["closed_at"] is not None

    body = is_problem(await move(client, agent, tid, "open"), 409)
    assert body["type"].endswith("/illegal-transition")
    assert (body["current"], body["target"]) == ("closed", "open")
    is_problem(await move(client, agent, tid, "done"), 400)
    is_problem(await move(client, agent, tid, "open", tenant_id=str(tenant.id)), 400)
    r = await client.get(f"/api/v1/tickets/{tid}", headers=agent.headers)
    assert r.json()["state"] == "closed"

    changes = [
        (e["data"]["before"], e["data"]["after"])
        for e in await events_of(client, agent, tid)
        if e["kind"] == "state_changed"
    ]
    assert changes == [
        ("new", "open"),
        ("open", "pending"),
        ("pending", "resolved"),
        ("resolved", "closed"),
    ]


async def test_reopening_a_resolved_ticket_clears_resolved_at(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    tid = (await new_ticket(client, agent, await new_customer(client, agent)))["id"]
    assert (await move(client, agent, tid, "resolved")).json()["resolved_at"] is not None
    r = await move(client, agent, tid, "open", reason="customer wrote again")
    assert r.status_code == 200, r.text
    assert r.json()["resolved_at"] is None


async def test_escalating_needs_escalate_and_engineers_cannot_assign(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent, engineer = tenant.users["agent"], tenant.users["engineer"]
    ticket = await new_ticket(
        client,
        agent,
        await new_customer(client, agent),
        team_id=str(tenant.teams["engineering"]),
    )
    assert (await move(client, engineer, ticket["id"], "escalated")).status_code == 200
    r = await client.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        headers=engineer.headers,
        json={"assignee_id": str(engineer.user_id)},
    )
    is_problem(r, 403)


# --- messages -------------------------------------------------------------------


async def test_first_reply_sets_first_response_and_opens_the_ticket(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    tid = (await new_ticket(client, agent, await new_customer(client, agent), channel="email"))[
        "id"
    ]
    url = f"/api/v1/tickets/{tid}/messages"

    r = await client.post(
        url, headers=agent.headers, json={"kind": "note", "body": "Checked the logs."}
    )
    assert r.status_code == 201, r.text
    assert (r.json()["direction"], r.json()["channel"]) == ("internal", "internal")
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=agent.headers)).json()
    assert (ticket["state"], ticket["first_response_at"]) == ("new", None)

    r = await client.post(url, headers=agent.headers, json={"kind": "reply", "body": "Hello!"})
    assert r.status_code == 201, r.text
    assert (r.json()["direction"], r.json()["channel"]) == ("outbound", "email")
    # Opened through the API, not by a customer's contact: nothing to deliver to.
    assert r.json()["delivery"] is None
    assert r.json()["author_user_id"] == str(agent.user_id)
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=agent.headers)).json()
    assert ticket["state"] == "open"
    first_response = ticket["first_response_at"]
    assert first_response is not None

    r = await client.post(url, headers=agent.headers, json={"kind": "reply", "body": "More."})
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=agent.headers)).json()
    assert ticket["first_response_at"] == first_response

    r = await client.get(url, headers=agent.headers)
    assert [(m["kind"], m["body_text"]) for m in r.json()["items"]] == [
        ("note", "Checked the logs."),
        ("reply", "Hello!"),
        ("reply", "More."),
    ]
    # Sorted: ids order events of different requests, not those of one request
    # (the first reply and the state change it causes).
    kinds = sorted(e["kind"] for e in await events_of(client, agent, tid))
    assert kinds == sorted(["created", "note_added", "reply_added", "state_changed", "reply_added"])

    # Messages page oldest first, each once.
    first = await client.get(url, headers=agent.headers, params={"limit": 2})
    second = await client.get(
        url, headers=agent.headers, params={"limit": 2, "cursor": first.json()["next_cursor"]}
    )
    bodies = [m["body_text"] for m in first.json()["items"] + second.json()["items"]]
    assert bodies == ["Checked the logs.", "Hello!", "More."]
    assert second.json()["next_cursor"] is None


async def test_message_rules(client: httpx.AsyncClient, tenant: TenantUnderTest) -> None:
    agent, engineer = tenant.users["agent"], tenant.users["engineer"]
    tid = (
        await new_ticket(
            client,
            agent,
            await new_customer(client, agent),
            team_id=str(tenant.teams["engineering"]),
        )
    )["id"]
    url = f"/api/v1/tickets/{tid}/messages"
    # Engineers write progress notes, not customer-facing replies.
    r = await client.post(url, headers=engineer.headers, json={"kind": "reply", "body": "Hi"})
    is_problem(r, 403)
    r = await client.post(url, headers=engineer.headers, json={"kind": "note", "body": "Fixed"})
    assert r.status_code == 201, r.text
    for body in (
        {"kind": "reply", "body": "   "},
        {"kind": "system", "body": "I am the system"},
        {"kind": "shout", "body": "Hi"},
        {"kind": "reply"},
        {"kind": "reply", "body": "Hi", "direction": "inbound"},
    ):
        is_problem(await client.post(url, headers=agent.headers, json=body), 400)
    await move(client, agent, tid, "closed")
    r = await client.post(url, headers=agent.headers, json={"kind": "reply", "body": "Late"})
    is_problem(r, 409)
    r = await client.get(url, headers=agent.headers)
    assert [m["body_text"] for m in r.json()["items"]] == ["Fixed"]


async def test_a_body_at_creation_is_an_internal_note_by_the_creator(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    ticket = await new_ticket(
        client, agent, await new_customer(client, agent), body="Customer called about the router."
    )
    assert ticket["first_response_at"] is None
    r = await client.get(f"/api/v1/tickets/{ticket['id']}/messages", headers=agent.headers)
    [message] = r.json()["items"]
    assert (message["kind"], message["direction"]) == ("note", "internal")
    assert message["author_user_id"] == str(agent.user_id)
    assert message["body_text"] == "Customer called about the router."


# --- who sees what ----------------------------------------------------------------


async def test_engineer_sees_only_engineering_tickets_and_their_own(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent, engineer = tenant.users["agent"], tenant.users["engineer"]
    customer = await new_customer(client, agent)
    front = await new_ticket(client, agent, customer)
    handed_off = await new_ticket(client, agent, customer, team_id=str(tenant.teams["engineering"]))
    assigned = await new_ticket(client, agent, customer, assignee_id=str(engineer.user_id))

    assert set(await all_ticket_ids(client, engineer)) == {handed_off["id"], assigned["id"]}
    assert set(await all_ticket_ids(client, agent)) == {
        front["id"],
        handed_off["id"],
        assigned["id"],
    }
    url = f"/api/v1/tickets/{front['id']}"
    for r in (
        await client.get(url, headers=engineer.headers),
        await client.patch(url, headers=engineer.headers, json={"priority": "high"}),
        await client.get(f"{url}/messages", headers=engineer.headers),
        await client.post(
            f"{url}/messages", headers=engineer.headers, json={"kind": "note", "body": "x"}
        ),
        await client.get(f"{url}/events", headers=engineer.headers),
        await move(client, engineer, front["id"], "open"),
    ):
        is_problem(r, 404)
        assert "Router" not in r.text
    r = await client.get(url, headers=agent.headers)
    assert (r.json()["priority"], r.json()["state"]) == ("normal", "new")

    # Handing the ticket to engineering makes it the engineer's to see.
    r = await client.post(
        f"{url}/assign",
        headers=agent.headers,
        json={"team_id": str(tenant.teams["engineering"])},
    )
    assert r.status_code == 200, r.text
    assert (await client.get(url, headers=engineer.headers)).status_code == 200


async def test_another_tenants_ticket_does_not_exist(
    client: httpx.AsyncClient, tenant: TenantUnderTest, other_tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    ticket = await new_ticket(client, agent, await new_customer(client, agent))
    intruder = other_tenant.admin
    url = f"/api/v1/tickets/{ticket['id']}"
    for r in (
        await client.get(url, headers=intruder.headers),
        await client.patch(url, headers=intruder.headers, json={"subject": "Mine"}),
        await move(client, intruder, ticket["id"], "open"),
        await client.post(f"{url}/assign", headers=intruder.headers, json={"assignee_id": None}),
        await client.get(f"{url}/messages", headers=intruder.headers),
        await client.post(
            f"{url}/messages", headers=intruder.headers, json={"kind": "reply", "body": "x"}
        ),
        await client.get(f"{url}/events", headers=intruder.headers),
    ):
        is_problem(r, 404)
        assert "Router" not in r.text
    assert await all_ticket_ids(client, intruder) == []
    # Their customer, team or user in our ticket: none of them exist here.
    theirs = await new_customer(client, intruder)
    r = await client.post(
        "/api/v1/tickets",
        headers=agent.headers,
        json={"customer_id": theirs, "subject": "Sneaky"},
    )
    is_problem(r, 404)
    their_team = (await client.get("/api/v1/teams", headers=intruder.headers)).json()[0]["id"]
    for body in ({"team_id": their_team}, {"assignee_id": str(intruder.user_id)}):
        r = await client.post(f"{url}/assign", headers=agent.headers, json=body)
        is_problem(r, 404)
    r = await client.get(url, headers=agent.headers)
    assert r.json()["assignee_id"] is None
    assert r.json()["team_id"] == str(tenant.teams["front-line"])


# --- changes, assignment, categories ----------------------------------------------


async def test_update_records_each_change(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    tid = (await new_ticket(client, agent, await new_customer(client, agent)))["id"]
    url = f"/api/v1/tickets/{tid}"
    r = await client.patch(
        url,
        headers=agent.headers,
        json={
            "priority": "urgent",
            "category": "fault",
            "tags": ["Router", "router", " wifi "],
            "mood": "upset",
            "expected_by": "2030-01-02T03:04:05+08:00",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["priority"], body["category"], body["mood"]) == ("urgent", "fault", "upset")
    assert body["tags"] == ["router", "wifi"]
    assert dt.datetime.fromisoformat(body["expected_by"]) == dt.datetime(
        2030, 1, 1, 19, 4, 5, tzinfo=dt.UTC
    )
    r = await client.patch(url, headers=agent.headers, json={"category": None, "mood": None})
    assert (r.json()["category"], r.json()["mood"], r.json()["priority"]) == (
        None,
        None,
        "urgent",
    )
    # Nothing changes, nothing is recorded.
    await client.patch(url, headers=agent.headers, json={"priority": "urgent"})
    kinds = sorted(e["kind"] for e in await events_of(client, agent, tid))
    assert kinds == sorted(
        [
            "created",
            "priority_changed",
            "category_changed",
            "mood_changed",
            "tags_changed",
            "expected_by_changed",
            "category_changed",
            "mood_changed",
        ]
    )


async def test_assign_tells_absent_from_null(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent, engineer = tenant.users["agent"], tenant.users["engineer"]
    tid = (await new_ticket(client, agent, await new_customer(client, agent)))["id"]
    url = f"/api/v1/tickets/{tid}/assign"
    r = await client.post(url, headers=agent.headers, json={"assignee_id": str(agent.user_id)})
    assert r.json()["assignee_id"] == str(agent.user_id)
    # No fields: nothing changes.
    r = await client.post(url, headers=agent.headers, json={})
    assert r.status_code == 200, r.text
    assert r.json()["assignee_id"] == str(agent.user_id)
    assert r.json()["team_id"] == str(tenant.teams["front-line"])
    # A hand-off to engineering keeps the assignee unless told otherwise.
    r = await client.post(
        url,
        headers=agent.headers,
        json={"team_id": str(tenant.teams["engineering"]), "assignee_id": str(engineer.user_id)},
    )
    assert (r.json()["team_id"], r.json()["assignee_id"]) == (
        str(tenant.teams["engineering"]),
        str(engineer.user_id),
    )
    r = await client.post(url, headers=agent.headers, json={"assignee_id": None})
    assert r.json()["assignee_id"] is None
    assert r.json()["team_id"] == str(tenant.teams["engineering"])
    is_problem(await client.post(url, headers=agent.headers, json={"assignee_id": 7}), 400)
    r = await client.post(url, headers=agent.headers, json={"assignee_id": str(uuid.uuid4())})
    is_problem(r, 404)
    events = await events_of(client, agent, tid)
    assert sorted(e["kind"] for e in events if e["kind"] != "created") == [
        "assigned",
        "assigned",
        "assigned",
        "team_changed",
    ]


async def test_categories(client: httpx.AsyncClient, tenant: TenantUnderTest) -> None:
    agent = tenant.users["agent"]
    r = await client.get("/api/v1/categories", headers=agent.headers)
    assert r.status_code == 200, r.text
    slugs = {c["slug"] for c in r.json()}
    assert {"pre_sales", "after_sales", "fault", "complaint", "care", "collaboration"} <= slugs

    body = {"slug": "warranty", "name": "Warranty claims", "parent_slug": "after_sales"}
    is_problem(await client.post("/api/v1/categories", headers=agent.headers, json=body), 403)
    r = await client.post("/api/v1/categories", headers=tenant.admin.headers, json=body)
    assert r.status_code == 201, r.text
    assert (r.json()["parent_slug"], r.json()["builtin"]) == ("after_sales", False)
    for bad, status in (
        (body, 409),
        ({"slug": "x-ray", "name": "X", "parent_slug": "nope"}, 400),
        ({"slug": "Bad Slug", "name": "X"}, 400),
        ({"slug": "ok", "name": " "}, 400),
        ({"slug": "ok", "name": "X", "builtin": True}, 400),
    ):
        r = await client.post("/api/v1/categories", headers=tenant.admin.headers, json=bad)
        is_problem(r, status)
    ticket = await new_ticket(client, agent, await new_customer(client, agent), category="warranty")
    assert ticket["category"] == "warranty"


# --- lists ------------------------------------------------------------------------


async def test_filters_and_pages_return_every_ticket_exactly_once(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    alice = await new_customer(client, agent, "Alice")
    bob = await new_customer(client, agent, "Bob")
    eng = str(tenant.teams["engineering"])
    specs: list[dict[str, Any]] = [
        {"customer_id": alice, "priority": "urgent", "tags": ["vip"], "channel": "email"},
        {"customer_id": bob, "category": "fault", "team_id": eng},
        {"customer_id": alice, "tags": ["vip", "router"], "channel": "phone"},
        {"customer_id": bob, "priority": "low", "assignee_id": str(agent.user_id)},
        {"customer_id": alice, "tags": ["router"], "category": "fault"},
        {"customer_id": bob, "tags": ["vip"], "team_id": eng, "channel": "phone"},
        {"customer_id": alice, "priority": "urgent"},
    ]
    made = [
        (await new_ticket(client, agent, s.pop("customer_id"), **s))["id"]
        for s in [dict(spec) for spec in specs]
    ]
    await move(client, agent, made[1], "open")
    await move(client, agent, made[2], "pending")

    def pick(*indexes: int) -> list[str]:
        """The expected ids, newest first (the list's order)."""
        return [made[i] for i in sorted(indexes, reverse=True)]

    assert await all_ticket_ids(client, agent) == pick(0, 1, 2, 3, 4, 5, 6)
    assert await all_ticket_ids(client, agent, limit=1) == pick(0, 1, 2, 3, 4, 5, 6)
    cases: list[tuple[list[tuple[str, Any]], list[str]]] = [
        ([("state", "new")], pick(0, 3, 4, 5, 6)),
        ([("state", "open"), ("state", "pending")], pick(1, 2)),
        ([("priority", "urgent")], pick(0, 6)),
        ([("priority", "urgent"), ("priority", "low")], pick(0, 3, 6)),
        ([("assignee_id", str(agent.user_id))], pick(3)),
        ([("unassigned", "true")], pick(0, 1, 2, 4, 5, 6)),
        # 4, a fault opened with the default team, went to engineering by the
        # default routing rule; 1 and 5 were given engineering.
        ([("team_id", eng)], pick(1, 4, 5)),
        ([("customer_id", alice)], pick(0, 2, 4, 6)),
        ([("channel", "phone")], pick(2, 5)),
        ([("category", "fault")], pick(1, 4)),
        ([("tag", "vip")], pick(0, 2, 5)),
        ([("tag", "VIP")], pick(0, 2, 5)),
        ([("tag", "router"), ("customer_id", alice)], pick(2, 4)),
        ([("tag", "nothing")], []),
        ([("customer_id", alice), ("priority", "urgent"), ("state", "new")], pick(0, 6)),
    ]
    for params, expected in cases:
        for limit in (1, 2, 50):
            assert await all_ticket_ids(client, agent, params, limit=limit) == expected, params


@pytest.mark.parametrize(
    "params",
    [
        {"state": "done"},
        {"priority": "whenever"},
        {"assignee_id": "not-a-uuid"},
        {"unassigned": "perhaps"},
        {"limit": 0},
        {"limit": 201},
        {"cursor": "%%%"},
    ],
)
async def test_bad_list_parameters_are_refused(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    admin = (await sign_up(client)).admin
    r = await client.get("/api/v1/tickets", headers=admin.headers, params=params)
    is_problem(r, 400)


# --- invalid input: a 4xx problem, and nothing kept ---------------------------------


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"tenant_id": str(uuid.uuid4())}, 400),
        ({"number": "CS-2020-000001"}, 400),
        ({"priority": 1}, 400),
        ({"priority": "whenever"}, 400),
        ({"mood": "furious"}, 400),
        ({"subject": ""}, 400),
        ({"subject": "   "}, 400),
        ({"subject": "x" * 501}, 400),
        ({"subject": None}, 400),
        ({"category": "unknown_category"}, 400),
        ({"category": "Not A Slug"}, 400),
        ({"channel": "Carrier Pigeon"}, 400),
        ({"tags": "vip"}, 400),
        ({"tags": ["x" * 51]}, 400),
        ({"tags": [""]}, 400),
        ({"expected_by": "2030-01-01T00:00:00"}, 400),
        ({"expected_by": "tomorrow"}, 400),
        ({"team_id": "not-a-uuid"}, 400),
        ({"team_id": str(uuid.uuid4())}, 404),
        ({"assignee_id": str(uuid.uuid4())}, 404),
        ({"customer_id": str(uuid.uuid4())}, 404),
        ({"body": "   "}, 400),
    ],
)
async def test_malformed_tickets_are_refused_and_leave_nothing(
    client: httpx.AsyncClient, fields: dict[str, Any], status: int
) -> None:
    admin = (await sign_up(client)).admin
    customer = await new_customer(client, admin)
    body = {"customer_id": customer, "subject": "Hello", **fields}
    r = await client.post("/api/v1/tickets", headers=admin.headers, json=body)
    is_problem(r, status)
    assert await all_ticket_ids(client, admin) == []
    # Nothing was numbered either: the next ticket is the first.
    assert (await new_ticket(client, admin, customer))["number"].endswith("-000001")


async def test_malformed_requests_are_problems_not_errors(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    tid = (await new_ticket(client, agent, await new_customer(client, agent)))["id"]
    r = await client.post(
        "/api/v1/tickets",
        headers={**agent.headers, "content-type": "application/json"},
        content=b"[not json",
    )
    is_problem(r, 400)
    for path in (
        "/api/v1/tickets/not-a-uuid",
        "/api/v1/tickets/12/messages",
        "/api/v1/tickets/zzz/events",
    ):
        is_problem(await client.get(path, headers=agent.headers), (400, 404))
    is_problem(await move(client, agent, "not-a-uuid", "open"), (400, 404))
    is_problem(await client.get(f"/api/v1/tickets/{uuid.uuid4()}", headers=agent.headers), 404)
    url = f"/api/v1/tickets/{tid}"
    for body in (
        {"state": "closed"},
        {"subject": ""},
        {"subject": None},
        {"priority": None},
        {"expected_by": "2030-01-01T00:00:00"},
        {"category": "unknown_category"},
        {"customer_id": str(uuid.uuid4())},
    ):
        is_problem(await client.patch(url, headers=agent.headers, json=body), 400)
    r = await client.get(url, headers=agent.headers)
    assert (r.json()["subject"], r.json()["state"]) == ("Router keeps dropping", "new")
    assert [e["kind"] for e in await events_of(client, agent, tid)] == ["created"]
    r = await client.get("/api/v1/tickets")
    is_problem(r, 401)
