"""Fixtures for the crypto tests: a keyring and a throwaway SQLite database."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

import frontdesk.models  # noqa: F401 - the tenants table the keys refer to
from frontdesk.audit.models import AuditEntry
from frontdesk.crypto.keyring import MasterKeyring
from frontdesk.crypto.models import TenantKey
from frontdesk.crypto.service import clear_cipher_cache
from frontdesk.db import Base
from frontdesk.tenancy.models import Tenant


@pytest.fixture(autouse=True)
def _fresh_cipher_cache() -> Iterator[None]:
    clear_cipher_cache()
    yield
    clear_cipher_cache()


@pytest.fixture
def keyring() -> MasterKeyring:
    return MasterKeyring({1: os.urandom(32)})


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine("sqlite+aiosqlite:///" + str(tmp_path / "crypto.sqlite3"))
    async with engine.begin() as conn:
        await conn.run_sync(
            Base.metadata.create_all,
            tables=[Tenant.__table__, TenantKey.__table__, AuditEntry.__table__],
        )
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
