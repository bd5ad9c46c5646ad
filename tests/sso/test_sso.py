"""Single sign-on against a real OpenID Connect provider on localhost, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from conftest import PASSWORD
from frontdesk.auth.sso.models import SsoConfig
from frontdesk.clock import Clock
from frontdesk.runtime import Runtime
from sso.conftest import BROWSER_TLS, SsoTenant, configure, person, sso_sign_in, through_provider
from sso.oidc_provider import Behaviour, Provider


def reason(r: httpx.Response) -> str:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "access_token" not in r.text
    value: str = r.json()["reason"]
    return value


def into_console(r: httpx.Response) -> bool:
    """A callback that signed the browser in: on to the inbox with a session cookie."""
    return (
        r.status_code == 303
        and r.headers["location"] == "/app/inbox"
        and "fd_session=fds_" in r.headers.get("set-cookie", "")
    )


async def audit(client: httpx.AsyncClient, t: SsoTenant, action: str) -> list[dict[str, Any]]:
    r = await client.get(
        "/api/v1/audit-log", headers=t.tenant.admin.headers, params={"action": action}
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return [i for i in items if i["id"] > t.audit_after]


async def test_a_verified_user_signs_in_to_the_console(
    client: httpx.AsyncClient, provider: Provider, sso_tenant: SsoTenant
) -> None:
    provider.behaviour.person = person(sso_tenant.agent.email.upper())
    start = await client.get(f"/sso/{sso_tenant.slug}/login")
    assert start.status_code == 302
    asked = parse_qs(urlsplit(start.headers["location"]).query)
    assert asked["response_type"] == ["code"]
    assert asked["code_challenge_method"] == ["S256"]
    assert {"state", "nonce", "code_challenge"} <= set(asked)
    assert "code_verifier" not in asked

    async with httpx.AsyncClient(verify=BROWSER_TLS) as browser:
        back = urlsplit((await browser.get(start.headers["location"])).headers["location"])
    r = await client.get(f"{back.path}?{back.query}")
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/app/inbox"
    assert r.headers["cache-control"] == "no-store"
    assert "access_token" not in r.text
    # The console's own session cookie, as its password sign-in sets it.
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("fd_session="))
    assert cookie.startswith("fd_session=fds_")
    assert "HttpOnly" in cookie and "path=/;" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    inbox = await client.get("/app/inbox")
    assert inbox.status_code == 200, inbox.text
    assert f'data-user="{sso_tenant.agent.user_id}"' in inbox.text
    assert '<span class="me">Agent</span>' in inbox.text
    [entry] = await audit(client, sso_tenant, "sso.signed_in")
    assert entry["subject_id"] == str(sso_tenant.agent.user_id)
    [started] = await audit(client, sso_tenant, "web_session.started")
    assert started["subject_id"] == str(sso_tenant.agent.user_id)
    assert started["data"]["method"] == "sso"
    assert "fd_sso" not in client.cookies


async def test_a_wrong_state_is_refused_and_audited(
    client: httpx.AsyncClient, provider: Provider, sso_tenant: SsoTenant, clock: Clock
) -> None:
    provider.behaviour.person = person(sso_tenant.agent.email)
    callback = await through_provider(client, sso_tenant.slug)
    query = parse_qs(urlsplit(callback).query)
    path = urlsplit(callback).path
    forged = await client.get(path, params={"code": query["code"][0], "state": "forged-state"})
    assert reason(forged) == "state_invalid"
    no_state = await client.get(path, params={"code": query["code"][0]})
    assert reason(no_state) == "state_invalid"
    # The real state, from a browser that did not start this sign-in (no cookie).
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as elsewhere:
        assert reason(await elsewhere.get(callback)) == "browser_mismatch"
    # Back from the provider too late.
    stale = await through_provider(client, sso_tenant.slug)
    clock.advance(dt.timedelta(minutes=11))
    assert reason(await client.get(stale)) == "state_expired"
    failures = await audit(client, sso_tenant, "sso.sign_in_failed")
    assert [f["data"]["reason"] for f in reversed(failures)] == [
        "state_invalid",
        "state_invalid",
        "browser_mismatch",
        "state_expired",
    ]


async def test_a_browser_is_shown_the_refusal_on_the_sign_in_page_in_its_language(
    client: httpx.AsyncClient, provider: Provider, sso_tenant: SsoTenant
) -> None:
    provider.behaviour.person = person(sso_tenant.agent.email)
    callback = await through_provider(client, sso_tenant.slug)
    path = urlsplit(callback).path
    html = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    r = await client.get(path, params={"state": "forged"}, headers=html)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("text/html")
    assert "This sign-in was not started here" in r.text
    assert f'href="/sso/{sso_tenant.slug}/login"' in r.text  # start again
    zh = await client.get(
        path, params={"state": "forged"}, headers={**html, "accept-language": "zh-CN"}
    )
    assert "此次登录并非从这里发起" in zh.text and 'lang="zh-CN"' in zh.text
    # An API client (no text/html in Accept) keeps problem details.
    assert reason(await client.get(path, params={"state": "forged"})) == "state_invalid"
    failures = await audit(client, sso_tenant, "sso.sign_in_failed")
    assert len(failures) == 3


async def test_another_tenants_sign_in_does_not_sign_in_here(
    client: httpx.AsyncClient,
    provider: Provider,
    sso_tenant: SsoTenant,
    other_sso_tenant: SsoTenant,
) -> None:
    """A sign-in started for tenant A and brought to tenant B's callback is unknown there."""
    provider.behaviour.person = person(sso_tenant.agent.email)
    started_at_a = urlsplit(await through_provider(client, sso_tenant.slug))
    at_b = await client.get(f"/sso/{other_sso_tenant.slug}/callback?{started_at_a.query}")
    assert reason(at_b) == "state_invalid"
    [failure] = await audit(client, other_sso_tenant, "sso.sign_in_failed")
    assert failure["data"]["reason"] == "state_invalid"
    assert await audit(client, sso_tenant, "sso.sign_in_failed") == []
    # Tenant B's settings are its own.
    theirs = await client.get("/api/v1/sso", headers=other_sso_tenant.tenant.admin.headers)
    assert theirs.json()["client_id"] == other_sso_tenant.client.client_id


