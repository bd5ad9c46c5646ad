"""Writing and reading audit entries; every domain records through ``record``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.audit.models import AuditEntry

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime


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


# --- export -------------------------------------------------------------------------

#: Entries read per transaction while exporting: a long export holds no
#: transaction open for long.
EXPORT_PAGE = 1000
CSV_COLUMNS = ("id", "created_at", "actor_user_id", "action", "subject_type", "subject_id", "data")


class ExportedEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    created_at: dt.datetime
    actor_user_id: uuid.UUID | None
    action: str
    subject_type: str
    subject_id: uuid.UUID | None
    data: dict[str, Any]


async def export_entries(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    action: str | None = None,
) -> AsyncIterator[list[ExportedEntry]]:
    """The tenant's entries, oldest first, a page at a time (ids are time-ordered)."""
    after: uuid.UUID | None = None
    while True:
        async with runtime.db.session(tenant_id) as session:
            stmt = select(AuditEntry).order_by(AuditEntry.id).limit(EXPORT_PAGE)
            if after is not None:
                stmt = stmt.where(AuditEntry.id > after)
            if since is not None:
                stmt = stmt.where(AuditEntry.created_at >= since)
            if until is not None:
                stmt = stmt.where(AuditEntry.created_at < until)
            if action:
                stmt = stmt.where(AuditEntry.action == action)
            rows = [
                ExportedEntry(
                    id=r.id,
                    created_at=r.created_at,
                    actor_user_id=r.actor_user_id,
                    action=r.action,
                    subject_type=r.subject_type,
                    subject_id=r.subject_id,
                    data=dict(r.data),
                )
                for r in (await session.scalars(stmt)).all()
            ]
        if not rows:
            return
        yield rows
        if len(rows) < EXPORT_PAGE:
            return
        after = rows[-1].id


def encode_jsonl(entries: Sequence[ExportedEntry]) -> bytes:
    return b"".join(msgspec.json.encode(e) + b"\n" for e in entries)


def encode_csv(entries: Sequence[ExportedEntry], *, header: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow(
            [
                e.id,
                e.created_at.isoformat(),
                e.actor_user_id or "",
                e.action,
                e.subject_type,
                e.subject_id or "",
                msgspec.json.encode(e.data).decode(),
            ]
        )
    return out.getvalue().encode()


async def export_stream(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    fmt: str,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    action: str | None = None,
) -> AsyncIterator[bytes]:
    """The export as bytes: JSON lines, or CSV with a header row (``data`` as JSON)."""
    if fmt == "csv":
        # The header even when there is nothing to export.
        yield encode_csv([], header=True)
    async for page in export_entries(runtime, tenant_id, since=since, until=until, action=action):
        yield encode_csv(page, header=False) if fmt == "csv" else encode_jsonl(page)
