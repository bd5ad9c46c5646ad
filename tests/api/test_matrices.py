"""The isolation matrix and the permission matrix, over every endpoint of the API.

Both walk the app's own route table, so an endpoint added later without an
entry here fails the completeness checks instead of going untested.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conftest import PASSWORD, Actor, TenantUnderTest, add_user, sign_up
from frontdesk.app import create_app
from frontdesk.attachments import service as attachments
from frontdesk.auth.permissions import BUILTIN_ROLES, Permission
from frontdesk.channels import Attachment, ContactRef, InboundMessage, Parsed
from frontdesk.channels import service as channels
from frontdesk.config import Settings
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.runtime import Runtime
from frontdesk.tasks import service as tasks
from frontdesk.tickets import service as tickets

ROLES = list(BUILTIN_ROLES)
PARAM = re.compile(r"\{(\w+):(\w+)\}")


@dataclass
class World:
    """One tenant's objects, one of each kind an endpoint can name."""

    tenant: TenantUnderTest
    ids: dict[str, str] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)


async def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


async def build_world(client: httpx.AsyncClient, tenant: TenantUnderTest, tag: str) -> World:
    world = World(tenant=tenant)
    h = tenant.admin.headers
    for role in ("agent", "engineer", "success_manager"):
        if role not in tenant.users:
            await add_user(
                client, tenant, role, teams=[{"engineer": "engineering"}.get(role, "front-line")]
            )
    tenant.users["admin"] = tenant.admin
    name = f"Customer {tag} {uuid.uuid4().hex[:6]}"
    customer = await _ok(
        await client.post(
            "/api/v1/customers",
            headers=h,
            json={
                "display_name": name,
                "contacts": [
                    {"kind": "email", "value": f"{tag}-{uuid.uuid4().hex[:6]}@example.com"}
                ],
            },
        )
    )
    world.names.append(name)
    world.ids["customer_id"] = customer["id"]
    detail = await _ok(await client.get(f"/api/v1/customers/{customer['id']}", headers=h))
    world.ids["point_id"] = detail["contact_points"][0]["id"]
    source = await _ok(
        await client.post("/api/v1/customers", headers=h, json={"display_name": f"Dup {tag}"})
    )
    world.ids["source_customer_id"] = source["id"]
    merge = await _ok(
        await client.post(
            f"/api/v1/customers/{customer['id']}/merge",
            headers=h,
            json={"source_customer_id": source["id"]},
        )
    )
    world.ids["merge_id"] = merge["id"]
    ticket = await _ok(
        await client.post(
            "/api/v1/tickets",
            headers=h,
            json={
                "customer_id": customer["id"],
                "subject": f"Ticket of {tag}",
                "team_id": str(tenant.teams["engineering"]),
            },
        )
    )
    world.names.append(ticket["number"])
    world.ids["ticket_id"] = ticket["id"]
    world.ids["team_id"] = str(tenant.teams["engineering"])
    world.ids["front_line_team_id"] = str(tenant.teams["front-line"])
    world.ids["user_id"] = str(tenant.users["agent"].user_id)
    role = await _ok(
        await client.post(
            "/api/v1/roles",
            headers=h,
            json={"name": f"auditor-{tag}", "permissions": ["audit.read", "tickets.read"]},
        )
    )
    world.ids["role_id"] = role["id"]
    token = await _ok(
        await client.post(
            "/api/v1/api-tokens", headers=h, json={"name": f"crm {tag}", "role": "agent"}
        )
    )
    world.ids["token_id"] = token["id"]
    channel = await _ok(
        await client.post(
            "/api/v1/channels",
            headers=h,
            json={"kind": "webhook", "name": f"shop {tag}", "config": {"secret": "s" * 20}},
        )
    )
    world.ids["channel_id"] = channel["id"]
    handoff = await _ok(
        await client.post(
            f"/api/v1/tickets/{ticket['id']}/handoffs",
            headers=h,
            json={
                "team_id": str(tenant.teams["front-line"]),
                "description": f"Hand-off of {tag}",
                "due_minutes": 60,
            },
        )
    )
    world.names.append(handoff["description"])
    world.ids["handoff_id"] = handoff["id"]
    outage = await _ok(
        await client.post(
            "/api/v1/tickets",
            headers=h,
            json={"customer_id": customer["id"], "subject": f"Outage of {tag}"},
        )
    )
    world.names.append(outage["number"])
    incident = await _ok(
        await client.post("/api/v1/incidents", headers=h, json={"ticket_id": outage["id"]})
    )
    world.ids["incident_id"] = incident["id"]
    await _ok(
        await client.post(
            f"/api/v1/incidents/{incident['id']}/links",
            headers=h,
            json={"ticket_ids": [ticket["id"]]},
        )
    )
    canned = await _ok(
        await client.post(
            "/api/v1/canned-replies",
            headers=h,
            json={
                "title": f"Canned {tag} {uuid.uuid4().hex[:6]}",
                "body": "Hello {{customer.name}}",
            },
        )
    )
    world.names.append(canned["title"])
    world.ids["reply_id"] = canned["id"]
    return world


