"""Tenant key lifecycle: create, load as a cipher, rotate, re-wrap under a new master key, shred.

Every function expects the session to work for ``tenant_id`` (``frontdesk.db.bind_tenant``
or ``tenant_context``); the caller owns the transaction.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.audit.service import record
from frontdesk.crypto.cipher import KEY_BYTES, TenantCipher, length_prefixed
from frontdesk.crypto.keyring import MasterKeyring
from frontdesk.crypto.models import DATA, INDEX, KeyPurpose, TenantKey
from frontdesk.db import session_tenant
from frontdesk.errors import Conflict, DecryptionError, TenantContextMissing

_WRAP_AAD_DOMAIN = b"frontdesk.tenant-key.v1"
CIPHER_CACHE_SIZE = 1024

# (keyring fingerprint, (purpose, version, row id) of every key row)
_Fingerprint = tuple[str, tuple[tuple[str, int, uuid.UUID], ...]]


def wrap_aad(tenant_id: uuid.UUID, purpose: KeyPurpose, version: int) -> bytes:
    """Binds a wrapped key to its row, so a key copied to another tenant will not unwrap."""
    return _WRAP_AAD_DOMAIN + length_prefixed(
        tenant_id.bytes, purpose.encode("ascii"), version.to_bytes(4, "big")
    )


class _CipherCache:
    """Unwrapped ciphers by tenant, so hot paths skip unwrapping on every request.

    Entries are checked against the current key rows on every load, so a key
    rotated or destroyed by another process is noticed at once; invalidating
    here only frees memory sooner.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[uuid.UUID, tuple[_Fingerprint, TenantCipher]] = OrderedDict()
        # Dramatiq workers run in threads of one process.
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, tenant_id: uuid.UUID, fingerprint: _Fingerprint) -> TenantCipher | None:
        with self._lock:
            entry = self._entries.get(tenant_id)
            if entry is None or entry[0] != fingerprint:
                return None
            self._entries.move_to_end(tenant_id)
            return entry[1]

    def put(self, tenant_id: uuid.UUID, fingerprint: _Fingerprint, cipher: TenantCipher) -> None:
        with self._lock:
            self._entries[tenant_id] = (fingerprint, cipher)
            self._entries.move_to_end(tenant_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def invalidate(self, tenant_id: uuid.UUID) -> None:
        with self._lock:
            self._entries.pop(tenant_id, None)
            self.generation += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.generation += 1


_cache = _CipherCache(CIPHER_CACHE_SIZE)


def clear_cipher_cache() -> None:
    _cache.clear()


def keys_generation() -> int:
    """Changes whenever this process rotates, re-wraps or destroys a tenant's keys
    (for caches of ciphers elsewhere, such as the intake's)."""
    return _cache.generation


def _require_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    # The ORM filters on the session's tenant; a different argument would
    # silently find no keys and look like a shredded tenant.
    bound = session_tenant(session.sync_session)
    if bound is None:
        raise TenantContextMissing("tenant keys were asked for with no tenant in context")
    if bound != tenant_id:
        raise TenantContextMissing("the tenant in context is not the tenant whose keys were asked")


async def _key_rows(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[TenantKey]:
    result = await session.scalars(
        select(TenantKey)
        .where(TenantKey.tenant_id == tenant_id)
        .order_by(TenantKey.purpose, TenantKey.version)
    )
    return result.all()


def _new_key_row(
    keyring: MasterKeyring, tenant_id: uuid.UUID, purpose: KeyPurpose, version: int
) -> TenantKey:
    master_version, wrapped = keyring.wrap(
        os.urandom(KEY_BYTES), wrap_aad(tenant_id, purpose, version)
    )
    return TenantKey(
        tenant_id=tenant_id,
        purpose=purpose,
        version=version,
        master_version=master_version,
        wrapped=wrapped,
    )


async def _flush_new_keys(session: AsyncSession, what: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what}: another transaction wrote the same key version") from exc


async def create_tenant_keys(
    session: AsyncSession, keyring: MasterKeyring, tenant_id: uuid.UUID
) -> None:
    """Give a new tenant its data key and its index key, both version 1."""
    _require_tenant(session, tenant_id)
    if await _key_rows(session, tenant_id):
        raise Conflict("the tenant already has keys")
    # The index key is generated on its own, never derived from the data key,
    # so rotating data keys leaves every blind index valid.
    session.add_all(
        [
            _new_key_row(keyring, tenant_id, DATA, 1),
            _new_key_row(keyring, tenant_id, INDEX, 1),
        ]
    )
    await _flush_new_keys(session, "creating tenant keys")


async def load_tenant_cipher(
    session: AsyncSession, keyring: MasterKeyring, tenant_id: uuid.UUID
) -> TenantCipher:
    """The tenant's cipher with every data key version; DecryptionError once keys are shredded."""
    _require_tenant(session, tenant_id)
    rows = await _key_rows(session, tenant_id)
    data_rows = [row for row in rows if row.purpose == DATA]
    index_rows = [row for row in rows if row.purpose == INDEX]
    if not data_rows or not index_rows:
        raise DecryptionError("tenant keys destroyed", tenant_id=str(tenant_id))
    fingerprint: _Fingerprint = (
        keyring.fingerprint,
        tuple((row.purpose, row.version, row.id) for row in rows),
    )
    cached = _cache.get(tenant_id, fingerprint)
    if cached is not None:
        return cached

    def unwrap(row: TenantKey) -> bytes:
        return keyring.unwrap(
            row.master_version, row.wrapped, wrap_aad(tenant_id, row.purpose, row.version)
        )

    data_keys = {row.version: unwrap(row) for row in data_rows}
    # Only one index key version exists today: changing it means recomputing
    # every blind index, which no function here offers.
    index_row = max(index_rows, key=lambda row: row.version)
    cipher = TenantCipher(tenant_id, data_keys, max(data_keys), unwrap(index_row))
    _cache.put(tenant_id, fingerprint, cipher)
    return cipher


async def rotate_data_key(
    session: AsyncSession, keyring: MasterKeyring, tenant_id: uuid.UUID
) -> int:
    """Add a data key version that new encryptions use; old ciphertexts keep decrypting."""
    _require_tenant(session, tenant_id)
    latest = await session.scalar(
        select(func.max(TenantKey.version)).where(
            TenantKey.tenant_id == tenant_id, TenantKey.purpose == DATA
        )
    )
    if latest is None:
        raise DecryptionError("tenant keys destroyed", tenant_id=str(tenant_id))
    version = latest + 1
    session.add(_new_key_row(keyring, tenant_id, DATA, version))
    await _flush_new_keys(session, "rotating the data key")
    _cache.invalidate(tenant_id)
    await record(
        session,
        actor_user_id=None,
        action="keys.data_key_rotated",
        subject_type="tenant",
        subject_id=tenant_id,
        version=version,
    )
    return version


async def rewrap_tenant_keys(
    session: AsyncSession, keyring: MasterKeyring, tenant_id: uuid.UUID
) -> int:
    """Re-wrap the tenant's keys under the current master version; returns how many moved.

    The keys themselves do not change, so ciphertexts and blind indexes are untouched.
    """
    _require_tenant(session, tenant_id)
    moved = 0
    for row in await _key_rows(session, tenant_id):
        if row.master_version == keyring.current_version:
            continue
        aad = wrap_aad(tenant_id, row.purpose, row.version)
        key = keyring.unwrap(row.master_version, row.wrapped, aad)
        row.master_version, row.wrapped = keyring.wrap(key, aad)
        moved += 1
    if moved:
        await session.flush()
        await record(
            session,
            actor_user_id=None,
            action="keys.rewrapped",
            subject_type="tenant",
            subject_id=tenant_id,
            master_version=keyring.current_version,
            keys=moved,
        )
    return moved


async def destroy_tenant_keys(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Crypto-shred the tenant: delete its keys, leaving its ciphertexts unreadable.

    Returns how many key rows were deleted.
    """
    _require_tenant(session, tenant_id)
    result = await session.execute(
        delete(TenantKey)
        .where(TenantKey.tenant_id == tenant_id)
        .execution_options(synchronize_session="fetch")
    )
    _cache.invalidate(tenant_id)
    return cast("CursorResult[Any]", result).rowcount
