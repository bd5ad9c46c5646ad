"""HTTP API: a tenant's quotas and what it uses of them (read-only; operators set them)."""

from __future__ import annotations

import msgspec
from litestar import get

from frontdesk.api.deps import Actor, Db, Rt, needs
from frontdesk.attachments.service import stored_bytes
from frontdesk.auth.permissions import Permission as P
from frontdesk.quotas import service as quotas


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    # Rates: how much of the minute's allowance is taken now (GCRA's fill: 0
    # while requests come no faster than the limit's steady rate, the limit
    # when the next one would be refused). Storage: bytes kept.
    used: int
    # 0: no limit
    limit: int


class UsageOut(msgspec.Struct, frozen=True, kw_only=True):
    api_requests_per_minute: Usage
    token_api_requests_per_minute: Usage
    inbound_messages_per_minute: Usage
    attachment_bytes: Usage


@get(
    ["/api/v1/tenant/usage", "/api/tenant/usage"],
    opt=needs(P.TENANT_USAGE),
    tags=["tenants"],
    summary="The tenant's quotas and current usage",
)
async def tenant_usage(db: Db, runtime: Rt, principal: Actor) -> UsageOut:
    """Current usage against each limit; the token figure is the caller's own token."""
    tenant_id = principal.tenant_id
    limits = await quotas.read_limits(db, runtime.settings)
    limiter = runtime.quotas.limiter
    caller = principal.api_token_id or principal.user_id

    async def used(key: str, limit: int) -> Usage:
        return Usage(used=await limiter.used(key, limit) if limit > 0 else 0, limit=limit)

    return UsageOut(
        api_requests_per_minute=await used(quotas.api_key(tenant_id), limits.api_per_minute),
        token_api_requests_per_minute=await used(
            quotas.token_key(tenant_id, caller), limits.token_api_per_minute
        ),
        inbound_messages_per_minute=await used(
            quotas.inbound_key(tenant_id), limits.inbound_per_minute
        ),
        attachment_bytes=Usage(used=await stored_bytes(db), limit=limits.storage_bytes),
    )


CONTROLLERS = [tenant_usage]
