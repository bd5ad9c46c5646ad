"""Tenant isolation in the database itself: the ORM guard, and PostgreSQL's row-level security."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from conftest import sign_up
from frontdesk.auth.models import User
from frontdesk.db import tenant_tables
from frontdesk.errors import TenantContextMissing
from frontdesk.runtime import Runtime
from frontdesk.tickets.models import Category


async def test_orm_refuses_a_tenant_table_query_with_no_tenant(runtime: Runtime) -> None:
    async with runtime.db.sessions() as session:
        with pytest.raises(TenantContextMissing):
            await session.execute(select(User))


async def test_orm_adds_the_tenant_filter_to_every_query(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a = await sign_up(client)
    b = await sign_up(client)
    async with runtime.db.session(a.id) as session:
        users = (await session.scalars(select(User))).all()
        categories = (await session.scalars(select(Category))).all()
    assert {u.tenant_id for u in users} == {a.id}
    assert {c.tenant_id for c in categories} == {a.id}
    async with runtime.db.session(b.id) as session:
        # Asking for A's row by its primary key from B's session finds nothing.
        assert await session.get(User, (a.id, a.admin.user_id)) is None


async def test_orm_refuses_to_write_another_tenants_row(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a = await sign_up(client)
    b = await sign_up(client)
    with pytest.raises(TenantContextMissing):
        async with runtime.db.session(a.id) as session:
            session.add(Category(tenant_id=b.id, slug="sneaky", name="Sneaky"))
            await session.flush()


@pytest.mark.postgres_only
async def test_raw_select_without_where_returns_only_the_sessions_tenant(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a = await sign_up(client)
    b = await sign_up(client)
    for table in tenant_tables():
        async with runtime.db.session(a.id) as session:
            rows = (await session.execute(text(f'SELECT DISTINCT tenant_id FROM "{table}"'))).all()
        assert {r[0] for r in rows} <= {a.id}, table
    async with runtime.db.session(b.id) as session:
        rows = (await session.execute(text("SELECT tenant_id FROM users"))).all()
    assert {r[0] for r in rows} == {b.id}


@pytest.mark.postgres_only
async def test_raw_select_with_no_tenant_returns_nothing(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await sign_up(client)
    async with runtime.db.session() as session:
        count = (await session.execute(text("SELECT count(*) FROM users"))).scalar()
    assert count == 0


@pytest.mark.postgres_only
async def test_insert_with_another_tenants_id_fails(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a = await sign_up(client)
    b = await sign_up(client)
    with pytest.raises((ProgrammingError, DBAPIError), match="row-level security"):
        async with runtime.db.session(a.id) as session:
            await session.execute(
                text(
                    "INSERT INTO ticket_categories (tenant_id, id, slug, name, builtin) "
                    "VALUES (:t, :i, 'sneaky', 'Sneaky', false)"
                ),
                {"t": b.id, "i": uuid.uuid4()},
            )
    # and an UPDATE moving a row to another tenant fails the same way
    with pytest.raises((ProgrammingError, DBAPIError), match="row-level security"):
        async with runtime.db.session(a.id) as session:
            await session.execute(text("UPDATE ticket_categories SET tenant_id = :t"), {"t": b.id})


@pytest.mark.postgres_only
async def test_app_role_neither_owns_nor_bypasses(runtime: Runtime) -> None:
    async with runtime.db.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
        owned = (
            await conn.execute(
                text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
            )
        ).scalar()
        forced = (
            await conn.execute(
                text(
                    "SELECT relname FROM pg_class WHERE relkind = 'r' "
                    "AND relrowsecurity AND relforcerowsecurity"
                )
            )
        ).all()
    assert tuple(row) == (False, False)
    assert owned == 0
    assert set(tenant_tables()) <= {r[0] for r in forced}


@pytest.mark.postgres_only
async def test_history_tables_are_append_only_for_the_app(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a = await sign_up(client)
    with pytest.raises((ProgrammingError, DBAPIError), match="permission denied"):
        async with runtime.db.session(a.id) as session:
            await session.execute(text("DELETE FROM audit_log"))


async def test_a_count_over_a_table_counts_only_the_sessions_tenant(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    # select_from(Model) with no entity in the columns once escaped the ORM
    # filter on SQLite (PostgreSQL's row-level security still held).
    from sqlalchemy import func

    a = await sign_up(client)
    await sign_up(client)
    async with runtime.db.session(a.id) as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
    async with runtime.db.sessions() as session:
        with pytest.raises(TenantContextMissing):
            await session.scalar(select(func.count()).select_from(User))
