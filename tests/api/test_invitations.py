"""Invitations: an admin invites by email; the link sets a password once, and expires."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

import httpx

from conftest import PASSWORD, TenantUnderTest, sign_up
from frontdesk.clock import Clock


def token_of(body: dict[str, object]) -> str:
    # Platform mail is not configured in these tests: the link comes back to the admin.
    assert body["mailed"] is False
    return parse_qs(urlparse(str(body["accept_url"])).query)["token"][0]


async def invite(client: httpx.AsyncClient, tenant: TenantUnderTest, email: str) -> httpx.Response:
    return await client.post(
        "/api/v1/invitations",
        headers=tenant.admin.headers,
        json={"email": email, "display_name": "Invitee", "role": "agent"},
    )


async def login(client: httpx.AsyncClient, tenant: TenantUnderTest, email: str) -> int:
    r = await client.post(
        "/api/v1/auth/login", json={"tenant": tenant.slug, "email": email, "password": PASSWORD}
    )
    return r.status_code


async def test_an_invited_user_sets_a_password_once_then_signs_in(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    tenant = await sign_up(client)
    email = f"new@{tenant.slug}.example.com"
    r = await invite(client, tenant, email)
    assert r.status_code == 201, r.text
    token = token_of(r.json())
    assert await login(client, tenant, email) == 401
    # The link's page is a form; opening it changes nothing.
    page = await client.get(urlparse(r.json()["accept_url"]).path + "?token=" + token)
    assert page.status_code == 200 and "Set your password" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"

    accept = {"token": token, "password": PASSWORD}
    short = await client.post("/api/v1/invitations/accept", json={**accept, "password": "short"})
    assert short.status_code == 400
    ok = await client.post("/api/v1/invitations/accept", json=accept)
    assert ok.status_code == 200, ok.text
    assert ok.json()["email"] == email and ok.json()["tenant"] == tenant.slug
    assert await login(client, tenant, email) == 200
    used = await client.post("/api/v1/invitations/accept", json=accept)
    assert used.status_code == 409
    assert used.headers["content-type"].startswith("application/problem+json")

    # A user with a password is not re-invited.
    user_id = ok.json()["user_id"]
    again = await client.post(f"/api/v1/users/{user_id}/invitation", headers=tenant.admin.headers)
    assert again.status_code == 409


async def test_expired_replaced_and_forged_links_are_refused(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    tenant = await sign_up(client)
    other = await sign_up(client)
    email = f"late@{tenant.slug}.example.com"
    first = await invite(client, tenant, email)
    user_id = first.json()["user_id"]
    old = token_of(first.json())
    second = await client.post(f"/api/v1/users/{user_id}/invitation", headers=tenant.admin.headers)
    assert second.status_code == 201, second.text
    new = token_of(second.json())

    replaced = await client.post(
        "/api/v1/invitations/accept", json={"token": old, "password": PASSWORD}
    )
    assert replaced.status_code == 409
    forged = new[:-4] + ("0000" if not new.endswith("0000") else "1111")
    assert (
        await client.post(
            "/api/v1/invitations/accept", json={"token": forged, "password": PASSWORD}
        )
    ).status_code == 404
    # Another tenant's admin cannot re-invite this tenant's user.
    foreign = await client.post(f"/api/v1/users/{user_id}/invitation", headers=other.admin.headers)
    assert foreign.status_code == 404

    clock.advance(dt.timedelta(days=8))
    expired = await client.post(
        "/api/v1/invitations/accept", json={"token": new, "password": PASSWORD}
    )
    assert expired.status_code == 400
    assert "expired" in expired.json()["detail"]
    assert await login(client, tenant, email) == 401
