"""Database access: the declarative base, engines, sessions and the tenant guard.

Tenant isolation is enforced twice. The ORM adds ``tenant_id = <current>``
to every query on a tenant-owned model (and refuses to run one with no
tenant in context); on PostgreSQL every transaction also runs
``set_config('app.tenant_id', …, true)`` so row-level security policies
filter again, catching raw SQL and forgotten filters.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from sqlalchemy import (
    DateTime,
    MetaData,
    TypeDecorator,
    Uuid,
    event,
    text,
)
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql import util as sql_util
from sqlalchemy.sql.cache_key import HasCacheKey

from frontdesk.config import Settings
from frontdesk.errors import ConfigurationError, TenantContextMissing
from frontdesk.ids import new_id

log = logging.getLogger("frontdesk.db")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime(), uuid.UUID: Uuid()}


class TenantScoped:
    """Mixin for every tenant-owned table: ``tenant_id`` leads the primary key.

    Foreign keys to another tenant-owned table are composite
    ``(tenant_id, x_id)``, so a row can never point into another tenant.
    """

    # First in the table and its primary key: the distribution column if the
    # schema ever moves to Citus, and the leading column of every index.
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, sort_order=-100)


class TenantOwned(TenantScoped):
    """A tenant-owned table with its own id: ``(tenant_id, id)`` is the primary key."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id, sort_order=-99)


def tenant_tables() -> list[str]:
    """Names of every table whose rows belong to one tenant."""
    return sorted(
        t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.primary_key.columns
    )


# --- the tenant in context -------------------------------------------------

_tenant: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar(
    "frontdesk_tenant", default=None
)


def current_tenant() -> uuid.UUID:
    tenant_id = _tenant.get()
    if tenant_id is None:
        raise TenantContextMissing("no tenant in context")
    return tenant_id


def current_tenant_or_none() -> uuid.UUID | None:
    return _tenant.get()


@contextlib.contextmanager
def tenant_context(tenant_id: uuid.UUID | None) -> Iterator[None]:
    token = _tenant.set(tenant_id)
    try:
        yield
    finally:
        _tenant.reset(token)


def set_tenant(tenant_id: uuid.UUID | None) -> None:
    """Set the tenant for the rest of this task (request handlers use this)."""
    _tenant.set(tenant_id)


# Both run on every query that names no tenant-owned entity (a webhook's
# token lookup, a ticket number's prefix), so both are remembered: the table
# names until another model is declared, and whether a statement reads a
# tenant table by the statement's shape (its SQLAlchemy cache key, which
# names every table and leaves out parameter values).
_tenant_names: tuple[int, frozenset[str]] = (-1, frozenset())
_reads_tenant_table: dict[Any, bool] = {}
_READS_CACHE_SIZE = 2_000


def _tenant_table_names() -> frozenset[str]:
    global _tenant_names
    declared, names = _tenant_names
    if declared != len(Base.metadata.tables):
        declared = len(Base.metadata.tables)
        names = frozenset(
            t.name for t in Base.metadata.tables.values() if "tenant_id" in t.primary_key.columns
        )
        _tenant_names = (declared, names)
        _reads_tenant_table.clear()
    return names


def _involves_tenant_models(state: ORMExecuteState) -> bool:
    if any(issubclass(m.class_, TenantScoped) for m in state.all_mappers):
        return True
    # ``select(func.count()).select_from(Model)`` names no entity in its
    # columns: look at the tables it reads, too.
    statement = state.statement
    if not hasattr(statement, "get_final_froms"):
        return False
    names = _tenant_table_names()
    cache_key = statement._generate_cache_key() if isinstance(statement, HasCacheKey) else None
    shape = None if cache_key is None else cache_key.key
    if shape is not None:
        known = _reads_tenant_table.get(shape)
        if known is not None:
            return known
    reads = any(
        getattr(table, "name", None) in names
        for from_ in statement.get_final_froms()
        for table in sql_util.find_tables(from_, include_aliases=True, include_joins=True)
    )
    if shape is not None:
        if len(_reads_tenant_table) >= _READS_CACHE_SIZE:
            _reads_tenant_table.clear()
        _reads_tenant_table[shape] = reads
    return reads


def session_tenant(session: Session) -> uuid.UUID | None:
    """The tenant a session works for: bound at creation, else the context's."""
    tenant_id = session.info.get("tenant_id")
    return tenant_id if tenant_id is not None else _tenant.get()


def bind_tenant(session: Session | AsyncSession, tenant_id: uuid.UUID) -> None:
    """Bind a session to a tenant before its first query.

    The tenant lives on the session rather than only in a context variable
    because Litestar may resolve dependencies in separate tasks.
    """
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    bound = sync.info.get("tenant_id")
    if bound is not None and bound != tenant_id:
        raise TenantContextMissing("a session cannot switch tenants")
    sync.info["tenant_id"] = tenant_id


