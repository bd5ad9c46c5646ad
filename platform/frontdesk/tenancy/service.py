"""Tenant lifecycle: sign-up, lookup, deletion with crypto-shredding."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from typing import Any, cast

import msgspec
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.crypto import service as crypto
from frontdesk.db import Base, create_engine, enter_tenant, tenant_tables
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.runtime import Runtime
from frontdesk.tenancy.models import Tenant

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
RESERVED_SLUGS = frozenset({"admin", "api", "www", "app", "static", "schema", "system"})

DEFAULT_TEAMS = (
    ("front-line", "Front line", "front_line", True),
    ("engineering", "Engineering", "engineering", False),
    ("after-sales", "After-sales", "after_sales", False),
    ("success", "Customer success", "success", False),
)


class SignUp(msgspec.Struct, frozen=True, kw_only=True):
    tenant: Tenant
    admin_user_id: uuid.UUID


def check_slug(slug: str) -> str:
    if not _SLUG.match(slug) or slug in RESERVED_SLUGS:
        raise InvalidInput(
            "a tenant slug is 3–63 lower-case letters, digits and hyphens, not reserved"
        )
    return slug


async def find_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    """The active tenant with this slug, if there is one."""
    return await session.scalar(
        select(Tenant).where(Tenant.slug == slug, Tenant.status == "active")
    )


async def get_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant:
    tenant = await find_tenant_by_slug(session, slug)
    if tenant is None:
        raise NotFound("no such tenant")
    return tenant


async def get_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None or tenant.status != "active":
        raise NotFound("no such tenant")
    return tenant


async def list_tenant_ids(session: AsyncSession) -> list[uuid.UUID]:
    return list((await session.scalars(select(Tenant.id).order_by(Tenant.id))).all())


async def sign_up(
    session: AsyncSession,
    runtime: Runtime,
    *,
    name: str,
    slug: str,
    admin_email: str,
    admin_name: str,
    admin_password: str | None,
    teams: Sequence[tuple[str, str, str, bool]] = DEFAULT_TEAMS,
) -> SignUp:
    """Create a tenant with its keys, built-in roles, teams and first admin.

    ``session`` must be fresh (not yet bound to a tenant): it is bound to
    the new tenant here, and everything is written in its one transaction.
    ``teams`` (slug, name, kind, is default): a manifest brings its own; the
    admin leads the default one.
    """
    from frontdesk.auth import service as auth
    from frontdesk.tickets import service as tickets

    check_slug(slug)
    if not name.strip():
        raise InvalidInput("a tenant needs a name")
    if await session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict(f"the tenant slug {slug!r} is taken")
    tenant = Tenant(slug=slug, name=name.strip())
    session.add(tenant)
    await session.flush()
    await enter_tenant(session, tenant.id)
    await crypto.create_tenant_keys(session, runtime.keyring, tenant.id)
    cipher = await crypto.load_tenant_cipher(session, runtime.keyring, tenant.id)
    roles = await auth.seed_builtin_roles(session)
    admin = await auth.create_user(
        session,
        cipher,
        email=admin_email,
        display_name=admin_name,
        password=admin_password,
        role=roles["admin"],
        actor_user_id=None,
    )
    for team_slug, team_name, kind, is_default in teams:
        team = await auth.create_team(
            session, admin.id, slug=team_slug, name=team_name, kind=kind, is_default=is_default
        )
        if is_default:
            await auth.set_team_member(session, admin.id, team, admin, is_lead=True)
    await tickets.seed_categories(session)
    return SignUp(tenant=tenant, admin_user_id=admin.id)


async def rename_tenant(
    session: AsyncSession, actor_user_id: uuid.UUID | None, tenant: Tenant, name: str
) -> None:
    from frontdesk.audit.service import record

    if not name.strip():
        raise InvalidInput("a tenant needs a name")
    before, tenant.name = tenant.name, name.strip()
    await session.flush()
    await record(
        session,
        actor_user_id=actor_user_id,
        action="tenant.renamed",
        subject_type="tenant",
        subject_id=tenant.id,
        before=before,
        after=tenant.name,
    )


class DeletedTenant(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: uuid.UUID
    rows: int
    redis_keys: int


async def delete_tenant(runtime: Runtime, slug: str) -> DeletedTenant:
    """Delete a tenant for good: its keys first (crypto-shredding: whatever copy of
    its ciphertexts survives, in a backup or a replica, is unreadable), then
    every row it owns and the tenant itself in the same transaction; after the
    commit, its attachment files and its keys in Redis.

    Runs as the tables' owner: the app role may not delete history (ticket
    events, the audit log). Row-level security applies to the owner too, so
    the transaction works as the tenant.
    """
    settings = runtime.settings
    engine = create_engine(
        settings.database_url, pool_size=1, sqlite_synchronous=settings.sqlite_synchronous
    )
    rows = 0
    try:
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as session, session.begin():
            tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
            if tenant is None:
                raise NotFound(f"no tenant {slug!r}")
            tenant_id = tenant.id
            await enter_tenant(session, tenant_id)
            rows += await crypto.destroy_tenant_keys(session, tenant_id)
            owned = set(tenant_tables())
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in owned or (
                    "tenant_id" in table.columns and table.name != "tenants"
                ):
                    result = await session.execute(
                        delete(table).where(table.c.tenant_id == tenant_id)
                    )
                    rows += cast("CursorResult[Any]", result).rowcount
            await session.execute(delete(Tenant).where(Tenant.id == tenant_id))
    finally:
        await engine.dispose()
    await asyncio.to_thread(runtime.attachments.delete_tenant, tenant_id)
    redis_keys = await runtime.quotas.forget_tenant(tenant_id)
    redis_keys += await asyncio.to_thread(runtime.jobs.forget_tenant, tenant_id)
    return DeletedTenant(tenant_id=tenant_id, rows=rows + 1, redis_keys=redis_keys)


async def rewrap_all_tenant_keys(runtime: Runtime) -> tuple[int, int]:
    """Re-wrap every tenant's keys under the newest master key, one tenant per transaction.

    Running it again is harmless; requests keep being served throughout,
    since any process with the keyring unwraps either version.
    """
    async with runtime.db.session() as session:
        tenant_ids = await list_tenant_ids(session)
    rows = 0
    for tenant_id in tenant_ids:
        async with runtime.db.session(tenant_id) as session:
            rows += await crypto.rewrap_tenant_keys(session, runtime.keyring, tenant_id)
    return len(tenant_ids), rows