def routes(settings: Settings) -> list[tuple[str, str]]:
    """Every (method, path) of the API that a user calls with a token."""
    app = create_app(settings)
    out = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", None) or ()):
                if method == "OPTIONS" or not route.path.startswith("/api/v1/"):
                    continue
                out.append((method, route.path))
    return sorted(set(out))


# Routes anyone may call without a token (and so with nobody's ids).
PUBLIC = {
    ("POST", "/api/v1/signup"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    # The token in the body names its tenant (an HMAC over its ids).
    ("POST", "/api/v1/invitations/accept"),
}


def body_for(
    method: str, path: str, ids: dict[str, str], own: dict[str, str]
) -> dict[str, Any] | None:
    """A body that would succeed with the right ids. ``ids`` fill the path's
    references, ``own`` the caller's own objects (so only the path is foreign)."""
    u = uuid.uuid4().hex[:8]
    bodies: dict[tuple[str, str], dict[str, Any] | None] = {
        ("POST", "/api/v1/users"): {
            "email": f"n-{u}@example.com",
            "role": "agent",
            "password": PASSWORD,
        },
        ("PATCH", "/api/v1/users/{user_id:uuid}"): {"display_name": "Renamed"},
        ("POST", "/api/v1/invitations"): {"email": f"i-{u}@example.com", "role": "agent"},
        ("POST", "/api/v1/users/{user_id:uuid}/invitation"): None,
        ("POST", "/api/v1/roles"): {"name": f"r-{u}", "permissions": ["tickets.read"]},
        ("PATCH", "/api/v1/roles/{role_id:uuid}"): {"description": "changed"},
        ("POST", "/api/v1/teams"): {"slug": f"team-{u}", "name": "Team"},
        ("PATCH", "/api/v1/teams/{team_id:uuid}"): {"name": "Renamed"},
        ("PUT", "/api/v1/teams/{team_id:uuid}/members/{user_id:uuid}"): {"is_lead": False},
        ("POST", "/api/v1/api-tokens"): {"name": f"t-{u}", "role": "agent"},
        ("POST", "/api/v1/customers"): {"display_name": "New"},
        ("PATCH", "/api/v1/customers/{customer_id:uuid}"): {"display_name": "Renamed"},
        ("POST", "/api/v1/customers/{customer_id:uuid}/contact-points"): {
            "kind": "email",
            "value": f"x-{u}@example.com",
        },
        (
            "POST",
            "/api/v1/customers/{customer_id:uuid}/contact-points/{point_id:uuid}/reveal",
        ): None,
        ("POST", "/api/v1/customers/{customer_id:uuid}/merge"): {
            "source_customer_id": own["spare_customer_id"]
        },
        ("POST", "/api/v1/customer-merges/{merge_id:uuid}/undo"): None,
        ("POST", "/api/v1/tickets"): {"customer_id": own["customer_id"], "subject": "New"},
        ("PATCH", "/api/v1/tickets/{ticket_id:uuid}"): {"priority": "high"},
        ("POST", "/api/v1/tickets/{ticket_id:uuid}/state"): {"state": "open"},
        ("POST", "/api/v1/tickets/{ticket_id:uuid}/assign"): {"assignee_id": own["user_id"]},
        ("POST", "/api/v1/tickets/{ticket_id:uuid}/messages"): {"kind": "note", "body": "hi"},
        # Into itself: refused (400) where allowed, so the world's ticket stays open.
        ("POST", "/api/v1/tickets/{ticket_id:uuid}/merge"): {"into_ticket_id": own["ticket_id"]},
        ("POST", "/api/v1/categories"): {"slug": f"c_{u}", "name": "Category"},
        ("POST", "/api/v1/channels"): {
            "kind": "webhook",
            "name": f"ch-{u}",
            "config": {"secret": "s" * 20},
        },
        ("PATCH", "/api/v1/channels/{channel_id:uuid}"): {"name": f"renamed-{u}"},
        ("PUT", "/api/v1/routing-rules"): {
            "rules": [{"name": f"r-{u}", "actions": {"team": "engineering"}}]
        },
        ("PUT", "/api/v1/sla-policies"): {
            "policies": [{"name": f"p-{u}", "first_response": {"seconds": 60}}]
        },
        ("PUT", "/api/v1/business-hours"): {
            "timezone": "UTC",
            "hours": {"mon": [["09:00", "17:00"]]},
        },
        ("PUT", "/api/v1/teams/{team_id:uuid}/business-hours"): {
            "timezone": "UTC",
            "hours": {"mon": [["09:00", "17:00"]]},
        },
        ("POST", "/api/v1/tickets/{ticket_id:uuid}/handoffs"): {
            "team_id": own["front_line_team_id"],
            "description": "Please look",
            "due_minutes": 60,
        },
        ("PUT", "/api/v1/teams/{team_id:uuid}/assignment"): {"strategy": "least_loaded"},
        ("PUT", "/api/v1/users/{user_id:uuid}/agent-profile"): {"capacity": 5},
        ("PUT", "/api/v1/me/presence"): {"status": "away"},
        ("POST", "/api/v1/notifications/read"): {"all": True},
        ("POST", "/api/v1/handoffs/{handoff_id:uuid}/accept"): {},
        ("POST", "/api/v1/handoffs/{handoff_id:uuid}/done"): {},
        ("POST", "/api/v1/handoffs/{handoff_id:uuid}/decline"): {},
        ("POST", "/api/v1/customers/{customer_id:uuid}/export"): None,
        ("POST", "/api/v1/customers/{customer_id:uuid}/erase"): None,
        ("PUT", "/api/v1/sso"): {
            "issuer": "https://idp.example.com",
            "client_id": f"frontdesk-{u}",
            "client_secret": "s" * 20,
        },
        ("POST", "/api/v1/tasks/{task_id:uuid}/done"): {},
        # No body; the world's ticket has no phone channel, so it is refused (400).
        ("POST", "/api/v1/tickets/{ticket_id:uuid}/calls"): None,
        ("POST", "/api/v1/incidents"): {"ticket_id": own["ticket_id"]},
        ("POST", "/api/v1/incidents/{incident_id:uuid}/links"): {"ticket_ids": [own["ticket_id"]]},
        ("POST", "/api/v1/incidents/{incident_id:uuid}/updates"): {"body": "Still on it."},
        ("POST", "/api/v1/incidents/{incident_id:uuid}/resolve"): {},
        ("PUT", "/api/v1/followup-settings"): {"follow_up_hours": 12},
        ("POST", "/api/v1/canned-replies"): {"title": f"c-{u}", "body": "Hi {{agent.name}}"},
        ("PATCH", "/api/v1/canned-replies/{reply_id:uuid}"): {"body": "Hello again"},
        ("PUT", "/api/v1/reports/weekly-review"): None,
    }
    if method in ("GET", "DELETE"):
        return None
    assert (method, path) in bodies, f"no body known for {method} {path}: add it to body_for"
    return bodies[(method, path)]


def fill(path: str, ids: dict[str, str]) -> str:
    return PARAM.sub(lambda m: ids[m.group(1)], path)


async def add_attachment(client: httpx.AsyncClient, runtime: Runtime, world: World) -> None:
    """A stored attachment on the world's ticket, as the intake and ingest leave one."""
    h = world.tenant.admin.headers
    channel = await _ok(
        await client.post(
            "/api/v1/channels",
            headers=h,
            json={
                "kind": "email",
                "name": f"mail {uuid.uuid4().hex[:6]}",
                "config": {"from_address": "support@example.com"},
            },
        )
    )
    note = await _ok(
        await client.post(
            f"/api/v1/tickets/{world.ids['ticket_id']}/messages",
            headers=h,
            json={"kind": "note", "body": "with a file"},
        )
    )
    external_id = f"<{uuid.uuid4().hex}@example.com>"
    message = InboundMessage(
        external_id=external_id,
        sender=ContactRef(kind="email", value="x@example.com"),
        text="",
        attachments=[
            Attachment(filename="a.txt", content_type="text/plain", size=2, content=b"hi")
        ],
    )
    tenant_id = world.tenant.id
    async with runtime.db.session(tenant_id) as session:
        cipher = await load_tenant_cipher(session, runtime.keyring, tenant_id)
        instance = await channels.get_channel(session, uuid.UUID(channel["id"]))
        await attachments.detach(
            session, runtime.attachments, cipher, instance, Parsed(messages=[message])
        )
        [listed] = await attachments.link(
            session,
            cipher,
            channel_id=instance.id,
            external_id=external_id,
            message_id=uuid.UUID(note["id"]),
        )
    world.ids["attachment_id"] = listed["id"]


async def add_task(runtime: Runtime, world: World) -> None:
    """A callback task on the world's ticket, as a missed call leaves one."""
    async with runtime.db.session(world.tenant.id) as session:
        ticket = await tickets.get_ticket_unchecked(session, uuid.UUID(world.ids["ticket_id"]))
        task = await tasks.open_task(
            session, ticket, kind=tasks.CALLBACK, title="Call back", due_in=dt.timedelta(hours=1)
        )
    world.ids["task_id"] = str(task.id)


@pytest.fixture
async def worlds(client: httpx.AsyncClient, runtime: Runtime) -> tuple[World, World]:
    a = await build_world(client, await sign_up(client), "a")
    b = await build_world(client, await sign_up(client), "b")
    for world in (a, b):
        await add_attachment(client, runtime, world)
        await add_task(runtime, world)
        spare = await _ok(
            await client.post(
                "/api/v1/customers",
                headers=world.tenant.admin.headers,
                json={"display_name": "Spare"},
            )
        )
        world.ids["spare_customer_id"] = spare["id"]
    return a, b


async def call(
    client: httpx.AsyncClient, actor: Actor, method: str, url: str, body: Any, **kw: Any
) -> httpx.Response:
    return await client.request(method, url, headers=actor.headers, json=body, **kw)


# --- isolation ------------------------------------------------------------------


async def test_another_tenants_ids_in_the_path_get_404_and_no_data(
    client: httpx.AsyncClient, settings: Settings, worlds: tuple[World, World]
) -> None:
    a, b = worlds
    with_ids = [(m, p) for m, p in routes(settings) if PARAM.search(p)]
    assert len(with_ids) >= 20
    for role in ROLES:
        actor = a.tenant.users[role]
        for method, path in with_ids:
            url = fill(path, b.ids)
            r = await call(client, actor, method, url, body_for(method, path, b.ids, a.ids))
            expected = (404,) if role == "admin" else (403, 404)
            assert r.status_code in expected, f"{role} {method} {path}: {r.status_code} {r.text}"
            for secret in [*b.ids.values(), *b.names]:
                if secret not in url:
                    assert secret not in r.text, f"{role} {method} {path} leaked {secret}"


async def test_another_tenants_ids_in_queries_and_bodies_find_nothing(
    client: httpx.AsyncClient, worlds: tuple[World, World]
) -> None:
    a, b = worlds
    for role in ROLES:
        actor = a.tenant.users[role]
        for query in (
            {"customer_id": b.ids["customer_id"]},
            {"team_id": b.ids["team_id"]},
            {"assignee_id": b.ids["user_id"]},
        ):
            r = await client.get("/api/v1/tickets", headers=actor.headers, params=query)
            assert r.status_code in (200, 403), r.text
            if r.status_code == 200:
                assert r.json()["items"] == []
    admin = a.tenant.admin
    attempts = [
        ("POST", "/api/v1/tickets", {"customer_id": b.ids["customer_id"], "subject": "x"}),
        (
            "POST",
            "/api/v1/tickets",
            {"customer_id": a.ids["customer_id"], "subject": "x", "team_id": b.ids["team_id"]},
        ),
        (
            "POST",
            "/api/v1/tickets",
            {"customer_id": a.ids["customer_id"], "subject": "x", "assignee_id": b.ids["user_id"]},
        ),
        ("POST", f"/api/v1/tickets/{a.ids['ticket_id']}/assign", {"assignee_id": b.ids["user_id"]}),
        ("POST", f"/api/v1/tickets/{a.ids['ticket_id']}/assign", {"team_id": b.ids["team_id"]}),
        (
            "POST",
            f"/api/v1/tickets/{a.ids['ticket_id']}/merge",
            {"into_ticket_id": b.ids["ticket_id"]},
        ),
        (
            "POST",
            f"/api/v1/tickets/{a.ids['ticket_id']}/messages",
            {"kind": "reply", "body": "x", "channel_id": b.ids["channel_id"]},
        ),
        (
            "POST",
            f"/api/v1/customers/{a.ids['customer_id']}/merge",
            {"source_customer_id": b.ids["customer_id"]},
        ),
        (
            "PATCH",
            f"/api/v1/customers/{a.ids['customer_id']}",
            {"success_manager_id": b.ids["user_id"]},
        ),
        (
            "POST",
            "/api/v1/users",
            {
                "email": "z@example.com",
                "role": "agent",
                "password": PASSWORD,
                "team_ids": [b.ids["team_id"]],
            },
        ),
        (
            "POST",
            "/api/v1/channels",
            {
                "kind": "webhook",
                "name": "x",
                "config": {"secret": "s" * 20},
                "team_id": b.ids["team_id"],
            },
        ),
    ]
    for method, url, body in attempts:
        r = await call(client, admin, method, url, body)
        assert r.status_code == 404, f"{method} {url} {body}: {r.status_code} {r.text}"
    # and B's objects are as they were
    ticket = await client.get(
        f"/api/v1/tickets/{b.ids['ticket_id']}", headers=b.tenant.admin.headers
    )
    assert ticket.json()["assignee_id"] is None
    assert ticket.json()["team_id"] == b.ids["team_id"]


async def test_a_tenant_id_in_any_body_is_refused(
    client: httpx.AsyncClient, settings: Settings, worlds: tuple[World, World]
) -> None:
    a, b = worlds
    checked = 0
    for method, path in routes(settings):
        if (method, path) in PUBLIC or method in ("GET", "DELETE"):
            continue
        body = body_for(method, path, a.ids, a.ids)
        if body is None:
            continue
        r = await call(
            client,
            a.tenant.admin,
            method,
            fill(path, a.ids),
            {**body, "tenant_id": str(b.tenant.id)},
        )
        assert r.status_code == 400, f"{method} {path}: {r.status_code} {r.text}"
        assert "tenant_id" in r.text
        checked += 1
    assert checked >= 15
    signup = await client.post(
        "/api/v1/signup",
        json={
            "tenant_name": "x",
            "tenant_slug": f"x-{uuid.uuid4().hex[:8]}",
            "admin_email": "x@example.com",
            "admin_name": "x",
            "password": PASSWORD,
            "tenant_id": str(a.tenant.id),
        },
    )
    assert signup.status_code == 400


# --- permissions -----------------------------------------------------------------

# Beyond the permission, only the requested team's members (or a holder of
# teams.manage) act on a hand-off; the world's hand-off asks the front line.
TEAM_MEMBER_ROUTES = {
    "/api/v1/handoffs/{handoff_id:uuid}/accept",
    "/api/v1/handoffs/{handoff_id:uuid}/done",
    "/api/v1/handoffs/{handoff_id:uuid}/decline",
}
HANDOFF_TEAM_ACTORS = {"agent", "success_manager", "admin"}

# Actions whose permission depends on the body, beyond the route's own.
BODY_PERMISSIONS: dict[tuple[str, str, str], Permission] = {
    ("POST", "/api/v1/tickets/{ticket_id:uuid}/messages", "reply"): Permission.TICKETS_REPLY,
    ("POST", "/api/v1/tickets/{ticket_id:uuid}/messages", "note"): Permission.TICKETS_NOTE,
    ("POST", "/api/v1/tickets/{ticket_id:uuid}/state", "escalated"): Permission.TICKETS_ESCALATE,
    ("POST", "/api/v1/tickets/{ticket_id:uuid}/state", "open"): Permission.TICKETS_UPDATE,
    ("PATCH", "/api/v1/customers/{customer_id:uuid}", "tier"): Permission.CUSTOMERS_OWN,
}


def route_permission(settings: Settings) -> dict[tuple[str, str], str | None]:
    app = create_app(settings)
    out: dict[tuple[str, str], str | None] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", None) or ():
                if method != "OPTIONS" and route.path.startswith("/api/v1/"):
                    out[(method, route.path)] = handler.opt.get("permission")
    return out


async def test_every_role_against_every_permission_checked_action(
    client: httpx.AsyncClient, settings: Settings, worlds: tuple[World, World]
) -> None:
    a, _ = worlds
    table = route_permission(settings)
    checked = {p for p in table.values() if p}
    # Every permission is checked by some route (or a body-level check).
    assert checked | {p.value for p in BODY_PERMISSIONS.values()} >= {
        p.value for p in Permission
    } - {"tickets.read_all"}
    for role in ROLES:
        grants = {p.value for p in BUILTIN_ROLES[role]}
        actor = a.tenant.users[role]
        for (method, path), permission in sorted(table.items()):
            if permission is None:
                continue
            body = body_for(method, path, a.ids, a.ids)
            r = await call(client, actor, method, fill(path, a.ids), body)
            if permission in grants and (
                path not in TEAM_MEMBER_ROUTES or role in HANDOFF_TEAM_ACTORS
            ):
                assert r.status_code != 403 and r.status_code < 500, (
                    f"{role} should be allowed {method} {path}: {r.status_code} {r.text}"
                )
            else:
                assert r.status_code == 403, f"{role} must not {method} {path}: {r.status_code}"
        for (method, path, variant), permission in BODY_PERMISSIONS.items():
            ticket = await _ok(
                await client.post(
                    "/api/v1/tickets",
                    headers=a.tenant.admin.headers,
                    json={
                        "customer_id": a.ids["customer_id"],
                        "subject": "for permissions",
                        "team_id": a.ids["team_id"],
                    },
                )
            )
            if variant == "tier":
                # a new value each time, so every allowed call changes something
                body: dict[str, Any] = {"tier": {"admin": "vip"}.get(role, "high_value")}
            elif path.endswith("messages"):
                body = {"kind": variant, "body": "text"}
            else:
                body = {"state": variant}
            ids = {"ticket_id": ticket["id"], "customer_id": a.ids["spare_customer_id"]}
            r = await call(client, actor, method, fill(path, ids), body)
            if permission.value in grants:
                assert r.status_code in (200, 201), f"{role} {variant}: {r.status_code} {r.text}"
            else:
                assert r.status_code == 403, f"{role} {variant}: {r.status_code} {r.text}"
