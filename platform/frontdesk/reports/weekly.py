"""The weekly review: each Monday morning, last week's headline figures mailed to the
tenant's admins with a link to the full report.

A timer per tenant (``weekly_review``) falls due on Monday at 08:00 in the
tenant's zone; firing it sends the ``send_weekly_review`` job (after the
commit) and schedules the next Monday's. The job builds the report for the
seven days before and sends one mail to each active admin through the
tenant's first active email channel (its SMTP settings, as agents' replies
go). Without an email channel nothing is sent and a warning is logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import zoneinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.clock import now as clock_now
from frontdesk.jobs import enqueue, job
from frontdesk.reports.service import (
    Durations,
    Report,
    ReportFilters,
    build_report,
    report_timezone,
)
from frontdesk.runtime import Runtime
from frontdesk.timers import service as timers
from frontdesk.timers.models import Timer

log = logging.getLogger("frontdesk.reports")

WEEKLY_TIMER = "weekly_review"
SEND_AT = dt.time(8, 0)


def next_monday(after: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first Monday 08:00 (local) strictly after ``after``."""
    local = after.astimezone(zone)
    day = local.date() + dt.timedelta(days=(7 - local.weekday()) % 7)
    due = dt.datetime.combine(day, SEND_AT, zone)
    if due <= local:
        due = dt.datetime.combine(day + dt.timedelta(days=7), SEND_AT, zone)
    return due.astimezone(dt.UTC)


async def ensure_scheduled(session: AsyncSession) -> Timer | None:
    """Schedule the tenant's next weekly review unless one is pending (idempotent)."""
    pending = await session.scalar(
        select(Timer.id).where(Timer.kind == WEEKLY_TIMER, Timer.state == timers.PENDING).limit(1)
    )
    if pending is not None:
        return None
    zone = await report_timezone(session)
    return timers.schedule(session, kind=WEEKLY_TIMER, due_at=next_monday(clock_now(), zone))


async def next_due(session: AsyncSession) -> dt.datetime | None:
    due: dt.datetime | None = await session.scalar(
        select(Timer.due_at)
        .where(Timer.kind == WEEKLY_TIMER, Timer.state == timers.PENDING)
        .order_by(Timer.due_at)
        .limit(1)
    )
    return due


async def turn_off(session: AsyncSession) -> None:
    ids = (
        await session.scalars(
            select(Timer.id).where(Timer.kind == WEEKLY_TIMER, Timer.state == timers.PENDING)
        )
    ).all()
    await timers.cancel(session, list(ids))


@timers.handler(WEEKLY_TIMER)
async def _fire(session: AsyncSession, fired: list[timers.FiredTimer]) -> None:
    from frontdesk.db import session_tenant

    tenant_id = session_tenant(session.sync_session)
    zone = await report_timezone(session)
    # One review per week however many timers fired (a double schedule is harmless).
    for week_start in sorted({_last_week(t.due_at, zone) for t in fired}):
        enqueue(
            session,
            "send_weekly_review",
            tenant_id=str(tenant_id),
            start=week_start.isoformat(),
            end=(week_start + dt.timedelta(days=6)).isoformat(),
        )
    await session.flush()
    await ensure_scheduled(session)


def _last_week(due_at: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    """The Monday of the full week before ``due_at`` (local)."""
    local = due_at.astimezone(zone).date()
    this_monday = local - dt.timedelta(days=local.weekday())
    return this_monday - dt.timedelta(days=7)


def _hours(d: Durations) -> str:
    if d.median_seconds is None or d.p90_seconds is None:
        return "no data"
    return f"median {d.median_seconds / 3600:.1f} h, p90 {d.p90_seconds / 3600:.1f} h"


def review_text(report: Report, link: str) -> str:
    """The mail's body: the figures a lead looks at first, and the link to the rest."""
    v = report.volume
    lines = [
        f"Weekly review, {report.filters.start} to {report.filters.end} ({report.timezone})",
        "",
        f"New tickets: {v.new}",
        f"Resolved: {v.resolved}",
        f"Reopened: {v.reopened}",
        f"Backlog at the end of the week: {v.backlog}",
        f"First response (business hours): {_hours(report.first_response)}",
        f"Resolution (business hours): {_hours(report.resolution)}",
    ]
    settled = [(t.met, t.breached) for t in report.sla]
    met = sum(m for m, _ in settled)
    total = sum(m + b for m, b in settled)
    lines.append(f"SLA targets met: {met / total:.0%} of {total}" if total else "SLA: no data")
    s = report.satisfaction
    lines.append(
        f"Satisfaction: {s.average:.2f} / 5 from {s.responses} responses"
        if s.average is not None
        else "Satisfaction: no data"
    )
    if report.categories:
        top = ", ".join(f"{c.name} ({c.count})" for c in report.categories[:3])
        lines.append(f"Top categories: {top}")
    lines += ["", f"The full report: {link}", ""]
    return "\n".join(lines)


@job("send_weekly_review", queue="delivery")
async def send_weekly_review(runtime: Runtime, *, tenant_id: str, start: str, end: str) -> None:
    from frontdesk.auth.service import list_users, user_email
    from frontdesk.channels import service as channels
    from frontdesk.channels.types import ContactRef, OutboundMessage
    from frontdesk.crypto.service import load_tenant_cipher

    tid = uuid.UUID(tenant_id)
    filters = ReportFilters(start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end))
    async with runtime.db.session(tid) as session:
        report = await build_report(session, filters)
        cipher = await load_tenant_cipher(session, runtime.keyring, tid)
        admins = [
            user_email(cipher, user)
            for user in await list_users(session, limit=1000)
            if user.is_active and await _is_admin(session, user.role_id)
        ]
        email = next(
            (c for c in await channels.list_channels(session) if c.kind == "email" and c.is_active),
            None,
        )
        if email is None:
            log.warning("no active email channel: the weekly review of %s is not sent", start)
            return
        adapter = channels.build_adapter(
            runtime, cipher, email, await channels.endpoint_token(session, email.id)
        )
    query = "&".join(f"{k}={v}" for k, v in filters.query().items())
    link = f"{runtime.settings.public_url.rstrip('/')}/reports?{query}"
    text = review_text(report, link)
    for address in admins:
        receipt = await adapter.deliver(
            OutboundMessage(
                id=f"weekly-{tenant_id}-{start}-{address}",
                recipient=ContactRef(kind="email", value=address),
                subject=f"Weekly review: {start} to {end}",
                text=text,
                automatic=True,
            )
        )
        if receipt.status != "sent":
            # Raised: dramatiq retries the job (an admin already mailed may get it twice).
            raise RuntimeError(f"the weekly review could not be sent: {receipt.error}")


async def _is_admin(session: AsyncSession, role_id: uuid.UUID) -> bool:
    from frontdesk.auth.service import get_role

    return (await get_role(session, role_id)).name == "admin"
