"""A tenant's quotas: what they are, checking them on the hot paths, what is used.

Limits are read through a short per-process cache (the intake and every API
request ask), so an operator's change applies everywhere within
``LIMITS_TTL_SECONDS`` and at once in the process that made it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.config import Settings
from frontdesk.db import Database, utcnow
from frontdesk.errors import InvalidInput, RateLimited
from frontdesk.quotas.limiter import LocalRateLimiter, RateLimiter, RedisRateLimiter
from frontdesk.quotas.models import TenantLimits

LIMITS_TTL_SECONDS = 5.0


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's effective quotas; 0 is no limit."""

    api_per_minute: int
    token_api_per_minute: int
    inbound_per_minute: int
    storage_bytes: int


class LimitChanges(msgspec.Struct, frozen=True, kw_only=True):
    """What an operator changes; UNSET keeps, None goes back to the platform's default."""

    api_per_minute: int | msgspec.UnsetType | None = msgspec.UNSET
    token_api_per_minute: int | msgspec.UnsetType | None = msgspec.UNSET
    inbound_per_minute: int | msgspec.UnsetType | None = msgspec.UNSET
    storage_bytes: int | msgspec.UnsetType | None = msgspec.UNSET


FIELDS = ("api_per_minute", "token_api_per_minute", "inbound_per_minute", "storage_bytes")


def default_limits(settings: Settings) -> Limits:
    return Limits(
        api_per_minute=settings.quota_api_per_minute,
        token_api_per_minute=settings.quota_token_api_per_minute,
        inbound_per_minute=settings.quota_inbound_per_minute,
        storage_bytes=settings.quota_storage_bytes,
    )


def make_limiter(settings: Settings) -> RateLimiter:
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, settings.redis_namespace)
    return LocalRateLimiter()


@dataclass(slots=True)
class _Cached:
    limits: Limits
    expires: float


class Quotas:
    """One process's quotas: the limiter and what it knows of each tenant's limits."""

    def __init__(self, settings: Settings, db: Database, limiter: RateLimiter) -> None:
        self.settings = settings
        self.limiter = limiter
        self._db = db
        self._cache: dict[uuid.UUID, _Cached] = {}

    def forget_limits(self, tenant_id: uuid.UUID) -> None:
        self._cache.pop(tenant_id, None)

    async def limits(self, tenant_id: uuid.UUID, session: AsyncSession | None = None) -> Limits:
        """The tenant's limits; ``session``, if the caller is in a transaction for
        the tenant, is used rather than a second one (SQLite has one writer)."""
        now = time.monotonic()
        cached = self._cache.get(tenant_id)
        if cached is not None and cached.expires > now:
            return cached.limits
        if session is not None:
            limits = await read_limits(session, self.settings)
        else:
            async with self._db.session(tenant_id) as own:
                limits = await read_limits(own, self.settings)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[tenant_id] = _Cached(limits, now + LIMITS_TTL_SECONDS)
        return limits

    async def check_api(
        self, tenant_id: uuid.UUID, caller: uuid.UUID, session: AsyncSession | None = None
    ) -> None:
        """One API request by ``caller`` (a user's session or an API token)."""
        limits = await self.limits(tenant_id, session)
        keyed = [
            (key, n)
            for key, n in (
                (api_key(tenant_id), limits.api_per_minute),
                (token_key(tenant_id, caller), limits.token_api_per_minute),
            )
            if n > 0
        ]
        if not keyed:
            return
        decision = await self.limiter.hit(keyed)
        if not decision.allowed:
            raise RateLimited(
                "this tenant or token made too many API requests; slow down",
                retry_after=decision.retry_after,
            )

    async def check_inbound(self, tenant_id: uuid.UUID, messages: int) -> None:
        """``messages`` arriving at the intake together; refused whole or taken whole."""
        limits = await self.limits(tenant_id)
        if limits.inbound_per_minute <= 0 or messages <= 0:
            return
        if messages > limits.inbound_per_minute:
            # More than a minute's allowance at once could never pass: charge
            # the most a request can, rather than refuse it for ever.
            messages = limits.inbound_per_minute
        decision = await self.limiter.hit(
            [(inbound_key(tenant_id), limits.inbound_per_minute)], cost=messages
        )
        if not decision.allowed:
            raise RateLimited(
                "this channel's tenant is over its inbound message rate; retry later",
                retry_after=decision.retry_after,
            )

    async def forget_tenant(self, tenant_id: uuid.UUID) -> int:
        self.forget_limits(tenant_id)
        return await self.limiter.forget(str(tenant_id))


def api_key(tenant_id: uuid.UUID) -> str:
    return f"api:{tenant_id}"


def token_key(tenant_id: uuid.UUID, caller: uuid.UUID) -> str:
    return f"api-token:{tenant_id}:{caller}"


def inbound_key(tenant_id: uuid.UUID) -> str:
    return f"inbound:{tenant_id}"


async def read_limits(session: AsyncSession, settings: Settings) -> Limits:
    """The tenant's effective limits (the session is bound to it)."""
    defaults = default_limits(settings)
    row = await session.scalar(select(TenantLimits))
    if row is None:
        return defaults
    return Limits(
        **{
            name: getattr(row, name) if getattr(row, name) is not None else getattr(defaults, name)
            for name in FIELDS
        }
    )


async def set_limits(session: AsyncSession, settings: Settings, changes: LimitChanges) -> Limits:
    """Change the tenant's own limits (the session is bound to it); returns the effective ones."""
    row = await session.scalar(select(TenantLimits))
    if row is None:
        row = TenantLimits()
        session.add(row)
    for name in FIELDS:
        value = getattr(changes, name)
        if isinstance(value, msgspec.UnsetType):
            continue
        if value is not None and value < 0:
            raise InvalidInput(f"{name} cannot be negative (0 means no limit)")
        setattr(row, name, value)
    row.updated_at = utcnow()
    await session.flush()
    return await read_limits(session, settings)


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


async def usage(
    session: AsyncSession, quotas: Quotas, tenant_id: uuid.UUID, caller: uuid.UUID
) -> UsageOut:
    """The tenant's current usage against each limit (the API's and the console's).

    ``caller`` is the API token or user whose own per-token figure is shown.
    """
    from frontdesk.attachments.service import stored_bytes

    limits = await read_limits(session, quotas.settings)
    limiter = quotas.limiter

    async def used(key: str, limit: int) -> Usage:
        return Usage(used=await limiter.used(key, limit) if limit > 0 else 0, limit=limit)

    return UsageOut(
        api_requests_per_minute=await used(api_key(tenant_id), limits.api_per_minute),
        token_api_requests_per_minute=await used(
            token_key(tenant_id, caller), limits.token_api_per_minute
        ),
        inbound_messages_per_minute=await used(inbound_key(tenant_id), limits.inbound_per_minute),
        attachment_bytes=Usage(used=await stored_bytes(session), limit=limits.storage_bytes),
    )
