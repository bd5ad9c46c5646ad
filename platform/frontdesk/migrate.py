"""Schema migrations (Alembic) and, on PostgreSQL, the app role and its grants."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from frontdesk.config import Settings
from frontdesk.db import create_engine, tenant_tables

MIGRATIONS = Path(__file__).parent / "migrations"
# Tables the app may only append to and read: the history must not be rewritten.
APPEND_ONLY = frozenset({"ticket_events", "audit_log"})
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _grant_app_role(conn: Connection, settings: Settings) -> None:
    role = settings.app_db_role
    if not _ROLE.match(role):
        raise ValueError(f"FRONTDESK_APP_DB_ROLE {role!r} is not a plain role name")
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if exists is None:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE'))
        if settings.app_db_password:
            conn.execute(
                text(f"ALTER ROLE \"{role}\" PASSWORD '{_quote(settings.app_db_password)}'")
            )
    conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
    tables = [
        r[0]
        for r in conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).all()
        if r[0] != "alembic_version"
    ]
    for table in tables:
        privileges = "SELECT, INSERT" if table in APPEND_ONLY else "SELECT, INSERT, UPDATE, DELETE"
        conn.execute(text(f'REVOKE ALL ON TABLE "{table}" FROM "{role}"'))
        conn.execute(text(f'GRANT {privileges} ON TABLE "{table}" TO "{role}"'))
    conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))


def _quote(value: str) -> str:
    return value.replace("'", "''")


def enable_row_level_security(conn: Connection, table: str) -> None:
    """Called by migrations for each tenant-owned table they create."""
    conn.execute(text(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY'))
    conn.execute(text(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY'))
    conn.execute(text(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"'))
    conn.execute(
        text(
            f'CREATE POLICY tenant_isolation ON "{table}" '
            "USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid) "
            "WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
        )
    )


def missing_row_level_security(conn: Connection) -> list[str]:
    """Tenant-owned tables without FORCE'd row-level security (should be none)."""
    rows = conn.execute(
        text(
            "SELECT relname FROM pg_class WHERE relkind = 'r' "
            "AND relrowsecurity AND relforcerowsecurity"
        )
    ).all()
    protected = {r[0] for r in rows}
    return [t for t in tenant_tables() if t not in protected]


async def upgrade(settings: Settings, revision: str = "head") -> None:
    import frontdesk.models  # noqa: F401 - the metadata must be complete

    if settings.is_sqlite:
        # A fresh data folder: SQLite creates the file, not the folders above it.
        Path(make_url(settings.database_url).database or ".").parent.mkdir(
            parents=True, exist_ok=True
        )
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), revision))
            if conn.dialect.name == "postgresql":
                await conn.run_sync(lambda c: _grant_app_role(c, settings))
                missing = await conn.run_sync(missing_row_level_security)
                if missing:
                    raise RuntimeError(f"tables without row-level security: {missing}")
    finally:
        await engine.dispose()


async def current_revision(settings: Settings) -> str | None:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            has = await conn.run_sync(lambda c: c.dialect.has_table(c, "alembic_version"))
            if not has:
                return None
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    finally:
        await engine.dispose()
