"""A customer's personal-data requests: export (a zip of JSON and attachment files)
and erasure (one transaction; attachment files deleted after it commits).

Each domain finds and erases its own rows (identity, tickets, attachments,
channels, hand-offs, calls, surveys, tasks, notifications); this module decides
what a request covers, checks the permission and writes the audit entry, which
names the customer's id and counts, never what was erased.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
import zipfile
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.attachments import service as attachments
from frontdesk.audit import service as audit
from frontdesk.auth.permissions import Permission
from frontdesk.auth.service import Principal
from frontdesk.calls import service as calls
from frontdesk.channels import erasure as channel_data
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.db import utcnow
from frontdesk.errors import Conflict
from frontdesk.followups import service as followups
from frontdesk.handoffs import service as handoffs
from frontdesk.identity import service as identity
from frontdesk.notifications import service as notifications
from frontdesk.runtime import Runtime
from frontdesk.tasks import service as tasks
from frontdesk.tickets import service as tickets

if TYPE_CHECKING:
    from frontdesk.identity.models import Customer

# Where an erasure leaves the attachment files to delete after its commit.
AFTER_COMMIT_KEY = "erased_attachments"


class Erased(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: uuid.UUID
    customers: int
    contact_points: int
    tickets: int
    messages: int
    attachments: int
    inbound_events: int
    transcript_entries: int
    rejections: int
    #: Calls whose recording link, transcription or caller's number went.
    calls: int
    survey_comments: int
    task_notes: int
    notifications: int


async def _subject(session: AsyncSession, customer_id: uuid.UUID) -> list[Customer]:
    """The customer a request names, with those merged into it (one person's records)."""
    customer = await identity.get_customer(session, customer_id)
    if customer.merged_into_id is not None:
        raise Conflict(
            "this customer was merged into another; make the request for that customer",
            merged_into_id=str(customer.merged_into_id),
        )
    return await identity.customers_behind(session, customer)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


async def export_customer(
    session: AsyncSession,
    runtime: Runtime,
    cipher: TenantCipher,
    principal: Principal,
    customer_id: uuid.UUID,
) -> bytes:
    """Everything held about the customer, across every channel, as a zip:
    ``customer.json`` and ``attachments/<id>-<name>``."""
    principal.require(Permission.CUSTOMERS_PRIVACY)
    customers = await _subject(session, customer_id)
    ids = [c.id for c in customers]
    points = await identity.contact_points_of_all(session, ids)
    owned = await tickets.tickets_of_customers(session, ids)
    ticket_ids = [t.id for t in owned]
    messages = await tickets.messages_of_tickets(session, ticket_ids)
    events = await tickets.events_of_tickets(session, ticket_ids)
    files = await attachments.of_messages(session, [m.id for m in messages])
    transcripts = await channel_data.transcripts_of_tickets(session, cipher, ticket_ids)
    their_calls = await calls.of_customers(session, ids, ticket_ids)
    surveys = await followups.surveys_of_tickets(session, ticket_ids)
    owed = await tasks.tasks_of_tickets(session, ticket_ids)
    about = await audit.list_entries_about(session, ids)

    blobs: dict[str, bytes] = {}
    listed: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in files:
        entry = attachments.describe(row)
        if row.status == "stored":
            _, data = await attachments.read_content(session, runtime.attachments, cipher, row.id)
            name = f"attachments/{row.id}-{_UNSAFE.sub('_', row.filename)[:100]}"
            blobs[name] = data
            entry["file"] = name
        assert row.message_id is not None
        listed.setdefault(row.message_id, []).append(entry)

    document = {
        "exported_at": utcnow().isoformat(),
        "customer_id": str(customer_id),
        "customers": [
            {
                "id": str(c.id),
                "display_name": c.display_name,
                "tier": c.tier,
                "language": c.language,
                "merged_into_id": str(c.merged_into_id) if c.merged_into_id else None,
                "created_at": _iso(c.created_at),
                "erased_at": _iso(c.erased_at),
            }
            for c in customers
        ],
        "contact_points": [
            {
                "id": str(p.id),
                "customer_id": str(p.customer_id),
                "kind": p.kind,
                "provider": p.provider,
                "value": identity.decrypt_contact(cipher, p),
                "verified": p.verified,
                "status": p.status,
                "created_at": _iso(p.created_at),
            }
            for p in points
        ],
        "tickets": [
            {
                "id": str(t.id),
                "number": t.number,
                "subject": t.subject,
                "state": t.state,
                "priority": t.priority,
                "category": t.category,
                "channel": t.channel,
                "tags": t.tags,
                "created_at": _iso(t.created_at),
                "resolved_at": _iso(t.resolved_at),
                "closed_at": _iso(t.closed_at),
                "messages": [
                    {
                        "id": str(m.id),
                        "kind": m.kind,
                        "direction": m.direction,
                        "channel": m.channel,
                        "subject": m.subject,
                        "body_text": m.body_text,
                        "body_html": m.body_html,
                        "created_at": _iso(m.created_at),
                        "attachments": listed.get(m.id, []),
                    }
                    for m in messages
                    if m.ticket_id == t.id
                ],
                "events": [
                    {"kind": e.kind, "data": e.data, "created_at": _iso(e.created_at)}
                    for e in events
                    if e.ticket_id == t.id
                ],
            }
            for t in owned
        ],
        "live_chat_transcripts": [
            {
                "channel_id": str(t.channel_id),
                "conversation": t.conversation_key,
                "entries": [_json_or_text(e) for e in t.entries],
            }
            for t in transcripts
        ],
        "calls": [
            {
                "id": str(c.id),
                "ticket_id": str(c.ticket_id),
                "customer_id": str(c.customer_id),
                "contact_point_id": str(c.contact_point_id) if c.contact_point_id else None,
                "direction": c.direction,
                "status": calls.status(c),
                "started_at": _iso(c.started_at),
                "answered_at": _iso(c.answered_at),
                "ended_at": _iso(c.ended_at),
                "duration_seconds": c.duration_seconds,
                "voicemail": c.voicemail,
                "recording_url": c.recording_url,
                "transcription": c.transcription,
            }
            for c in their_calls
        ],
        "surveys": [
            {
                "id": str(s.id),
                "ticket_id": str(s.ticket_id),
                "channel": s.channel,
                "status": s.status,
                "score": s.score,
                "comment": s.comment,
                "created_at": _iso(s.created_at),
                "answered_at": _iso(s.answered_at),
            }
            for s in surveys
        ],
        "tasks": [
            {
                "id": str(task.id),
                "ticket_id": str(task.ticket_id),
                "kind": task.kind,
                "title": task.title,
                "status": task.status,
                "due_at": _iso(task.due_at),
                "resolved_at": _iso(task.resolved_at),
                "note": task.note,
            }
            for task in owed
        ],
        "audit_log": [
            {
                "action": a.action,
                "actor_user_id": str(a.actor_user_id) if a.actor_user_id else None,
                "data": a.data,
                "created_at": _iso(a.created_at),
            }
            for a in about
        ],
    }
    await audit.record(
        session,
        actor_user_id=principal.user_id,
        action="customer.exported",
        subject_type="customer",
        subject_id=customer_id,
        tickets=len(owned),
        messages=len(messages),
        attachments=len(blobs),
        api_token_id=str(principal.api_token_id) if principal.api_token_id else None,
    )

    def build() -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                "customer.json", json.dumps(document, ensure_ascii=False, indent=2, default=str)
            )
            for name, data in blobs.items():
                archive.writestr(name, data)
        return out.getvalue()

    return await asyncio.to_thread(build)