async def test_a_replayed_code_is_refused(
    client: httpx.AsyncClient, provider: Provider, sso_tenant: SsoTenant
) -> None:
    provider.behaviour.person = person(sso_tenant.agent.email)
    callback = await through_provider(client, sso_tenant.slug)
    assert into_console(await client.get(callback))
    # The same callback again: its state is used up.
    assert reason(await client.get(callback)) == "state_used"
    # The old code with a fresh sign-in's state: the provider will not take it twice.
    fresh = urlsplit(await through_provider(client, sso_tenant.slug))
    old_code = parse_qs(urlsplit(callback).query)["code"][0]
    state = parse_qs(fresh.query)["state"][0]
    replay = await client.get(fresh.path, params={"code": old_code, "state": state})
    assert reason(replay) == "code_rejected"
    assert len(await audit(client, sso_tenant, "sso.signed_in")) == 1


# What a broken or hostile provider gets wrong, and the reason each is refused for.
TAMPERED = [
    ({"foreign_key": True}, "token_invalid"),
    ({"issuer": "http://127.0.0.1:9/another-provider"}, "issuer_mismatch"),
    ({"audience": "another-client"}, "audience_mismatch"),
    ({"expires_in": -600}, "token_expired"),
    ({"nonce": "not-the-nonce-we-sent"}, "nonce_mismatch"),
]


