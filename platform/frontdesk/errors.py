"""One exception hierarchy for the whole platform.

Domain code raises these; ``frontdesk.web_errors`` maps them to RFC 9457
problem details in one place, and the CLI prints their message.
"""

from __future__ import annotations

from typing import Any


class FrontdeskError(Exception):
    """Base of every error Frontdesk raises on purpose."""

    status = 500
    title = "Internal error"
    slug = "internal"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class ConfigurationError(FrontdeskError):
    title = "Configuration error"
    slug = "configuration"


class InvalidInput(FrontdeskError):
    status = 400
    title = "Invalid input"
    slug = "invalid-input"


class Unauthenticated(FrontdeskError):
    status = 401
    title = "Authentication required"
    slug = "unauthenticated"


class PermissionDenied(FrontdeskError):
    status = 403
    title = "Permission denied"
    slug = "permission-denied"


class NotFound(FrontdeskError):
    """Also what another tenant's id gets: it does not exist for you."""

    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(FrontdeskError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class RateLimited(FrontdeskError):
    """Over a tenant's quota: try again after ``retry_after`` seconds (sent as ``Retry-After``)."""

    status = 429
    title = "Too many requests"
    slug = "rate-limited"

    def __init__(self, detail: str = "", *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class IllegalTransition(Conflict):
    title = "Illegal state transition"
    slug = "illegal-transition"


class ProviderFailed(FrontdeskError):
    """A channel's provider refused or did not answer a request made while the user waits."""

    status = 502
    title = "The provider failed"
    slug = "provider-failed"


class TenantContextMissing(FrontdeskError):
    """A tenant-owned table was queried with no tenant in context: a bug, fail closed."""

    title = "No tenant in context"
    slug = "no-tenant"


class DecryptionError(FrontdeskError):
    """A ciphertext did not authenticate: wrong key, tenant, table, column or row."""

    title = "Decryption failed"
    slug = "decryption-failed"
