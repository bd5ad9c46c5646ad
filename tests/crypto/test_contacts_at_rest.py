"""Contact values at rest: never in the clear, readable after key rotation, bound to their row."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dumps import dump_chunks
from frontdesk.auth.models import Role, User
from frontdesk.auth.service import get_user, principal_for_user
from frontdesk.config import Settings
from frontdesk.crypto.keyring import add_master_key_version, generate_master_key
from frontdesk.crypto.models import TenantKey
from frontdesk.crypto.service import clear_cipher_cache, load_tenant_cipher
from frontdesk.errors import DecryptionError
from frontdesk.identity import service as identity
from frontdesk.identity.models import ContactPoint
from frontdesk.identity.normalise import ContactKind
from frontdesk.runtime import Runtime
from frontdesk.tenancy import service as tenancy

CONTACTS = [
    ("Chen Jie", "chen.jie@example.com", "+8613812345678"),
    ("Alice Martin", "Alice.Martin@Example.org", "+1 415 555 0123"),
]
# Every way the values could appear in the clear.
NEEDLES = [
    "chen.jie@example.com",
    "chen.jie",
    "alice.martin@example.org",
    "alice.martin",
    "8613812345678",
    "13812345678",
    "4155550123",
    "admin@",
]


async def _seed(runtime: Runtime, slug: str) -> tuple[uuid.UUID, list[uuid.UUID]]:
    async with runtime.db.session() as session:
        signup = await tenancy.sign_up(
            session,
            runtime,
            name="Acme",
            slug=slug,
            admin_email=f"admin@{slug}.example.com",
            admin_name="Admin",
            admin_password="correct horse battery",
        )
        tenant_id = signup.tenant.id
        cipher = await load_tenant_cipher(session, runtime.keyring, tenant_id)
        ids = []
        for name, email, phone in CONTACTS:
            customer = await identity.create_customer(
                session,
                cipher,
                actor_user_id=signup.admin_user_id,
                display_name=name,
                contacts=[
                    identity.NewContact(kind=ContactKind.EMAIL, value=email),
                    identity.NewContact(kind=ContactKind.PHONE, value=phone),
                ],
            )
            ids.append(customer.id)
    return tenant_id, ids


async def _admin_id(session: AsyncSession) -> uuid.UUID:
    admin_role = await session.scalar(select(Role.id).where(Role.name == "admin"))
    user_id = await session.scalar(select(User.id).where(User.role_id == admin_role))
    assert user_id is not None
    return user_id


async def _read_back(runtime: Runtime, tenant_id: uuid.UUID) -> set[str]:
    async with runtime.db.session(tenant_id) as session:
        cipher = await load_tenant_cipher(session, runtime.keyring, tenant_id)
        points = (await session.scalars(select(ContactPoint))).all()
        return {identity.decrypt_contact(cipher, p) for p in points}


EXPECTED = {"chen.jie@example.com", "+8613812345678", "alice.martin@example.org", "+14155550123"}


async def _dump_everything(settings: Settings) -> str:
    """Every row of every table, read as the owner (who sees past row-level security)."""
    chunks = await dump_chunks(settings)
    assert len(chunks) > 20, "the dump found too little to mean anything"
    return "\n".join(chunks).lower()


async def test_no_contact_value_is_stored_in_the_clear(fresh_settings: Settings) -> None:
    runtime = Runtime(fresh_settings)
    try:
        tenant_id, _ = await _seed(runtime, "acme")
        assert await _read_back(runtime, tenant_id) == EXPECTED
    finally:
        await runtime.close()
    dump = await _dump_everything(fresh_settings)
    for needle in NEEDLES:
        assert needle not in dump, needle
    # the dump is real: names, which are not contact values, are in it
    assert "chen jie" in dump


async def test_master_key_rotation_keeps_every_value_readable(
    fresh_settings: Settings, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps({"keys": {"1": generate_master_key()}}))
    settings = msgspec.structs.replace(fresh_settings, master_key="", master_key_file=key_file)
    runtime = Runtime(settings)
    try:
        tenant_a, _ = await _seed(runtime, "acme")
        tenant_b, _ = await _seed(runtime, "globex")
    finally:
        await runtime.close()

    assert add_master_key_version(settings) == 2
    clear_cipher_cache()
    runtime = Runtime(settings)
    try:
        tenants, rows = await tenancy.rewrap_all_tenant_keys(runtime)
        assert (tenants, rows) == (2, 4)  # a data key and an index key each
        # Idempotent: nothing left to re-wrap.
        assert await tenancy.rewrap_all_tenant_keys(runtime) == (2, 0)
        async with runtime.db.session(tenant_a) as session:
            versions = set((await session.scalars(select(TenantKey.master_version))).all())
        assert versions == {2}
    finally:
        await runtime.close()

    # Retire master key 1 entirely: everything still decrypts under key 2 alone.
    document = json.loads(key_file.read_text())
    del document["keys"]["1"]
    key_file.write_text(json.dumps(document))
    clear_cipher_cache()
    runtime = Runtime(settings)
    try:
        assert await _read_back(runtime, tenant_a) == EXPECTED
        assert await _read_back(runtime, tenant_b) == EXPECTED
        # and lookups by blind index still find the customers
        async with runtime.db.session(tenant_a) as session:
            cipher = await load_tenant_cipher(session, runtime.keyring, tenant_a)
            found = await identity.find_customer_by_contact(
                session, cipher, ContactKind.EMAIL, "CHEN.JIE@example.com"
            )
        assert found is not None and found.display_name == "Chen Jie"
    finally:
        await runtime.close()


async def test_a_ciphertext_copied_to_another_row_or_tenant_does_not_decrypt(
    fresh_settings: Settings,
) -> None:
    runtime = Runtime(fresh_settings)
    try:
        tenant_a, customers_a = await _seed(runtime, "acme")
        tenant_b, _ = await _seed(runtime, "globex")
        async with runtime.db.session(tenant_a) as session:
            points = (await session.scalars(select(ContactPoint).order_by(ContactPoint.id))).all()
            source, victim = points[0], points[1]
            stolen = source.value_encrypted
            # Copy one row's ciphertext over another row's, as an attacker with
            # write access to the table might.
            await session.execute(
                update(ContactPoint)
                .where(ContactPoint.id == victim.id)
                .values(value_encrypted=stolen)
            )
        async with runtime.db.session(tenant_a) as session:
            cipher = await load_tenant_cipher(session, runtime.keyring, tenant_a)
            victim_row = await session.get(ContactPoint, (tenant_a, victim.id))
            assert victim_row is not None
            with pytest.raises(DecryptionError):
                identity.decrypt_contact(cipher, victim_row)
            admin = await principal_for_user(
                session, await get_user(session, await _admin_id(session))
            )
            with pytest.raises(DecryptionError):
                await identity.reveal_contact(
                    session, cipher, admin, victim_row.customer_id, victim_row.id
                )
        # Another tenant's row with the same table, column and even the same
        # ciphertext: B's keys cannot open A's value.
        async with runtime.db.session(tenant_b) as session:
            cipher_b = await load_tenant_cipher(session, runtime.keyring, tenant_b)
            row_b = (await session.scalars(select(ContactPoint))).first()
            assert row_b is not None
            row_b.value_encrypted = stolen
            with pytest.raises(DecryptionError):
                identity.decrypt_contact(cipher_b, row_b)
            await session.rollback()
        assert customers_a
    finally:
        await runtime.close()