async def test_a_bad_signature_wrong_issuer_audience_expiry_or_nonce_is_refused(
    client: httpx.AsyncClient, provider: Provider, sso_tenant: SsoTenant
) -> None:
    """One test for all five (a sign-in each): the fixtures cost more than the checks."""
    for tamper, expected in TAMPERED:
        provider.behaviour = Behaviour(person=person(sso_tenant.agent.email), **tamper)
        refused = await sso_sign_in(client, sso_tenant.slug)
        assert reason(refused) == expected, tamper
        if "foreign_key" in tamper:
            assert "signature" in refused.json()["detail"]
    failures = await audit(client, sso_tenant, "sso.sign_in_failed")
    assert [f["data"]["reason"] for f in reversed(failures)] == [e for _, e in TAMPERED]
    assert await audit(client, sso_tenant, "sso.signed_in") == []
    # The same provider, untampered, after rotating its signing key (a key id
    # not in the key set we hold, so it is fetched again): the agent gets in.
    provider.behaviour = Behaviour(person=person(sso_tenant.agent.email))
    provider.rotate_key()
    assert into_console(await sso_sign_in(client, sso_tenant.slug))


async def test_an_unverified_email_matching_a_user_is_refused_never_merged(
    client: httpx.AsyncClient, provider: Provider, sso_tenant: SsoTenant
) -> None:
    await configure(client, sso_tenant, provider, jit_enabled=True)
    provider.behaviour.person = person(sso_tenant.agent.email, verified=False)
    assert reason(await sso_sign_in(client, sso_tenant.slug)) == "email_unverified"
    [failure] = await audit(client, sso_tenant, "sso.sign_in_failed")
    assert failure["subject_id"] == str(sso_tenant.agent.user_id)
    # Nor is an unverified stranger created just in time.
    stranger = f"stranger-{uuid.uuid4().hex[:6]}@{sso_tenant.slug}.example.com"
    provider.behaviour.person = person(stranger, verified=False)
    assert reason(await sso_sign_in(client, sso_tenant.slug)) == "email_unverified"
    users = await client.get("/api/v1/users", headers=sso_tenant.tenant.admin.headers)
    assert stranger not in {u["email"] for u in users.json()["items"]}


async def test_unknown_users_only_with_just_in_time_creation(
    client: httpx.AsyncClient, provider: Provider, sso_tenant: SsoTenant
) -> None:
    newcomer = f"newcomer-{uuid.uuid4().hex[:6]}@{sso_tenant.slug}.example.com"
    provider.behaviour.person = person(newcomer)
    assert reason(await sso_sign_in(client, sso_tenant.slug)) == "unknown_user"
    await configure(client, sso_tenant, provider, jit_enabled=True, jit_role="engineer")
    assert into_console(await sso_sign_in(client, sso_tenant.slug))
    users = await client.get("/api/v1/users", headers=sso_tenant.tenant.admin.headers)
    [created] = [u for u in users.json()["items"] if u["email"] == newcomer]
    assert created["role"] == "engineer"
    assert f'data-user="{created["id"]}"' in (await client.get("/app/inbox")).text
    # No password was set: a password sign-in cannot get in.
    login = await client.post(
        "/api/v1/auth/login",
        json={"tenant": sso_tenant.slug, "email": newcomer, "password": ""},
    )
    assert login.status_code == 401


async def test_sso_required_refuses_password_sign_in_but_the_break_glass_admin(
    client: httpx.AsyncClient, provider: Provider, sso_tenant: SsoTenant
) -> None:
    admin = sso_tenant.tenant.admin
    await configure(
        client,
        sso_tenant,
        provider,
        sso_required=True,
        break_glass_user_id=str(admin.user_id),
    )
    agent_login = await client.post(
        "/api/v1/auth/login",
        json={"tenant": sso_tenant.slug, "email": sso_tenant.agent.email, "password": PASSWORD},
    )
    assert agent_login.status_code == 401
    assert "single sign-on" in agent_login.json()["detail"]
    admin_login = await client.post(
        "/api/v1/auth/login",
        json={"tenant": sso_tenant.slug, "email": admin.email, "password": PASSWORD},
    )
    assert admin_login.status_code == 200
    provider.behaviour.person = person(sso_tenant.agent.email)
    assert into_console(await sso_sign_in(client, sso_tenant.slug))


