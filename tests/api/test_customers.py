"""Customers through the API: masked contact points, audited reveals, merges and the timeline."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from conftest import Actor, TenantUnderTest, sign_up

EMAIL = "Alice.Wong@Example.com"
PHONE = "+86 138 1234 5678"


def is_problem(r: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = (status,) if isinstance(status, int) else status
    assert r.status_code in statuses, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == r.status_code
    return body


async def create_customer(client: httpx.AsyncClient, actor: Actor, **fields: Any) -> dict[str, Any]:
    body = {"display_name": "Alice Wong", **fields}
    r = await client.post("/api/v1/customers", headers=actor.headers, json=body)
    assert r.status_code == 201, r.text
    customer: dict[str, Any] = r.json()
    return customer


async def create_ticket(
    client: httpx.AsyncClient, actor: Actor, customer_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"customer_id": customer_id, "subject": "Router keeps dropping", **fields}
    r = await client.post("/api/v1/tickets", headers=actor.headers, json=body)
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()
    return ticket


async def all_customer_ids(client: httpx.AsyncClient, actor: Actor, **params: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2, **params, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/v1/customers", headers=actor.headers, params=query)
        assert r.status_code == 200, r.text
        ids += [c["id"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return ids


async def audit_entries(
    client: httpx.AsyncClient, tenant: TenantUnderTest, action: str
) -> list[dict[str, Any]]:
    r = await client.get(
        "/api/v1/audit-log", headers=tenant.admin.headers, params={"action": action}
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def contacts(email: str = EMAIL, phone: str = PHONE) -> list[dict[str, str]]:
    return [{"kind": "email", "value": email}, {"kind": "phone", "value": phone}]


# --- contact points: masked, revealed, unique --------------------------------


async def test_contact_values_are_masked_for_every_role(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    created = await create_customer(client, agent, contacts=contacts())
    assert {p["value"] for p in created["contact_points"]} == {
        "a***@example.com",
        "+86 138****5678",
    }
    for role in ("agent", "engineer", "success_manager", "admin"):
        r = await client.get(
            f"/api/v1/customers/{created['id']}", headers=tenant.users[role].headers
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["display_name"] == "Alice Wong"
        points = {p["kind"]: p for p in body["contact_points"]}
        assert points["email"]["value"] == "a***@example.com"
        assert points["phone"]["value"] == "+86 138****5678"
        assert all(p["masked"] for p in body["contact_points"])
        assert "alice.wong" not in r.text.lower()
        assert "13812345678" not in r.text


async def test_reveal_shows_the_clear_value_and_is_audited(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    customer = await create_customer(client, agent, contacts=contacts())
    points = {p["kind"]: p["id"] for p in customer["contact_points"]}
    base = f"/api/v1/customers/{customer['id']}/contact-points"

    r = await client.post(f"{base}/{points['email']}/reveal", headers=agent.headers)
    assert r.status_code == 200, r.text
    assert r.json()["value"] == "alice.wong@example.com"
    assert r.json()["masked"] is False
    r = await client.post(f"{base}/{points['phone']}/reveal", headers=agent.headers)
    assert r.json()["value"] == "+8613812345678"

    entries = await audit_entries(client, tenant, "contact.revealed")
    assert len(entries) == 2
    assert {e["data"]["contact_point_id"] for e in entries} == set(points.values())
    assert all(e["actor_user_id"] == str(agent.user_id) for e in entries)
    assert all(e["subject_id"] == customer["id"] for e in entries)
    # Revealing is not reading: GET never reveals and never audits.
    await client.get(f"/api/v1/customers/{customer['id']}", headers=agent.headers)
    assert len(await audit_entries(client, tenant, "contact.revealed")) == 2


async def test_engineer_cannot_reveal_and_leaves_no_audit_record(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    customer = await create_customer(client, tenant.users["agent"], contacts=contacts())
    point = customer["contact_points"][0]["id"]
    r = await client.post(
        f"/api/v1/customers/{customer['id']}/contact-points/{point}/reveal",
        headers=tenant.users["engineer"].headers,
    )
    assert is_problem(r, 403)["type"].endswith("/permission-denied")
    assert "example.com" not in r.text
    assert await audit_entries(client, tenant, "contact.revealed") == []


async def test_reveal_needs_the_right_customer_and_tenant(
    client: httpx.AsyncClient, tenant: TenantUnderTest, other_tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    alice = await create_customer(client, agent, contacts=contacts())
    bob = await create_customer(client, agent, display_name="Bob")
    point = alice["contact_points"][0]["id"]
    # Bob's id with Alice's contact point: no such contact point for Bob.
    r = await client.post(
        f"/api/v1/customers/{bob['id']}/contact-points/{point}/reveal", headers=agent.headers
    )
    is_problem(r, 404)
    r = await client.post(
        f"/api/v1/customers/{alice['id']}/contact-points/{point}/reveal",
        headers=other_tenant.admin.headers,
    )
    is_problem(r, 404)
    assert "example.com" not in r.text
    assert await audit_entries(client, tenant, "contact.revealed") == []


async def test_a_contact_value_belongs_to_one_customer(
    client: httpx.AsyncClient, tenant: TenantUnderTest, other_tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    alice = await create_customer(client, agent, contacts=contacts())
    before = await all_customer_ids(client, agent)

    # The same email in other letter case, the same phone written differently.
    for value in (
        {"kind": "email", "value": "ALICE.wong@example.COM"},
        {"kind": "phone", "value": "+8613812345678"},
    ):
        r = await client.post(
            "/api/v1/customers",
            headers=agent.headers,
            json={"display_name": "Someone", "contacts": [value]},
        )
        assert is_problem(r, 409)["customer_id"] == alice["id"]
    assert await all_customer_ids(client, agent) == before

    bob = await create_customer(client, agent, display_name="Bob")
    r = await client.post(
        f"/api/v1/customers/{bob['id']}/contact-points",
        headers=agent.headers,
        json={"kind": "phone", "value": "+86-138-1234-5678"},
    )
    is_problem(r, 409)
    r = await client.get(f"/api/v1/customers/{bob['id']}", headers=agent.headers)
    assert r.json()["contact_points"] == []

    # Another tenant's customers are another world.
    await create_customer(client, other_tenant.admin, contacts=contacts())


async def test_adding_a_contact_point(client: httpx.AsyncClient, tenant: TenantUnderTest) -> None:
    agent = tenant.users["agent"]
    customer = await create_customer(client, agent)
    r = await client.post(
        f"/api/v1/customers/{customer['id']}/contact-points",
        headers=agent.headers,
        json={"kind": "im", "value": "alice_w", "provider": "telegram"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["value"] == "al***_w"
    assert r.json()["provider"] == "telegram"
    # The same handle on another network is another contact point.
    r = await client.post(
        f"/api/v1/customers/{customer['id']}/contact-points",
        headers=agent.headers,
        json={"kind": "im", "value": "alice_w", "provider": "slack"},
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/customers/{customer['id']}/contact-points",
        headers=agent.headers,
        json={"kind": "im", "value": "alice_w"},
    )
    assert "provider" in is_problem(r, 400)["detail"]
    detail = await client.get(f"/api/v1/customers/{customer['id']}", headers=agent.headers)
    assert len(detail.json()["contact_points"]) == 2
    assert len(await audit_entries(client, tenant, "contact.added")) == 2


# --- invalid input: a 4xx problem, and nothing kept ---------------------------


async def test_an_invalid_contact_leaves_no_customer(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    before = await all_customer_ids(client, agent, include_merged=True)
    for bad in ("12345", "+86 123", "call me maybe"):
        r = await client.post(
            "/api/v1/customers",
            headers=agent.headers,
            json={"display_name": "Half", "contacts": contacts(phone=bad)},
        )
        is_problem(r, 400)
    for bad in ("alice", "alice@", "a b@example.com", "alice@example"):
        r = await client.post(
            "/api/v1/customers",
            headers=agent.headers,
            json={"display_name": "Half", "contacts": contacts(email=bad)},
        )
        is_problem(r, 400)
    assert await all_customer_ids(client, agent, include_merged=True) == before
    # The valid first contact was not kept either: it is still free.
    await create_customer(client, agent, contacts=contacts())


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "X", "tenant_id": str(uuid.uuid4())},
        {"display_name": "X", "surprise": True},
        {"display_name": 5},
        {},
        {"display_name": "X", "contacts": [{"kind": "fax", "value": "123"}]},
        {"display_name": "X", "contacts": [{"kind": "email"}]},
        {"display_name": "X", "contacts": [{"kind": "email", "value": ""}]},
        {"display_name": "X", "contacts": [{"kind": "email", "value": "a@b.com", "x": 1}]},
        {"display_name": "X", "contacts": "alice@example.com"},
        {"display_name": "X" * 201},
        {"display_name": "X", "language": "a-very-long-language-tag"},
        {"display_name": "X", "language": "not a tag"},
        {"display_name": "X", "contacts": [{"kind": "im", "value": "h", "provider": "P" * 40}]},
        {"display_name": "X", "success_manager_id": "not-a-uuid"},
    ],
)
async def test_malformed_customer_bodies_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    admin = (await sign_up(client)).admin
    before = await all_customer_ids(client, admin)
    r = await client.post("/api/v1/customers", headers=admin.headers, json=body)
    is_problem(r, 400)
    assert await all_customer_ids(client, admin) == before


async def test_malformed_requests_are_problems_not_errors(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    admin = tenant.admin
    customer = await create_customer(client, admin)
    r = await client.post(
        "/api/v1/customers",
        headers={**admin.headers, "content-type": "application/json"},
        content=b'{"display_name": ',
    )
    is_problem(r, 400)
    for path in ("/api/v1/customers/not-a-uuid", "/api/v1/customers/123/timeline"):
        is_problem(await client.get(path, headers=admin.headers), (400, 404))
    r = await client.get(f"/api/v1/customers/{uuid.uuid4()}", headers=admin.headers)
    is_problem(r, 404)
    r = await client.patch(
        f"/api/v1/customers/{customer['id']}", headers=admin.headers, json={"tier": "royalty"}
    )
    is_problem(r, 400)
    r = await client.patch(
        f"/api/v1/customers/{customer['id']}", headers=admin.headers, json={"display_name": " "}
    )
    is_problem(r, 400)
    r = await client.patch(
        f"/api/v1/customers/{customer['id']}", headers=admin.headers, json={"merged_into_id": None}
    )
    is_problem(r, 400)
    for params in ({"limit": 0}, {"limit": 1000}, {"cursor": "!!"}, {"limit": "many"}):
        r = await client.get("/api/v1/customers", headers=admin.headers, params=params)
        is_problem(r, 400)
    r = await client.post("/api/v1/customers", json={"display_name": "X"})
    is_problem(r, 401)


# --- ownership: tier and success manager -------------------------------------


async def test_tier_and_success_manager_need_customers_own(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent, manager = tenant.users["agent"], tenant.users["success_manager"]
    r = await client.post(
        "/api/v1/customers", headers=agent.headers, json={"display_name": "Big", "tier": "vip"}
    )
    is_problem(r, 403)
    r = await client.post(
        "/api/v1/customers",
        headers=agent.headers,
        json={"display_name": "Big", "success_manager_id": str(manager.user_id)},
    )
    is_problem(r, 403)
    plain = await create_customer(client, agent, tier="new")
    assert plain["tier"] == "new"

    big = await create_customer(
        client, manager, tier="vip", success_manager_id=str(manager.user_id), language="zh-CN"
    )
    assert (big["tier"], big["success_manager_id"], big["language"]) == (
        "vip",
        str(manager.user_id),
        "zh-CN",
    )

    url = f"/api/v1/customers/{big['id']}"
    is_problem(await client.patch(url, headers=agent.headers, json={"tier": "dormant"}), 403)
    r = await client.patch(url, headers=agent.headers, json={"display_name": "Big Corp"})
    assert r.status_code == 200, r.text
    assert (r.json()["display_name"], r.json()["tier"]) == ("Big Corp", "vip")
    r = await client.patch(
        url, headers=manager.headers, json={"tier": "dormant", "success_manager_id": None}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["tier"], r.json()["success_manager_id"]) == ("dormant", None)
    # Someone else's user as success manager: no such user here.
    other = await sign_up(client)
    r = await client.patch(
        url, headers=manager.headers, json={"success_manager_id": str(other.admin.user_id)}
    )
    is_problem(r, 404)
    # The engineer only reads customers.
    r = await client.patch(url, headers=tenant.users["engineer"].headers, json={"language": "en"})
    is_problem(r, 403)


async def test_list_pages_through_every_customer_once_and_filters_by_tier(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    manager = tenant.users["success_manager"]
    made = [
        (await create_customer(client, manager, display_name=f"C{i}", tier=tier))["id"]
        for i, tier in enumerate(["vip", "new", "vip", "dormant", "new"])
    ]
    listed = await all_customer_ids(client, manager)
    assert listed == list(reversed(made))  # newest first, each once
    vip = await all_customer_ids(client, manager, tier="vip")
    assert vip == [made[2], made[0]]


# --- tenants ------------------------------------------------------------------


async def test_another_tenants_customer_does_not_exist(
    client: httpx.AsyncClient, tenant: TenantUnderTest, other_tenant: TenantUnderTest
) -> None:
    customer = await create_customer(client, tenant.admin, contacts=contacts())
    ours = await create_customer(client, other_tenant.admin, display_name="Ours")
    intruder = other_tenant.admin.headers
    url = f"/api/v1/customers/{customer['id']}"
    for r in (
        await client.get(url, headers=intruder),
        await client.patch(url, headers=intruder, json={"display_name": "Mine"}),
        await client.post(
            f"{url}/contact-points", headers=intruder, json={"kind": "email", "value": "x@y.com"}
        ),
        await client.get(f"{url}/merges", headers=intruder),
        await client.get(f"{url}/timeline", headers=intruder),
        await client.post(
            f"{url}/merge", headers=intruder, json={"source_customer_id": ours["id"]}
        ),
        await client.post(
            f"/api/v1/customers/{ours['id']}/merge",
            headers=intruder,
            json={"source_customer_id": customer["id"]},
        ),
    ):
        is_problem(r, 404)
        assert "Alice" not in r.text
    assert customer["id"] not in await all_customer_ids(client, other_tenant.admin)
    r = await client.get(url, headers=tenant.admin.headers)
    assert r.json()["display_name"] == "Alice Wong"


# --- merges -------------------------------------------------------------------


async def test_merge_moves_everything_and_undo_moves_it_back_exactly(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    target = await create_customer(
        client, agent, display_name="Alice (email)", contacts=[contacts()[0]]
    )
    source = await create_customer(
        client, agent, display_name="Alice (phone)", contacts=[contacts()[1]]
    )
    phone_point = source["contact_points"][0]["id"]
    moved_ticket = await create_ticket(client, agent, source["id"], channel="phone")
    kept_ticket = await create_ticket(client, agent, target["id"], channel="email")

    r = await client.post(
        f"/api/v1/customers/{target['id']}/merge",
        headers=agent.headers,
        json={"source_customer_id": source["id"]},
    )
    assert r.status_code == 201, r.text
    merge = r.json()
    assert (merge["source_id"], merge["target_id"]) == (source["id"], target["id"])
    assert merge["moved"] == {"contact_points": 1, "tickets": 1}
    assert merge["merged_at"] and merge["undone_at"] is None

    merged = (await client.get(f"/api/v1/customers/{target['id']}", headers=agent.headers)).json()
    assert {p["kind"] for p in merged["contact_points"]} == {"email", "phone"}
    ticket = (
        await client.get(f"/api/v1/tickets/{moved_ticket['id']}", headers=agent.headers)
    ).json()
    assert ticket["customer_id"] == target["id"]
    gone = (await client.get(f"/api/v1/customers/{source['id']}", headers=agent.headers)).json()
    assert gone["merged_into_id"] == target["id"]
    assert gone["contact_points"] == []
    assert source["id"] not in await all_customer_ids(client, agent)
    assert source["id"] in await all_customer_ids(client, agent, include_merged=True)
    # The phone number now finds the target: adding it again is a conflict naming it.
    r = await client.post(
        "/api/v1/customers",
        headers=agent.headers,
        json={"display_name": "Dup", "contacts": [contacts()[1]]},
    )
    assert is_problem(r, 409)["customer_id"] == target["id"]

    # Arrives after the merge: stays with the target when the merge is undone.
    later = await create_ticket(client, agent, target["id"], subject="After the merge")
    # Even when opened on the merged customer's old id.
    via_old_id = await create_ticket(client, agent, source["id"], subject="Old bookmark")
    assert via_old_id["customer_id"] == target["id"]

    r = await client.post(f"/api/v1/customer-merges/{merge['id']}/undo", headers=agent.headers)
    assert r.status_code == 200, r.text
    assert r.json()["undone_at"] is not None
    assert r.json()["undone_by"] == str(agent.user_id)

    back = (await client.get(f"/api/v1/customers/{source['id']}", headers=agent.headers)).json()
    assert back["merged_into_id"] is None
    assert [p["id"] for p in back["contact_points"]] == [phone_point]
    kept = (await client.get(f"/api/v1/customers/{target['id']}", headers=agent.headers)).json()
    assert [p["kind"] for p in kept["contact_points"]] == ["email"]
    for ticket_id, owner in (
        (moved_ticket["id"], source["id"]),
        (kept_ticket["id"], target["id"]),
        (later["id"], target["id"]),
        (via_old_id["id"], target["id"]),
    ):
        r = await client.get(f"/api/v1/tickets/{ticket_id}", headers=agent.headers)
        assert r.json()["customer_id"] == owner

    events = (
        await client.get(f"/api/v1/tickets/{moved_ticket['id']}/events", headers=agent.headers)
    ).json()["items"]
    changes = [
        (e["data"]["before"], e["data"]["after"]) for e in events if e["kind"] == "customer_changed"
    ]
    assert changes == [(source["id"], target["id"]), (target["id"], source["id"])]

    r = await client.post(f"/api/v1/customer-merges/{merge['id']}/undo", headers=agent.headers)
    is_problem(r, 409)

    history = await client.get(f"/api/v1/customers/{source['id']}/merges", headers=agent.headers)
    assert [m["id"] for m in history.json()] == [merge["id"]]
    assert history.json()[0]["undone_at"] is not None
    assert len(await audit_entries(client, tenant, "customer.merged")) == 1
    assert len(await audit_entries(client, tenant, "customer.merge_undone")) == 1


async def test_merge_refusals(
    client: httpx.AsyncClient, tenant: TenantUnderTest, other_tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    a = await create_customer(client, agent, display_name="A")
    b = await create_customer(client, agent, display_name="B")
    c = await create_customer(client, agent, display_name="C")

    def merge(target: dict[str, Any], source: dict[str, Any] | str) -> Any:
        source_id = source if isinstance(source, str) else source["id"]
        return client.post(
            f"/api/v1/customers/{target['id']}/merge",
            headers=agent.headers,
            json={"source_customer_id": source_id},
        )

    is_problem(await merge(a, a), 400)
    is_problem(await merge(a, str(uuid.uuid4())), 404)
    is_problem(await merge(a, "not-a-uuid"), 400)
    r = await client.post(
        f"/api/v1/customers/{a['id']}/merge",
        headers=tenant.users["engineer"].headers,
        json={"source_customer_id": b["id"]},
    )
    is_problem(r, 403)
    assert (await merge(a, b)).status_code == 201
    is_problem(await merge(c, b), 409)  # b is already merged
    is_problem(await merge(b, c), 409)  # nor can anything go into b
    r = await client.post(f"/api/v1/customer-merges/{uuid.uuid4()}/undo", headers=agent.headers)
    is_problem(r, 404)
    merges = await client.get(f"/api/v1/customers/{a['id']}/merges", headers=agent.headers)
    merge_id = merges.json()[0]["id"]
    r = await client.post(
        f"/api/v1/customer-merges/{merge_id}/undo", headers=other_tenant.admin.headers
    )
    is_problem(r, 404)
    r = await client.post(
        f"/api/v1/customer-merges/{merge_id}/undo", headers=tenant.users["engineer"].headers
    )
    is_problem(r, 403)


# --- the customer's whole history ----------------------------------------------


async def test_timeline_shows_readable_tickets_newest_first_with_their_messages(
    client: httpx.AsyncClient, tenant: TenantUnderTest, other_tenant: TenantUnderTest
) -> None:
    agent, engineer = tenant.users["agent"], tenant.users["engineer"]
    customer = await create_customer(client, agent, contacts=contacts())
    by_email = await create_ticket(client, agent, customer["id"], channel="email", body="Called")
    by_phone = await create_ticket(
        client, agent, customer["id"], channel="phone", team_id=str(tenant.teams["engineering"])
    )
    r = await client.post(
        f"/api/v1/tickets/{by_email['id']}/messages",
        headers=agent.headers,
        json={"kind": "reply", "body": "We are on it."},
    )
    assert r.status_code == 201, r.text
    # Someone else's ticket is not in this customer's history.
    other = await create_customer(client, agent, display_name="Other")
    await create_ticket(client, agent, other["id"])

    r = await client.get(f"/api/v1/customers/{customer['id']}/timeline", headers=agent.headers)
    assert r.status_code == 200, r.text
    entries = r.json()["items"]
    assert [e["ticket"]["id"] for e in entries] == [by_phone["id"], by_email["id"]]
    assert [e["ticket"]["channel"] for e in entries] == ["phone", "email"]
    assert [(m["kind"], m["body_text"]) for m in entries[1]["messages"]] == [
        ("note", "Called"),
        ("reply", "We are on it."),
    ]
    assert entries[0]["messages"] == []
    assert not any(e["more_messages"] for e in entries)

    # Page by page: every ticket once.
    first = await client.get(
        f"/api/v1/customers/{customer['id']}/timeline", headers=agent.headers, params={"limit": 1}
    )
    second = await client.get(
        f"/api/v1/customers/{customer['id']}/timeline",
        headers=agent.headers,
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
    )
    assert [e["ticket"]["id"] for e in first.json()["items"] + second.json()["items"]] == [
        by_phone["id"],
        by_email["id"],
    ]
    assert second.json()["next_cursor"] is None
    r = await client.get(
        f"/api/v1/customers/{customer['id']}/timeline",
        headers=agent.headers,
        params={"limit": 500},
    )
    is_problem(r, 400)

    # The engineer sees the history of engineering's tickets only.
    r = await client.get(f"/api/v1/customers/{customer['id']}/timeline", headers=engineer.headers)
    assert [e["ticket"]["id"] for e in r.json()["items"]] == [by_phone["id"]]

    r = await client.get(
        f"/api/v1/customers/{customer['id']}/timeline", headers=other_tenant.admin.headers
    )
    is_problem(r, 404)
