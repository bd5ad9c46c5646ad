"""HTTP: the report as JSON, as an HTML fragment with charts, as CSV and XLSX; the page."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Controller, MediaType, Request, Response, delete, get, put
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromQuery
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.api.deps import Actor, Db, needs, provide_principal
from frontdesk.auth import service as auth
from frontdesk.auth.permissions import Permission
from frontdesk.auth.permissions import Permission as P
from frontdesk.db import bind_tenant
from frontdesk.reports import export, page, weekly
from frontdesk.reports.service import Report, ReportFilters, build_report
from frontdesk.runtime import Runtime
from frontdesk.tickets.states import Priority
from frontdesk.web.sessions import COOKIE, authenticate_browser_session, tenant_of_cookie

DEFAULT_DAYS = 7
Filters = NamedDependency[ReportFilters]


async def provide_filters(
    start: FromQuery[dt.date | None] = None,
    end: FromQuery[dt.date | None] = None,
    channel: FromQuery[str | None] = None,
    team_id: FromQuery[uuid.UUID | None] = None,
    assignee_id: FromQuery[uuid.UUID | None] = None,
    category: FromQuery[str | None] = None,
    priority: FromQuery[Priority | None] = None,
) -> ReportFilters:
    """The query's filters; the period defaults to the last 7 days (UTC dates)."""
    end = end or dt.datetime.now(dt.UTC).date()
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    return ReportFilters(
        start=start,
        end=end,
        channel=channel or None,
        team_id=team_id,
        assignee_id=assignee_id,
        category=category or None,
        priority=priority,
    )


async def provide_reader(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    runtime: NamedDependency[Runtime],
) -> auth.Principal:
    """A bearer token, as everywhere in the API; without one, the console's browser session.

    Only for the report's reads: they change nothing, so a same-site cookie
    needs no CSRF token here (the weekly review's switch keeps bearer tokens only).
    """
    cookie = request.cookies.get(COOKIE)
    if request.headers.get("authorization") or not cookie:
        return await provide_principal(request, db, runtime)
    bind_tenant(db, tenant_of_cookie(cookie))
    principal = (await authenticate_browser_session(db, cookie)).principal
    await runtime.quotas.check_api(principal.tenant_id, principal.user_id, db)
    needed = request.route_handler.opt.get("permission")
    if needed is not None:
        principal.require(Permission(needed))
    return principal


class ReportController(Controller):
    """The report's reads, with a bearer token or the console's session cookie."""

    path = "/api/v1/reports"
    tags = ["reports"]
    opt = needs(P.REPORTS_READ)
    dependencies = {"filters": Provide(provide_filters), "principal": Provide(provide_reader)}

    @get("/")
    async def report(
        self,
        db: Db,
        principal: Actor,
        filters: Filters,
    ) -> Report:
        """The tenant's figures over local days ``start``..``end`` (default: the last 7 days)."""
        return await build_report(db, filters)

    @get("/fragment", media_type=MediaType.HTML, include_in_schema=False)
    async def fragment(
        self,
        db: Db,
        principal: Actor,
        filters: Filters,
    ) -> str:
        report = await build_report(db, filters)
        return page.fragment(report)

    @get("/export.csv")
    async def csv(
        self,
        db: Db,
        principal: Actor,
        filters: Filters,
    ) -> Response[str]:
        """The report as rows ``section,item,measure,value``."""
        report = await build_report(db, filters)
        return Response(
            export.to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{_name(report)}.csv"'},
        )

    @get("/export.xlsx")
    async def xlsx(
        self,
        db: Db,
        principal: Actor,
        filters: Filters,
    ) -> Response[bytes]:
        """The same rows as the CSV, as a spreadsheet."""
        report = await build_report(db, filters)
        return Response(
            export.to_xlsx(report),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{_name(report)}.xlsx"'},
        )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class WeeklyReviewOut(msgspec.Struct, frozen=True, kw_only=True):
    #: When the next review is sent; None when it is off.
    next_at: dt.datetime | None


class WeeklyReviewController(Controller):
    """Turn the Monday mail to admins on (idempotent) or off."""

    path = "/api/v1/reports/weekly-review"
    tags = ["reports"]
    opt = needs(P.REPORTS_READ)

    @get("/")
    async def status(self, db: Db, principal: Actor) -> WeeklyReviewOut:
        return WeeklyReviewOut(next_at=await weekly.next_due(db))

    @put("/")
    async def turn_on(self, db: Db, principal: Actor) -> WeeklyReviewOut:
        await weekly.ensure_scheduled(db)
        await db.flush()
        return WeeklyReviewOut(next_at=await weekly.next_due(db))

    @delete("/", status_code=HTTP_200_OK)
    async def turn_off(self, db: Db, principal: Actor) -> WeeklyReviewOut:
        await weekly.turn_off(db)
        return WeeklyReviewOut(next_at=None)


def _name(report: Report) -> str:
    return f"report-{report.filters.start.isoformat()}-{report.filters.end.isoformat()}"


@get("/reports", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
def reports_page() -> str:
    """The page's shell; its data comes from the API with the user's token."""
    return page.SHELL


CONTROLLERS: list[type[Controller] | HTTPRouteHandler] = [
    ReportController,
    WeeklyReviewController,
    reports_page,
]
