"""Browser sessions: the ``fd_session`` cookie's server-side half."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, utcnow


class WebSession(TenantOwned, Base):
    """One signed-in browser. The cookie holds a secret stored here only as a hash."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        UniqueConstraint("tenant_id", "token_hash"),
        Index("ix_web_sessions_tenant_user", "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID]
    token_hash: Mapped[str] = mapped_column(String(64))
    # Sent back in every state-changing form and fetch (the synchroniser token).
    csrf_token: Mapped[str] = mapped_column(String(64))
    # The user's token generation at sign-in: deactivation bumps it, ending the session.
    generation: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
