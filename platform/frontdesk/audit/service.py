"""Writing and reading audit entries; every domain records through ``record``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.audit.models import AuditEntry


def add(
    session: AsyncSession,
    *,
    actor_user_id: uuid.UUID | None,
    action: str,
    subject_type: str,
    subject_id: uuid.UUID | None,
    **data: Any,
) -> AuditEntry:
    """An entry written with the session's next flush (for work done in bulk)."""
    entry = AuditEntry(
        actor_user_id=actor_user_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        data=data,
    )
    session.add(entry)
    return entry


async def record(
    session: AsyncSession,
    *,
    actor_user_id: uuid.UUID | None,
    action: str,
    subject_type: str,
    subject_id: uuid.UUID | None,
    **data: Any,
) -> AuditEntry:
    entry = add(
        session,
        actor_user_id=actor_user_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        **data,
    )
    await session.flush()
    return entry


async def list_entries(
    session: AsyncSession,
    *,
    limit: int,
    before: uuid.UUID | None = None,
    action: str | None = None,
    subject_id: uuid.UUID | None = None,
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if subject_id is not None:
        stmt = stmt.where(AuditEntry.subject_id == subject_id)
    return list((await session.scalars(stmt)).all())


async def list_entries_about(
    session: AsyncSession, subject_ids: list[uuid.UUID]
) -> list[AuditEntry]:
    """Every entry whose subject is one of these (a customer's, for a personal-data export)."""
    stmt = select(AuditEntry).where(AuditEntry.subject_id.in_(subject_ids)).order_by(AuditEntry.id)
    return list((await session.scalars(stmt)).all())
