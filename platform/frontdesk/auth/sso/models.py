"""A tenant's SSO configuration and its pending sign-ins (state, nonce, PKCE verifier)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, utcnow


class SsoConfig(TenantOwned, Base):
    """One per tenant: its OpenID Connect provider and how sign-in through it behaves."""

    __tablename__ = "sso_configs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "jit_role_id"], ["roles.tenant_id", "roles.id"]),
        ForeignKeyConstraint(["tenant_id", "break_glass_user_id"], ["users.tenant_id", "users.id"]),
        UniqueConstraint("tenant_id"),
    )

    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(500))
    # Encrypted with the tenant's data key, bound to this row.
    client_secret_encrypted: Mapped[str] = mapped_column(String(2000))
    enabled: Mapped[bool] = mapped_column(default=True)
    # Password sign-in is refused for the tenant's users, but the break-glass user's.
    sso_required: Mapped[bool] = mapped_column(default=False)
    break_glass_user_id: Mapped[uuid.UUID | None]
    # Just-in-time creation of users the provider vouches for; off unless set.
    jit_enabled: Mapped[bool] = mapped_column(default=False)
    jit_role_id: Mapped[uuid.UUID | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SsoLogin(TenantOwned, Base):
    """A sign-in on its way through the provider: used once, within minutes, or never."""

    __tablename__ = "sso_logins"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        UniqueConstraint("tenant_id", "state_hash"),
    )

    # Only hashes of the state and of the browser's binding cookie are kept:
    # a copy of the table cannot finish anyone's sign-in.
    state_hash: Mapped[str] = mapped_column(String(64))
    browser_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(100))
    # The PKCE verifier, encrypted with the tenant's data key, bound to this row.
    code_verifier_encrypted: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
