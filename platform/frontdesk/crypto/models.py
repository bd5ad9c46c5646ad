"""The ``tenant_keys`` table: each tenant's data and index keys, wrapped by a master key.

Deleting a tenant's rows here is crypto-shredding: its ciphertexts become unreadable.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db import Base, TenantOwned, utcnow

KeyPurpose = Literal["data", "index"]
DATA: KeyPurpose = "data"
INDEX: KeyPurpose = "index"


class TenantKey(TenantOwned, Base):
    __tablename__ = "tenant_keys"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        UniqueConstraint("tenant_id", "purpose", "version"),
        CheckConstraint("purpose IN ('data', 'index')", name="purpose"),
        CheckConstraint("version >= 1", name="version"),
    )

    purpose: Mapped[KeyPurpose] = mapped_column(String(8))
    version: Mapped[int]
    # Which master key wrapped this row; re-wrapping moves it to the current one.
    master_version: Mapped[int]
    # nonce || AES-256-GCM(key), associated data binds tenant_id, purpose and version.
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
