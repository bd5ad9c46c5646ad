"""Tenant key lifecycle on a real (SQLite) database: create, rotate, re-wrap, shred."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from frontdesk.audit.models import AuditEntry
from frontdesk.crypto import service
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.crypto.keyring import MasterKeyring
from frontdesk.crypto.models import TenantKey
from frontdesk.db import bind_tenant, tenant_context
from frontdesk.errors import Conflict, DecryptionError, TenantContextMissing
from frontdesk.ids import new_id

Sessions = async_sessionmaker[AsyncSession]
ROW = new_id()
PLACE = {"table": "contact_points", "column": "value", "row_id": ROW}


@asynccontextmanager
async def tenant_session(sessions: Sessions, tenant_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
    """One committed transaction working for one tenant, as a request would."""
    with tenant_context(tenant_id):
        async with sessions() as session, session.begin():
            yield session


async def new_tenant(sessions: Sessions, keyring: MasterKeyring) -> uuid.UUID:
    tenant_id = new_id()
    async with tenant_session(sessions, tenant_id) as session:
        await service.create_tenant_keys(session, keyring, tenant_id)
    return tenant_id


async def load(sessions: Sessions, keyring: MasterKeyring, tenant_id: uuid.UUID) -> TenantCipher:
    async with tenant_session(sessions, tenant_id) as session:
        return await service.load_tenant_cipher(session, keyring, tenant_id)


async def key_rows(sessions: Sessions, tenant_id: uuid.UUID) -> list[TenantKey]:
    async with tenant_session(sessions, tenant_id) as session:
        return list(await session.scalars(select(TenantKey).order_by(TenantKey.purpose)))


async def test_new_tenant_gets_a_data_key_and_an_index_key(
    sessions: Sessions, keyring: MasterKeyring
) -> None:
    tenant_id = await new_tenant(sessions, keyring)
    rows = await key_rows(sessions, tenant_id)
    assert [(r.purpose, r.version, r.master_version) for r in rows] == [
        ("data", 1, 1),
        ("index", 1, 1),
    ]
    assert all(r.tenant_id == tenant_id for r in rows)
    assert all(r.created_at.tzinfo is not None for r in rows)

    cipher = await load(sessions, keyring, tenant_id)
    assert cipher.tenant_id == tenant_id
    assert cipher.decrypt(cipher.encrypt("ana@example.com", **PLACE), **PLACE) == "ana@example.com"


async def test_keys_are_created_once(sessions: Sessions, keyring: MasterKeyring) -> None:
    tenant_id = await new_tenant(sessions, keyring)
    with pytest.raises(Conflict):
        async with tenant_session(sessions, tenant_id) as session:
            await service.create_tenant_keys(session, keyring, tenant_id)


async def test_session_bound_to_tenant_without_context_var(
    sessions: Sessions, keyring: MasterKeyring
) -> None:
    # Sign-up binds the session instead of setting the context variable.
    tenant_id = new_id()
    async with sessions() as session, session.begin():
        bind_tenant(session, tenant_id)
        await service.create_tenant_keys(session, keyring, tenant_id)
        cipher = await service.load_tenant_cipher(session, keyring, tenant_id)
    assert cipher.tenant_id == tenant_id


async def test_key_functions_refuse_another_tenant_than_the_sessions(
    sessions: Sessions, keyring: MasterKeyring
) -> None:
    ours = await new_tenant(sessions, keyring)
    theirs = await new_tenant(sessions, keyring)
    async with tenant_session(sessions, ours) as session:
        with pytest.raises(TenantContextMissing):
            await service.load_tenant_cipher(session, keyring, theirs)
        with pytest.raises(TenantContextMissing):
            await service.destroy_tenant_keys(session, theirs)
    async with sessions() as session:
        with pytest.raises(TenantContextMissing):
            await service.load_tenant_cipher(session, keyring, ours)
    assert len(await key_rows(sessions, theirs)) == 2


async def test_tenants_have_their_own_keys(sessions: Sessions, keyring: MasterKeyring) -> None:
    a = await load(sessions, keyring, await new_tenant(sessions, keyring))
    b = await load(sessions, keyring, await new_tenant(sessions, keyring))
    token = a.encrypt("ana@example.com", **PLACE)
    with pytest.raises(DecryptionError):
        b.decrypt(token, **PLACE)
    assert a.blind_index("email", "ana@example.com") != b.blind_index("email", "ana@example.com")


async def test_wrapped_key_copied_to_another_tenant_does_not_unwrap(
    sessions: Sessions, keyring: MasterKeyring
) -> None:
    a = await new_tenant(sessions, keyring)
    b = await new_tenant(sessions, keyring)
    (a_data,) = [r for r in await key_rows(sessions, a) if r.purpose == "data"]
    async with tenant_session(sessions, b) as session:
        await session.execute(
            update(TenantKey).where(TenantKey.purpose == "data").values(wrapped=a_data.wrapped)
        )
    with pytest.raises(DecryptionError):
        await load(sessions, keyring, b)


async def test_data_key_rotation_keeps_old_data_and_blind_indexes(
    sessions: Sessions, keyring: MasterKeyring
) -> None:
    tenant_id = await new_tenant(sessions, keyring)
    before = await load(sessions, keyring, tenant_id)
    old_token = before.encrypt("ana@example.com", **PLACE)
    old_index = before.blind_index("email", "ana@example.com")

    async with tenant_session(sessions, tenant_id) as session:
        assert await service.rotate_data_key(session, keyring, tenant_id) == 2
    async with tenant_session(sessions, tenant_id) as session:
        assert await service.rotate_data_key(session, keyring, tenant_id) == 3

    after = await load(sessions, keyring, tenant_id)
    assert after is not before
    assert after.data_key_versions == [1, 2, 3]
    new_token = after.encrypt("bob@example.com", **PLACE)
    assert new_token.startswith("fd1.3.")
    assert after.decrypt(old_token, **PLACE) == "ana@example.com"
    assert after.decrypt(new_token, **PLACE) == "bob@example.com"
    assert after.blind_index("email", "ana@example.com") == old_index


async def test_master_key_rotation_rewraps_every_key(
    sessions: Sessions, keyring: MasterKeyring
) -> None:
    tenant_id = await new_tenant(sessions, keyring)
    async with tenant_session(sessions, tenant_id) as session:
        await service.rotate_data_key(session, keyring, tenant_id)
    before = await load(sessions, keyring, tenant_id)
    old_token = before.encrypt("ana@example.com", **PLACE)
    old_index = before.blind_index("email", "ana@example.com")

    new_master = os.urandom(32)
    both = MasterKeyring({1: keyring.keys[1], 2: new_master})
    only_new = MasterKeyring({2: new_master})
    with pytest.raises(DecryptionError):
        await load(sessions, only_new, tenant_id)

    async with tenant_session(sessions, tenant_id) as session:
        assert await service.rewrap_tenant_keys(session, both, tenant_id) == 3
    async with tenant_session(sessions, tenant_id) as session:
        assert await service.rewrap_tenant_keys(session, both, tenant_id) == 0
        # Key rotation is in the tenant's audit log: once, for the re-wrap that moved keys.
        actions = (await session.scalars(select(AuditEntry.action))).all()
        assert sorted(actions) == ["keys.data_key_rotated", "keys.rewrapped"]
    assert {r.master_version for r in await key_rows(sessions, tenant_id)} == {2}

    after = await load(sessions, only_new, tenant_id)
    assert after.decrypt(old_token, **PLACE) == "ana@example.com"
    assert after.blind_index("email", "ana@example.com") == old_index
    with pytest.raises(DecryptionError):
        await load(sessions, keyring, tenant_id)


async def test_cache_skips_unwrapping_but_never_serves_another_keyring(
    sessions: Sessions, keyring: MasterKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id = await new_tenant(sessions, keyring)
    first = await load(sessions, keyring, tenant_id)

    def no_unwrap(*args: object) -> bytes:
        raise AssertionError("unwrapped despite a cached cipher")

    with monkeypatch.context() as patch:
        patch.setattr(MasterKeyring, "unwrap", no_unwrap)
        assert await load(sessions, keyring, tenant_id) is first

    impostor = MasterKeyring({1: os.urandom(32)})
    with pytest.raises(DecryptionError):
        await load(sessions, impostor, tenant_id)


async def test_destroyed_keys_make_data_unreadable(
    sessions: Sessions, keyring: MasterKeyring
) -> None:
    tenant_id = await new_tenant(sessions, keyring)
    survivor = await new_tenant(sessions, keyring)
    await load(sessions, keyring, tenant_id)  # warm the cache: shredding must beat it

    async with tenant_session(sessions, tenant_id) as session:
        assert await service.destroy_tenant_keys(session, tenant_id) == 2

    assert await key_rows(sessions, tenant_id) == []
    with pytest.raises(DecryptionError, match="destroyed"):
        await load(sessions, keyring, tenant_id)
    async with tenant_session(sessions, tenant_id) as session:
        with pytest.raises(DecryptionError, match="destroyed"):
            await service.rotate_data_key(session, keyring, tenant_id)
    assert len(await key_rows(sessions, survivor)) == 2


async def test_keys_shredded_elsewhere_are_noticed_despite_the_cache(
    sessions: Sessions, keyring: MasterKeyring
) -> None:
    # Another process deletes the rows: this process's cache never hears of it.
    tenant_id = await new_tenant(sessions, keyring)
    await load(sessions, keyring, tenant_id)
    async with tenant_session(sessions, tenant_id) as session:
        await session.execute(TenantKey.__table__.delete())
    with pytest.raises(DecryptionError):
        await load(sessions, keyring, tenant_id)
