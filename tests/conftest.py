"""Fixtures: every API test runs against SQLite and against a real PostgreSQL.

Each backend gets one freshly migrated database per test session; tests
isolate themselves by signing up their own tenants through the API, as a
company would. PostgreSQL tests connect as the non-owner app role, so
row-level security is live in every one of them.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Before frontdesk is imported: the cheapest argon2 profile (see auth/passwords.py).
os.environ.setdefault("FRONTDESK_INSECURE_FAST_PASSWORD_HASHING", "1")

import asyncpg
import httpx
import pytest
from litestar import Litestar
from sqlalchemy.engine import make_url

from frontdesk.app import create_app
from frontdesk.clock import Clock
from frontdesk.clock import clock as the_clock
from frontdesk.config import Settings, normalise_database_url
from frontdesk.migrate import upgrade
from frontdesk.runtime import Runtime

PG_URL = os.environ.get(
    "FRONTDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct horse battery"


def postgres_enabled() -> bool:
    return os.environ.get("FRONTDESK_TEST_POSTGRES", "1") != "0"


BACKENDS = ["sqlite", "postgres"]


async def _create_pg_database(name: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(PG_URL))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        # A test database need not survive a power cut: commits return
        # without waiting for the WAL flush (about 6 ms a commit on this
        # disk), and everything else about PostgreSQL stays as it is.
        await conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        await conn.close()


async def _drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(PG_URL))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def pg_database_url(name: str) -> str:
    url = make_url(normalise_database_url(PG_URL)).set(database=name)
    return url.render_as_string(hide_password=False)


def make_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "master_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "embedded": False,
        # Same trade as synchronous_commit above, for the test databases only.
        "sqlite_synchronous": "normal",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def _pg_available() -> bool:
    if not postgres_enabled():
        if IN_CI:
            pytest.fail("PostgreSQL is required in CI")
        return False
    try:
        asyncio.run(_probe_pg())
    except (OSError, asyncpg.PostgresError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {exc}")
        return False
    return True


async def _probe_pg() -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(PG_URL), timeout=5)
    await conn.close()


@pytest.fixture(scope="session")
def migrated(
    tmp_path_factory: pytest.TempPathFactory, _pg_available: bool
) -> Iterator[dict[str, Settings]]:
    """One migrated database per backend for the whole session."""
    out: dict[str, Settings] = {}
    sqlite_dir = tmp_path_factory.mktemp("sqlite")
    out["sqlite"] = make_settings(
        sqlite_dir, f"sqlite+aiosqlite:///{sqlite_dir / 'frontdesk.sqlite3'}"
    )
    asyncio.run(upgrade(out["sqlite"]))
    pg_name = ""
    if _pg_available:
        pg_name = f"frontdesk_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_create_pg_database(pg_name))
        out["postgres"] = make_settings(tmp_path_factory.mktemp("pg"), pg_database_url(pg_name))
        asyncio.run(upgrade(out["postgres"]))
    try:
        yield out
    finally:
        if pg_name:
            asyncio.run(_drop_pg_database(pg_name))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test about PostgreSQL is not run on SQLite at all (rather than skipped)."""
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        on_sqlite = params is not None and params.params.get("backend") == "sqlite"
        (drop if on_sqlite and item.get_closest_marker("postgres_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, migrated: dict[str, Settings]) -> str:
    name: str = request.param
    if name not in migrated:
        pytest.skip("PostgreSQL is not available (set up per infra/README.md)")
    return name


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The clock timers and SLAs read, stopped (Friday 27 Nov 2026, 09:00 UTC) until moved."""
    the_clock.set(dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC))
    try:
        yield the_clock
    finally:
        the_clock.reset()


@pytest.fixture
def settings(backend: str, migrated: dict[str, Settings]) -> Settings:
    return migrated[backend]


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime(settings, pool_size=4)
    # Worker threads only for the tests that need jobs run (the ``worker`` fixture).
    await rt.start(worker=False)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
async def worker(runtime: Runtime) -> AsyncIterator[Runtime]:
    """Jobs run: the in-process broker with worker threads (``await drain(runtime)`` waits)."""
    runtime.jobs.start_worker(threads=2)
    yield runtime


async def drain(runtime: Runtime) -> None:
    """Wait until every job sent so far, and every job those sent, has run."""
    await asyncio.to_thread(runtime.jobs.join)


# Building the app (registering every route of every domain and adapter) costs
# more than most tests; one app serves every test of the same settings and
# installed adapters. Its handlers take the runtime from ``app.state``, which
# each test sets to its own, and adapters' routes are their classes' (the
# instances in a runtime's registry are not captured); httpx's transport runs
# no lifespan, so the app never starts or closes a runtime of its own.
_apps: dict[object, Litestar] = {}


def app_for(runtime: Runtime) -> Litestar:
    registry = runtime.registry
    key = (
        runtime.settings,
        tuple((kind, registry.get(kind)) for kind in registry.kinds()),
    )
    app = _apps.get(key)
    if app is None:
        app = _apps[key] = create_app(runtime=runtime)
    app.state.runtime = runtime
    return app


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    # httpx's ASGI transport runs the app on the test's own event loop, which
    # asyncpg's connections are bound to (Litestar's test client uses a
    # second loop in a thread).
    app = app_for(runtime)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class Actor:
    """A signed-in user of a test tenant."""

    tenant_id: uuid.UUID
    slug: str
    user_id: uuid.UUID
    email: str
    token: str
    role: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class TenantUnderTest:
    admin: Actor
    users: dict[str, Actor] = field(default_factory=dict)
    teams: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def id(self) -> uuid.UUID:
        return self.admin.tenant_id

    @property
    def slug(self) -> str:
        return self.admin.slug


def unique_slug(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def sign_up(client: httpx.AsyncClient, slug: str | None = None) -> TenantUnderTest:
    slug = slug or unique_slug()
    email = f"admin@{slug}.example.com"
    r = await client.post(
        "/api/v1/signup",
        json={
            "tenant_name": f"Company {slug}",
            "tenant_slug": slug,
            "admin_email": email,
            "admin_name": "Ada Admin",
            "password": PASSWORD,
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    admin = Actor(
        tenant_id=uuid.UUID(body["tenant_id"]),
        slug=slug,
        user_id=uuid.UUID(body["user_id"]),
        email=email,
        token=body["tokens"]["access_token"],
        role="admin",
    )
    teams = await client.get("/api/v1/teams", headers=admin.headers)
    assert teams.status_code == 200, teams.text
    return TenantUnderTest(admin=admin, teams={t["slug"]: uuid.UUID(t["id"]) for t in teams.json()})


async def add_user(
    client: httpx.AsyncClient, tenant: TenantUnderTest, role: str, *, teams: list[str] | None = None
) -> Actor:
    email = f"{role}-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.com"
    r = await client.post(
        "/api/v1/users",
        headers=tenant.admin.headers,
        json={
            "email": email,
            "display_name": role.title(),
            "role": role,
            "password": PASSWORD,
            "team_ids": [str(tenant.teams[t]) for t in (teams or [])],
        },
    )
    assert r.status_code == 201, r.text
    user_id = uuid.UUID(r.json()["id"])
    login = await client.post(
        "/api/v1/auth/login", json={"tenant": tenant.slug, "email": email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    actor = Actor(
        tenant_id=tenant.id,
        slug=tenant.slug,
        user_id=user_id,
        email=email,
        token=login.json()["access_token"],
        role=role,
    )
    tenant.users[role] = actor
    return actor


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> TenantUnderTest:
    """A tenant with one user of every built-in role (engineer in engineering)."""
    t = await sign_up(client)
    await add_user(client, t, "agent", teams=["front-line"])
    await add_user(client, t, "engineer", teams=["engineering"])
    await add_user(client, t, "success_manager", teams=["success"])
    t.users["admin"] = t.admin
    return t


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient) -> TenantUnderTest:
    return await sign_up(client)


@pytest.fixture
async def fresh_settings(
    backend: str, tmp_path: Path, migrated: dict[str, Settings]
) -> AsyncIterator[Settings]:
    """A database of its own, for tests that look at every row or every tenant."""
    if backend == "sqlite":
        s = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'own.sqlite3'}")
        await upgrade(s)
        yield s
        return
    name = f"frontdesk_test_{uuid.uuid4().hex[:12]}"
    await _create_pg_database(name)
    try:
        s = make_settings(tmp_path, pg_database_url(name))
        await upgrade(s)
        yield s
    finally:
        await _drop_pg_database(name)
