"""Bad input anywhere gets a 4xx problem, never a 500, and leaves nothing half-written."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from conftest import PASSWORD, TenantUnderTest, unique_slug
from frontdesk.runtime import Runtime
from frontdesk.tenancy.models import Tenant


def problem(r: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert r.status_code in statuses, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == r.status_code and body["title"] and body["type"]
    return body


async def tenant_count(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Tenant)) or 0)


async def test_an_oversized_body_is_413_and_nothing_is_stored(
    client: httpx.AsyncClient, runtime: Runtime, tenant: TenantUnderTest
) -> None:
    limit = runtime.settings.max_body_bytes
    customers = await client.get("/api/v1/customers", headers=tenant.admin.headers)
    before = len(customers.json()["items"])
    r = await client.post(
        "/api/v1/customers",
        headers={**tenant.admin.headers, "content-type": "application/json"},
        content=json.dumps({"display_name": "x" * (limit + 10)}).encode(),
    )
    problem(r, 413)
    after = await client.get("/api/v1/customers", headers=tenant.admin.headers)
    assert len(after.json()["items"]) == before


async def test_sign_up_with_bad_fields_creates_no_tenant(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    before = await tenant_count(runtime)
    good = {
        "tenant_name": "Acme",
        "tenant_slug": unique_slug(),
        "admin_email": "admin@acme.example",
        "admin_name": "Ada",
        "password": PASSWORD,
    }
    cases: list[tuple[dict[str, Any], int]] = [
        ({**good, "admin_email": "not an email"}, 400),
        ({**good, "password": "short"}, 400),
        ({**good, "tenant_slug": "A B"}, 400),
        ({**good, "tenant_slug": "admin"}, 400),
        ({**good, "tenant_name": 42}, 400),
        ({**good, "surprise": True}, 400),
        ({k: v for k, v in good.items() if k != "password"}, 400),
    ]
    for body, status in cases:
        problem(await client.post("/api/v1/signup", json=body), status)
    problem(
        await client.post(
            "/api/v1/signup", content=b"{not json", headers={"content-type": "application/json"}
        ),
        400,
    )
    assert await tenant_count(runtime) == before


async def test_requests_without_or_with_broken_credentials_are_401(
    client: httpx.AsyncClient,
) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Bearer fdk_nothex_secret"},
        {"Authorization": "Bearer fdk_" + "0" * 32 + "_guess"},
    ):
        problem(await client.get("/api/v1/tickets", headers=headers), 401)


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "customer_id": JSONISH | st.uuids().map(str),
        "subject": JSONISH,
        "priority": JSONISH | st.sampled_from(["urgent", "high", "normal", "low"]),
        "tags": JSONISH,
        "mood": JSONISH,
        "expected_by": JSONISH,
        "team_id": JSONISH | st.uuids().map(str),
        "channel": JSONISH,
    },
)


async def test_random_ticket_bodies_never_cause_a_server_error(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    # Hypothesis drives a synchronous test; it draws the bodies, the test's
    # own loop sends them.
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(body=FIELDS)
    def check(body: dict[str, Any]) -> None:
        bodies.append(body)

    bodies: list[dict[str, Any]] = []
    check()
    for body in bodies:
        r = await client.post("/api/v1/tickets", headers=tenant.admin.headers, json=body)
        assert r.status_code < 500, (body, r.text)
        if r.status_code >= 400:
            problem(r, r.status_code)
    assert bodies
