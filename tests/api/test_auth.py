"""Sign-up, sign-in, tokens and sessions, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from conftest import PASSWORD, TenantUnderTest, add_user, sign_up, unique_slug


async def test_sign_up_gives_a_working_admin(client: httpx.AsyncClient) -> None:
    t = await sign_up(client)
    me = await client.get("/api/v1/auth/me", headers=t.admin.headers)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["user"]["email"] == t.admin.email
    assert body["user"]["role"] == "admin"
    assert "contacts.reveal" in body["permissions"]
    assert set(t.teams) == {"front-line", "engineering", "after-sales", "success"}


async def test_slug_taken_is_a_conflict(client: httpx.AsyncClient) -> None:
    t = await sign_up(client)
    r = await client.post(
        "/api/v1/signup",
        json={
            "tenant_name": "Again",
            "tenant_slug": t.slug,
            "admin_email": "x@example.com",
            "admin_name": "X",
            "password": PASSWORD,
        },
    )
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_wrong_password_is_refused(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    r = await client.post(
        "/api/v1/auth/login",
        json={"tenant": tenant.slug, "email": tenant.admin.email, "password": "wrong password"},
    )
    assert r.status_code == 401
    r = await client.post(
        "/api/v1/auth/login",
        json={"tenant": unique_slug(), "email": tenant.admin.email, "password": PASSWORD},
    )
    assert r.status_code == 401


async def test_refresh_rotates_and_reuse_ends_the_family(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    login = await client.post(
        "/api/v1/auth/login",
        json={"tenant": tenant.slug, "email": tenant.admin.email, "password": PASSWORD},
    )
    first = login.json()["refresh_token"]
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert r.status_code == 200
    second = r.json()["refresh_token"]
    assert second != first
    # The old one again: refused, and the new one dies with it.
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    ).status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": second})
    ).status_code == 401


async def test_deactivated_user_loses_access_at_once(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    agent = tenant.users["agent"]
    assert (await client.get("/api/v1/auth/me", headers=agent.headers)).status_code == 200
    r = await client.patch(
        f"/api/v1/users/{agent.user_id}", headers=tenant.admin.headers, json={"is_active": False}
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/auth/me", headers=agent.headers)).status_code == 401
    login = await client.post(
        "/api/v1/auth/login",
        json={"tenant": tenant.slug, "email": agent.email, "password": PASSWORD},
    )
    assert login.status_code == 401


async def test_deactivation_ends_refresh_api_and_access_tokens_at_once(
    client: httpx.AsyncClient,
) -> None:
    """Someone who leaves loses every way in with one change, and getting them back
    (reactivation) revives none of the old credentials."""
    t = await sign_up(client)
    leaver = await add_user(client, t, "admin")
    login = await client.post(
        "/api/v1/auth/login", json={"tenant": t.slug, "email": leaver.email, "password": PASSWORD}
    )
    access = {"Authorization": f"Bearer {login.json()['access_token']}"}
    refresh = login.json()["refresh_token"]
    made = await client.post(
        "/api/v1/api-tokens", headers=access, json={"name": "laptop", "role": "agent"}
    )
    assert made.status_code == 201, made.text
    api = {"Authorization": f"Bearer {made.json()['token']}"}
    assert (await client.get("/api/v1/auth/me", headers=access)).status_code == 200
    assert (await client.get("/api/v1/teams", headers=api)).status_code == 200

    user_path = f"/api/v1/users/{leaver.user_id}"
    off = await client.patch(user_path, headers=t.admin.headers, json={"is_active": False})
    assert off.status_code == 200, off.text
    assert (await client.get("/api/v1/auth/me", headers=access)).status_code == 401
    assert (await client.get("/api/v1/teams", headers=api)).status_code == 401
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert r.status_code == 401
    tokens = await client.get("/api/v1/api-tokens", headers=t.admin.headers)
    [laptop] = [tok for tok in tokens.json() if tok["name"] == "laptop"]
    assert laptop["revoked_at"] is not None

    on = await client.patch(user_path, headers=t.admin.headers, json={"is_active": True})
    assert on.status_code == 200, on.text
    assert (await client.get("/api/v1/auth/me", headers=access)).status_code == 401
    assert (await client.get("/api/v1/teams", headers=api)).status_code == 401
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert r.status_code == 401
    again = await client.post(
        "/api/v1/auth/login", json={"tenant": t.slug, "email": leaver.email, "password": PASSWORD}
    )
    assert again.status_code == 200


async def test_api_token_acts_with_its_role_and_can_be_revoked(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    r = await client.post(
        "/api/v1/api-tokens", headers=tenant.admin.headers, json={"name": "crm", "role": "agent"}
    )
    assert r.status_code == 201, r.text
    secret, token_id = r.json()["token"], r.json()["id"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/v1/teams", headers=headers)).status_code == 200
    # agent role: no user management
    forbidden = await client.post(
        "/api/v1/users",
        headers=headers,
        json={"email": "n@example.com", "role": "agent", "password": PASSWORD},
    )
    assert forbidden.status_code == 403
    listed = await client.get("/api/v1/api-tokens", headers=tenant.admin.headers)
    assert all(t["token"] is None for t in listed.json())
    assert (
        await client.delete(f"/api/v1/api-tokens/{token_id}", headers=tenant.admin.headers)
    ).status_code == 204
    assert (await client.get("/api/v1/teams", headers=headers)).status_code == 401


async def test_engineer_cannot_add_users(client: httpx.AsyncClient) -> None:
    t = await sign_up(client)
    engineer = await add_user(client, t, "engineer", teams=["engineering"])
    r = await client.post(
        "/api/v1/users",
        headers=engineer.headers,
        json={"email": "n@example.com", "role": "agent", "password": PASSWORD},
    )
    assert r.status_code == 403
    assert r.json()["type"].endswith("/permission-denied")


async def test_users_page_through_every_user_exactly_once(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/v1/users", headers=tenant.admin.headers, params=params)
        assert r.status_code == 200, r.text
        seen += [u["id"] for u in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    expected = {str(a.user_id) for a in tenant.users.values()}
    assert len(seen) == len(set(seen)) == len(expected) and set(seen) == expected
