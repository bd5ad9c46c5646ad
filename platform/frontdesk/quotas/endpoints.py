"""HTTP API: a tenant's quotas and what it uses of them (read-only; operators set them)."""

from __future__ import annotations

from litestar import get

from frontdesk.api.deps import Actor, Db, Rt, needs
from frontdesk.auth.permissions import Permission as P
from frontdesk.quotas import service as quotas
from frontdesk.quotas.service import Usage, UsageOut


@get(
    ["/api/v1/tenant/usage", "/api/tenant/usage"],
    opt=needs(P.TENANT_USAGE),
    tags=["tenants"],
    summary="The tenant's quotas and current usage",
)
async def tenant_usage(db: Db, runtime: Rt, principal: Actor) -> UsageOut:
    """Current usage against each limit; the token figure is the caller's own token."""
    caller = principal.api_token_id or principal.user_id
    return await quotas.usage(db, runtime.quotas, principal.tenant_id, caller)


CONTROLLERS = [tenant_usage]
__all__ = ["CONTROLLERS", "Usage", "UsageOut"]