@event.listens_for(Session, "do_orm_execute")
def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if not _involves_tenant_models(state):
        return
    tenant_id = session_tenant(state.session)
    if tenant_id is None:
        raise TenantContextMissing("a tenant-owned table was queried with no tenant in context")
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
            track_closure_variables=False,
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    tenant_id = session_tenant(session)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if tenant_id is None:
            raise TenantContextMissing("a tenant-owned row was written with no tenant in context")
        # Unset until stamped here, whatever the annotation says.
        written: uuid.UUID | None = getattr(obj, "tenant_id", None)
        if written is None:
            obj.tenant_id = tenant_id
        elif written != tenant_id:
            raise TenantContextMissing("a row of another tenant was written")
    for obj in session.dirty:
        if isinstance(obj, TenantScoped) and tenant_id is not None and obj.tenant_id != tenant_id:
            raise TenantContextMissing("a row of another tenant was changed")


@event.listens_for(Session, "after_begin")
def _set_rls_tenant(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    if connection.dialect.name != "postgresql":
        return
    tenant_id = session_tenant(session)
    connection.execute(
        text("SELECT set_config('app.tenant_id', :tenant, true)"),
        {"tenant": str(tenant_id) if tenant_id else ""},
    )


async def enter_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Bind a session that may already be in a transaction (after a global lookup).

    Row-level security read ``app.tenant_id`` when the transaction began, so
    it is set again here for the rest of the transaction.
    """
    bind_tenant(session, tenant_id)
    if session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": str(tenant_id)}
        )


# --- engines ---------------------------------------------------------------


def _sqlite_engine(url: str, synchronous: str) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Take over transaction control so writers queue on BEGIN IMMEDIATE
        # instead of failing when a read transaction upgrades to a write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted and overwritten content is zeroed in the file, not left in
        # free space where a copy of the file would still show it (erasure).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def app_database_url(settings: Settings) -> str:
    """The URL the application connects with (never the tables' owner on PostgreSQL)."""
    if settings.app_database_url:
        return settings.app_database_url
    if not settings.is_postgres:
        return settings.database_url
    url = make_url(settings.database_url).set(
        username=settings.app_db_role, password=settings.app_db_password or None
    )
    return url.render_as_string(hide_password=False)


def create_engine(
    url: str, *, pool_size: int = 10, sqlite_synchronous: str = "full"
) -> AsyncEngine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, sqlite_synchronous)
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


AfterCommit = Callable[[AsyncSession], Awaitable[None]]


class Database:
    """The application's engine and session factory."""

    def __init__(self, settings: Settings, *, pool_size: int = 10) -> None:
        self.settings = settings
        self.engine = create_engine(
            app_database_url(settings),
            pool_size=pool_size,
            sqlite_synchronous=settings.sqlite_synchronous,
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Effects that must wait for the commit: sending jobs, realtime events.
        self.after_commit: list[AfterCommit] = []

    async def committed(self, session: AsyncSession) -> None:
        """Call once a session's transaction has committed."""
        for hook in self.after_commit:
            await hook(session)

    async def compact_after_erasure(self) -> None:
        """SQLite: fold the write-ahead log into the database and empty it, so the
        pages as they were before an erasure are gone from the WAL file too.
        (PostgreSQL: dead row versions go at the next VACUUM; see docs/privacy.md.)"""
        if self.engine.dialect.name != "sqlite":
            return
        path = make_url(self.settings.database_url).database
        if not path:
            return

        def checkpoint() -> None:
            conn = sqlite3.connect(path, timeout=30)
            try:
                busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if busy:
                    log.warning("the WAL could not be emptied after an erasure (readers busy)")
            finally:
                conn.close()

        await asyncio.to_thread(checkpoint)

    async def check_app_role(self) -> None:
        """Refuse to run on PostgreSQL as a role that would bypass row-level security."""
        if self.engine.dialect.name != "postgresql":
            return
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT r.rolsuper, r.rolbypassrls, "
                        "EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = current_schema() "
                        "AND t.tableowner = current_user) "
                        "FROM pg_roles r WHERE r.rolname = current_user"
                    )
                )
            ).one()
        if any(row):
            raise ConfigurationError(
                "the application's database role is a superuser, bypasses row-level "
                "security or owns the tables; connect as the app role (FRONTDESK_APP_DATABASE_URL)"
            )

    @contextlib.asynccontextmanager
    async def session(self, tenant_id: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session:
            if tenant_id is not None:
                bind_tenant(session, tenant_id)
            async with session.begin():
                yield session
            await self.committed(session)

    async def dispose(self) -> None:
        await self.engine.dispose()