def _json_or_text(entry: str) -> Any:
    try:
        return json.loads(entry)
    except ValueError:
        return entry


async def erase_customer(
    session: AsyncSession,
    cipher: TenantCipher,
    principal: Principal,
    customer_id: uuid.UUID,
) -> Erased:
    """Erase the customer's personal data in the caller's transaction.

    The attachments' files are deleted once that transaction has committed
    (``Database.committed``, through the runtime); a rollback keeps them.
    """
    principal.require(Permission.CUSTOMERS_PRIVACY)
    customers = await _subject(session, customer_id)
    if all(c.erased_at is not None for c in customers):
        raise Conflict("this customer's personal data was already erased")
    ids = [c.id for c in customers]
    points = await identity.contact_points_of_all(session, ids)
    values = [identity.decrypt_contact(cipher, p) for p in points]
    owned = await tickets.tickets_of_customers(session, ids)
    ticket_ids = [t.id for t in owned]
    messages = await tickets.messages_of_tickets(session, ticket_ids)
    message_ids = [m.id for m in messages]
    files = await attachments.of_messages(session, message_ids)

    # Channels first: they find stored events and refused requests by the
    # addresses and ids that the other domains are about to erase.
    traffic = await channel_data.erase_traffic(
        session,
        cipher,
        ticket_ids=ticket_ids,
        message_ids=message_ids,
        contact_point_ids=[p.id for p in points],
        contact_values=values,
    )
    file_ids = await attachments.erase(session, files)
    await handoffs.erase_texts(session, ticket_ids)
    erased_calls = await calls.erase_recordings(
        session, await calls.of_customers(session, ids, ticket_ids)
    )
    comments = await followups.erase_comments(
        session, await followups.surveys_of_tickets(session, ticket_ids)
    )
    notes = await tasks.erase_notes(session, await tasks.tasks_of_tickets(session, ticket_ids))
    notices = await notifications.erase_copied_texts(session, ticket_ids)
    await tickets.erase_ticket_texts(session, owned)
    await identity.erase_customers(session, customers, points)
    erased = Erased(
        customer_id=customer_id,
        customers=len(customers),
        contact_points=len(points),
        tickets=len(owned),
        messages=len(messages),
        attachments=len(files),
        inbound_events=traffic.inbound_events,
        transcript_entries=traffic.transcript_entries,
        rejections=traffic.rejections,
        calls=erased_calls,
        survey_comments=comments,
        task_notes=notes,
        notifications=notices,
    )
    await audit.record(
        session,
        actor_user_id=principal.user_id,
        action="customer.erased",
        subject_type="customer",
        subject_id=customer_id,
        **{k: v for k, v in msgspec.structs.asdict(erased).items() if k != "customer_id"},
        api_token_id=str(principal.api_token_id) if principal.api_token_id else None,
    )
    pending: list[tuple[uuid.UUID, list[uuid.UUID]]] = session.sync_session.info.setdefault(
        AFTER_COMMIT_KEY, []
    )
    pending.append((principal.tenant_id, file_ids))
    return erased


async def after_commit(runtime: Runtime, session: AsyncSession) -> None:
    """Once an erasure has committed: the attachments' files, and on SQLite the
    write-ahead log folded back and emptied (it holds the pages as they were)."""
    pending: list[tuple[uuid.UUID, list[uuid.UUID]]] | None = session.sync_session.info.pop(
        AFTER_COMMIT_KEY, None
    )
    if not pending:
        return
    for tenant_id, file_ids in pending:
        await asyncio.to_thread(attachments.delete_files, runtime.attachments, tenant_id, file_ids)
    await runtime.db.compact_after_erasure()
