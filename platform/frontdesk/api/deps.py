"""Request dependencies: the runtime, the tenant-bound session, the principal, the cipher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.auth import service as auth
from frontdesk.auth import tokens
from frontdesk.auth.permissions import Permission
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import bind_tenant, utcnow
from frontdesk.errors import Unauthenticated
from frontdesk.runtime import Runtime


async def provide_runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


async def provide_db(runtime: NamedDependency[Runtime]) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, else rolled back."""
    async with runtime.db.sessions() as session:
        async with session.begin():
            yield session
        await runtime.db.committed(session)


async def provide_principal(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    runtime: NamedDependency[Runtime],
) -> auth.Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential:
        raise Unauthenticated("send an access token or API token as 'Authorization: Bearer …'")
    credential = credential.strip()
    if credential.startswith(tokens.API_TOKEN_PREFIX + "_"):
        tenant_id = tokens.tenant_of_opaque_token(credential, tokens.API_TOKEN_PREFIX)
        bind_tenant(db, tenant_id)
        principal = await auth.authenticate_api_token(db, credential)
    else:
        claims = tokens.read_access_token(runtime.signing_key, credential, now=utcnow())
        bind_tenant(db, claims.tenant_id)
        principal = await auth.authenticate_access_token(db, runtime, claims)
    # After authentication: a stranger's requests do not spend a tenant's quota.
    await runtime.quotas.check_api(
        principal.tenant_id, principal.api_token_id or principal.user_id, db
    )
    needed = request.route_handler.opt.get("permission")
    if needed is not None:
        principal.require(Permission(needed))
    return principal


async def provide_cipher(
    db: NamedDependency[AsyncSession],
    principal: NamedDependency[auth.Principal],
    runtime: NamedDependency[Runtime],
) -> TenantCipher:
    return await load_tenant_cipher(db, runtime.keyring, principal.tenant_id)


DEPENDENCIES = {
    "runtime": Provide(provide_runtime),
    "db": Provide(provide_db),
    "principal": Provide(provide_principal),
    "cipher": Provide(provide_cipher),
}


def needs(permission: Permission) -> dict[str, Any]:
    """Route option naming the permission a handler needs: ``@get(..., opt=needs(P.X))``."""
    return {"permission": permission.value}


# Handler parameter types: the parameter's name picks the dependency, these
# say so explicitly (Litestar 3 drops inferred dependencies).
Db = NamedDependency[AsyncSession]
Actor = NamedDependency[auth.Principal]
Cipher = NamedDependency[TenantCipher]
Rt = NamedDependency[Runtime]