async def test_the_console_sign_in_page_offers_sso_and_refuses_passwords_when_required(
    client: httpx.AsyncClient, provider: Provider, sso_tenant: SsoTenant
) -> None:
    link = f'href="/sso/{sso_tenant.slug}/login"'
    offered = await client.get("/app/login", params={"tenant": sso_tenant.slug})
    assert offered.status_code == 200
    assert link in offered.text and "Sign in with SSO" in offered.text
    assert "single sign-on" not in offered.text
    assert link not in (await client.get("/app/login")).text
    unknown = await client.get("/app/login", params={"tenant": f"{sso_tenant.slug}-nobody"})
    assert unknown.status_code == 200 and "/sso/" not in unknown.text

    admin = sso_tenant.tenant.admin
    await configure(
        client, sso_tenant, provider, sso_required=True, break_glass_user_id=str(admin.user_id)
    )
    required = await client.get("/app/login", params={"tenant": sso_tenant.slug})
    assert link in required.text and "signs in through single sign-on" in required.text
    agent = sso_tenant.agent
    refused = await client.post(
        "/app/login", data={"tenant": agent.slug, "email": agent.email, "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert 'role="alert"' in refused.text and "signs in through single sign-on" in refused.text
    assert link in refused.text
    assert "fd_session" not in client.cookies
    assert await audit(client, sso_tenant, "web_session.started") == []
    # A wrong password still reads as one: the SSO message needs the right password.
    wrong = await client.post(
        "/app/login", data={"tenant": agent.slug, "email": agent.email, "password": "nope"}
    )
    assert wrong.status_code == 401 and "Wrong company, email or password" in wrong.text
    # The break-glass admin keeps the password form.
    kept = await client.post(
        "/app/login", data={"tenant": admin.slug, "email": admin.email, "password": PASSWORD}
    )
    assert kept.status_code == 303 and kept.headers["location"] == "/app/inbox"
    [started] = await audit(client, sso_tenant, "web_session.started")
    assert started["subject_id"] == str(admin.user_id)
    assert started["data"]["method"] == "password"


async def test_settings_need_the_permission_and_keep_the_secret_hidden(
    client: httpx.AsyncClient, runtime: Runtime, provider: Provider, sso_tenant: SsoTenant
) -> None:
    agent, admin = sso_tenant.agent, sso_tenant.tenant.admin
    assert (await client.get("/api/v1/sso", headers=agent.headers)).status_code == 403
    put = await client.put(
        "/api/v1/sso", headers=agent.headers, json={"issuer": provider.issuer, "client_id": "x"}
    )
    assert put.status_code == 403
    # Changed without the secret: the stored one is kept, and still works.
    await configure(client, sso_tenant, provider, jit_enabled=True)
    shown = await client.get("/api/v1/sso", headers=admin.headers)
    assert shown.status_code == 200
    assert shown.json()["client_secret"] == "********"
    assert shown.json()["jit_enabled"] is True
    assert shown.json()["callback_url"].endswith(f"/sso/{sso_tenant.slug}/callback")
    [entry] = await audit(client, sso_tenant, "sso.configured")
    assert entry["data"]["changed"] == ["jit_enabled"]
    assert entry["data"]["client_secret_changed"] is False
    async with runtime.db.session(sso_tenant.tenant.id) as db:
        stored = await db.scalar(select(SsoConfig.client_secret_encrypted))
    assert stored is not None and stored.startswith("fd1.")
    assert sso_tenant.client.client_secret not in stored
    provider.behaviour.person = person(agent.email)
    assert into_console(await sso_sign_in(client, sso_tenant.slug))
    not_https = await client.put(
        "/api/v1/sso",
        headers=admin.headers,
        json={"issuer": "http://idp.example.com", "client_id": "x"},
    )
    assert not_https.status_code == 400
    # Removed: nobody signs in through it any more.
    assert (await client.delete("/api/v1/sso", headers=admin.headers)).status_code == 204
    assert (await client.get("/api/v1/sso", headers=admin.headers)).status_code == 404
    assert (await client.get(f"/sso/{sso_tenant.slug}/login")).status_code == 404
    page = await client.get("/app/login", params={"tenant": sso_tenant.slug})
    assert "/sso/" not in page.text
    [removed] = await audit(client, sso_tenant, "sso.removed")
    assert removed["actor_user_id"] == str(admin.user_id)
