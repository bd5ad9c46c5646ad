"""Fixtures of the SSO tests: a real OIDC provider on localhost, a tenant signing in through it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import Actor, TenantUnderTest, add_user, sign_up
from frontdesk.runtime import Runtime
from sso.oidc_provider import Behaviour, Client, Person, Provider, running_provider

# Built once: httpx would load the CA bundle again for every client.
BROWSER_TLS = httpx.create_ssl_context()


@pytest.fixture(scope="session")
def provider() -> Iterator[Provider]:
    with running_provider() as p:
        yield p


@pytest.fixture(autouse=True)
def _fresh_behaviour(provider: Provider) -> None:
    provider.behaviour = Behaviour()


@dataclass
class SsoTenant:
    tenant: TenantUnderTest
    agent: Actor
    client: Client
    # Audit entries after this id are the running test's.
    audit_after: str = ""

    @property
    def slug(self) -> str:
        return self.tenant.slug


async def configure(
    client: httpx.AsyncClient, t: SsoTenant, provider: Provider, **settings: object
) -> httpx.Response:
    body = {"issuer": provider.issuer, "client_id": t.client.client_id, **settings}
    r = await client.put("/api/v1/sso", headers=t.tenant.admin.headers, json=body)
    assert r.status_code == 200, r.text
    return r


# Tenants live for the whole session, one of each kind per backend, set back
# to their defaults for each test: signing a tenant up costs more than most of
# these tests.
_tenants: dict[tuple[str, str], SsoTenant] = {}


async def _sso_tenant(
    client: httpx.AsyncClient, runtime: Runtime, provider: Provider, backend: str, kind: str
) -> SsoTenant:
    t = _tenants.get((backend, kind))
    if t is None:
        tenant = await sign_up(client)
        agent = await add_user(client, tenant, "agent", teams=["front-line"])
        registered = provider.add_client(f"{runtime.settings.public_url}/sso/{tenant.slug}/")
        t = _tenants[(backend, kind)] = SsoTenant(tenant=tenant, agent=agent, client=registered)
    await configure(client, t, provider, client_secret=t.client.client_secret)
    latest = await client.get(
        "/api/v1/audit-log", headers=t.tenant.admin.headers, params={"limit": 1}
    )
    t.audit_after = latest.json()["items"][0]["id"]
    return t


@pytest.fixture
async def sso_tenant(
    client: httpx.AsyncClient, runtime: Runtime, provider: Provider, backend: str
) -> SsoTenant:
    """A tenant with an agent, signing in through ``provider`` (no JIT, SSO optional)."""
    return await _sso_tenant(client, runtime, provider, backend, "one")


@pytest.fixture
async def other_sso_tenant(
    client: httpx.AsyncClient, runtime: Runtime, provider: Provider, backend: str
) -> SsoTenant:
    """Another such tenant, on the same provider."""
    return await _sso_tenant(client, runtime, provider, backend, "other")


def person(email: str, *, verified: bool = True) -> Person:
    return Person(subject=f"sub-{uuid.uuid4().hex[:8]}", email=email, email_verified=verified)


async def through_provider(client: httpx.AsyncClient, slug: str) -> str:
    """Start signing in and let the provider sign ``behaviour.person`` in.

    Returns the path and query the provider sends the browser back to.
    """
    start = await client.get(f"/sso/{slug}/login")
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient(timeout=10, verify=BROWSER_TLS) as browser:
        at_provider = await browser.get(start.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    return f"{back.path}?{back.query}"


async def sso_sign_in(client: httpx.AsyncClient, slug: str) -> httpx.Response:
    return await client.get(await through_provider(client, slug))
