"""The admin console's pages beyond pages.py's: channels (with a connection test), SLA
policies and business hours, teams, and quota usage.

Thin, as pages.py's are: each form calls the service function the API's
endpoint calls. A form the service refuses is shown again with the reason,
and what it would have written is rolled back (a savepoint), so nothing of it
is stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk import egress
from frontdesk.api.deps import Db, Rt, needs
from frontdesk.audit.service import record
from frontdesk.auth import service as auth
from frontdesk.auth.permissions import Permission as P
from frontdesk.auth.schemas import TEAM_KINDS
from frontdesk.channels import CheckResult, CheckStep
from frontdesk.channels import service as channels
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.quotas import service as quotas
from frontdesk.routing import sla
from frontdesk.routing.calendar import CalendarSpec
from frontdesk.runtime import Runtime
from frontdesk.tickets.states import Priority
from frontdesk.web.render import Page, provide_page, render, see_other

PageDep = NamedDependency[Page]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The longest a console "Test" may take, whatever an adapter's own timeouts say.
CHECK_LIMIT_SECONDS = 90.0
_RANGE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")


async def _refusable(db: AsyncSession, change: Callable[[], Awaitable[Any]]) -> str | None:
    """Run ``change`` in a savepoint: the refusal's message, with nothing of it kept."""
    try:
        async with db.begin_nested():
            await change()
    except (InvalidInput, Conflict) as refused:
        return refused.detail
    return None


# --- channels -------------------------------------------------------------------------


def _widget_snippet(runtime: Runtime, kind: str, webhook_url: str) -> str | None:
    if kind != "webchat":
        return None
    public_id = webhook_url.rsplit("/", 1)[1]
    base = runtime.settings.public_url.rstrip("/")
    src = f"{base}/channels/webchat/widget.js"
    return f'<script src="{src}" data-channel="{public_id}" defer></script>'


async def _channels_page(
    db: AsyncSession,
    runtime: Runtime,
    page: Page,
    *,
    tested: tuple[uuid.UUID, CheckResult | None] | None = None,
) -> Response[str]:
    listed = []
    for c in await channels.list_channels(db):
        url = channels.webhook_url(runtime, await channels.endpoint_token(db, c.id))
        listed.append(
            {
                "channel": c,
                "webhook_url": url,
                "config": json.dumps(channels.masked_config(runtime, c), ensure_ascii=False),
                "snippet": _widget_snippet(runtime, c.kind, url),
                "testable": runtime.registry.get(c.kind).supports("check"),
                "tested": tested is not None and tested[0] == c.id,
                "result": tested[1] if tested is not None and tested[0] == c.id else None,
            }
        )
    adapters = []
    for kind in runtime.registry.kinds():
        cls = runtime.registry.get(kind)
        fields = msgspec.structs.fields(cls.config_type)
        adapters.append(
            {
                "kind": kind,
                "display_name": cls.display_name,
                "fields": [f.encode_name for f in fields],
                "secret_fields": sorted(channels.secret_fields(cls.config_type)),
            }
        )
    return render(
        "admin/channels.html", locale=page.locale, page=page, channels=listed, adapters=adapters
    )


@get("/app/admin/channels", opt=needs(P.CHANNELS_MANAGE))
async def admin_channels(db: Db, runtime: Rt, page: PageDep) -> Response[str]:
    return await _channels_page(db, runtime, page)


@post("/app/admin/channels/{channel_id:uuid}/test", opt=needs(P.CHANNELS_MANAGE), status_code=200)
async def admin_test_channel(
    channel_id: FromPath[uuid.UUID], request: Request[Any, Any, Any], runtime: Rt
) -> Response[str]:
    """Run the adapter's connection check and show what it found; audited.

    No transaction is held while the provider is asked (a slow SMTP server
    must not hold the database's locks): one before, one after.
    """
    async with runtime.db.session() as db:
        page = await provide_page(request, db)
        tenant_id = page.principal.tenant_id
        channel = await channels.get_channel(db, channel_id)
        kind = channel.kind
        cls = runtime.registry.get(kind)
        adapter = None
        if cls.supports("check"):
            cipher = await load_tenant_cipher(db, runtime.keyring, tenant_id)
            token = await channels.endpoint_token(db, channel.id)
            adapter = channels.build_adapter(runtime, cipher, channel, token)
    result: CheckResult | None = None
    if adapter is not None:
        try:
            # The same guard as delivery: never a private address in production.
            await egress.check_adapter(
                adapter.config, allow_private=runtime.settings.allow_private_targets
            )
            async with asyncio.timeout(CHECK_LIMIT_SECONDS):
                result = await adapter.check()
        except egress.UnsafeTarget as exc:
            result = CheckResult(steps=[CheckStep(what=kind, ok=False, detail=str(exc))])
        except TimeoutError:
            step = CheckStep(what=kind, ok=False, detail="the check did not finish")
            result = CheckResult(steps=[step])
        except Exception as exc:  # an adapter's bug is shown, not a 500
            step = CheckStep(what=kind, ok=False, detail=f"{type(exc).__name__}")
            result = CheckResult(steps=[step])
    async with runtime.db.session(tenant_id) as db:
        await record(
            db,
            actor_user_id=page.principal.user_id,
            action="channel.tested",
            subject_type="channel",
            subject_id=channel_id,
            ok=None if result is None else result.ok,
        )
        return await _channels_page(db, runtime, page, tested=(channel_id, result))


# --- SLA policies and business hours ------------------------------------------------


def _hours_form(calendar: CalendarSpec | None) -> dict[str, Any]:
    """A calendar as the form shows it: ``09:00-12:00, 13:00-18:00`` per day."""
    spec = calendar or CalendarSpec()
    return {
        "present": calendar is not None,
        "timezone": spec.timezone,
        "days": {day: ", ".join(f"{a}-{b}" for a, b in spec.hours.get(day, [])) for day in DAYS},
        "holidays": "\n".join(d.isoformat() for d in spec.holidays),
    }


def _calendar_from(page: Page) -> CalendarSpec:
    """The form's calendar, or InvalidInput naming the field at fault."""
    hours: dict[str, list[list[str]]] = {}
    for day in DAYS:
        ranges = []
        for part in filter(None, (p.strip() for p in page.field(f"hours_{day}").split(","))):
            match = _RANGE.match(part)
            if match is None:
                raise InvalidInput(f"{day}: write hours as 09:00-18:00, separated by commas")
            ranges.append([match.group(1).zfill(5), match.group(2).zfill(5)])
        if ranges:
            hours[day] = ranges
    holidays = []
    for word in page.field("holidays").replace(",", " ").split():
        try:
            holidays.append(dt.date.fromisoformat(word).isoformat())
        except ValueError:
            raise InvalidInput(f"holiday {word!r} is not a date (YYYY-MM-DD)") from None
    raw = {"timezone": page.field("timezone") or "UTC", "hours": hours, "holidays": holidays}
    try:
        return msgspec.convert(raw, CalendarSpec)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"business hours: {exc}") from None


async def _sla_page(
    db: AsyncSession,
    page: Page,
    *,
    error: str | None = None,
    error_form: str = "",
    policies_text: str | None = None,
    hours: dict[str, Any] | None = None,
) -> Response[str]:
    policies, default = await sla.get_policies(db)
    text = json.dumps(msgspec.to_builtins(policies), indent=2, ensure_ascii=False)
    return render(
        "admin/sla.html",
        locale=page.locale,
        page=page,
        status_code=400 if error else 200,
        error=error,
        error_form=error_form,
        listed=[
            (
                policy,
                {m: _target_text(policy.target(sla.Metric(m))) for m in METRICS},
            )
            for policy in policies
        ],
        form=page.form if error_form == "add" else {},
        priorities=list(Priority),
        metrics=METRICS,
        policies=policies_text if policies_text is not None else text,
        default=default,
        hours=hours or _hours_form(await sla.get_calendar(db, None)),
        days=DAYS,
    )


@get("/app/admin/sla", opt=needs(P.SLA_MANAGE))
async def admin_sla(db: Db, page: PageDep) -> Response[str]:
    return await _sla_page(db, page)


@post("/app/admin/sla/policies", opt=needs(P.SLA_MANAGE))
async def admin_put_policies(db: Db, page: PageDep) -> Response[Any]:
    """The whole ordered list as JSON (the API's ``policies``); ``[]`` returns to the defaults."""
    text = page.form.get("policies", "")

    async def change() -> None:
        try:
            policies = msgspec.json.decode(text.encode(), type=list[sla.PolicySpec])
        except msgspec.ValidationError as exc:
            raise InvalidInput(f"SLA policies: {exc}") from None
        except msgspec.DecodeError as exc:
            raise InvalidInput(f"SLA policies are not JSON: {exc}") from None
        await sla.put_policies(db, page.principal.user_id, policies)

    error = await _refusable(db, change)
    if error:
        return await _sla_page(db, page, error=error, error_form="policies", policies_text=text)
    return see_other("/app/admin/sla")


UNITS = {"minutes": 60, "hours": 3600}
METRICS = ("first_response", "next_response", "resolution")


def _target_from(page: Page, metric: str) -> dict[str, int] | None:
    raw = page.field(metric)
    if not raw:
        return None
    try:
        amount = int(raw)
    except ValueError:
        raise InvalidInput(f"{metric}: a whole number") from None
    if amount < 1:
        raise InvalidInput(f"{metric}: at least 1")
    unit = page.field(f"{metric}_unit") or "hours"
    if unit == "business_days":
        return {"business_days": amount}
    if unit not in UNITS:
        raise InvalidInput(f"{metric}: unknown unit {unit!r}")
    return {"seconds": amount * UNITS[unit]}


def _policy_from(page: Page) -> sla.PolicySpec:
    """One policy from the "Add a policy" form, or InvalidInput saying what is wrong."""
    escalation = []
    if page.field("escalate_on_breach") or page.field("notify_admins"):
        escalation.append(
            {
                "on": "breach",
                "escalate": bool(page.field("escalate_on_breach")),
                "notify": ["admins"] if page.field("notify_admins") else [],
            }
        )
    raw: dict[str, Any] = {
        "name": page.field("name"),
        "priorities": [p.value for p in Priority if page.field(f"priority_{p.value}")],
        "channels": [c.strip() for c in page.field("channels").split(",") if c.strip()],
        "categories": [c.strip() for c in page.field("categories").split(",") if c.strip()],
        "escalation": escalation,
    }
    for metric in METRICS:
        raw[metric] = _target_from(page, metric)
    try:
        return msgspec.convert(raw, sla.PolicySpec)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"policy: {exc}") from None


@post("/app/admin/sla/policies/add", opt=needs(P.SLA_MANAGE))
async def admin_add_policy(db: Db, page: PageDep) -> Response[Any]:
    """Insert one policy before ``position`` (default: at the end); the defaults, while
    in use, are kept as the start of the tenant's own list."""

    async def change() -> None:
        found, _ = await sla.get_policies(db)
        policy = _policy_from(page)
        raw = page.field("position")
        position = int(raw) if raw.isdigit() else len(found)
        await sla.put_policies(
            db, page.principal.user_id, [*found[:position], policy, *found[position:]]
        )

    error = await _refusable(db, change)
    if error:
        return await _sla_page(db, page, error=error, error_form="add")
    return see_other("/app/admin/sla")


@post("/app/admin/sla/policies/{position:int}/{move:str}", opt=needs(P.SLA_MANAGE))
async def admin_move_policy(
    position: FromPath[int], move: FromPath[str], db: Db, page: PageDep
) -> Response[Any]:
    """``remove`` a policy, or move it ``up`` one place (earlier wins)."""
    found, _ = await sla.get_policies(db)
    if not 0 <= position < len(found) or move not in ("remove", "up"):
        raise NotFound("no such policy")
    if move == "remove":
        changed = [p for i, p in enumerate(found) if i != position]
    elif position > 0:
        changed = list(found)
        changed[position - 1], changed[position] = changed[position], changed[position - 1]
    else:
        return see_other("/app/admin/sla")
    if not changed:
        return await _sla_page(db, page, error="keep at least one policy, or save [] below")
    await sla.put_policies(db, page.principal.user_id, changed)
    return see_other("/app/admin/sla")


def _target_text(target: Any) -> str:
    if target is None:
        return ""
    if target.business_days is not None:
        return f"{target.business_days} d*"
    seconds = int(target.seconds)
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


@post("/app/admin/business-hours", opt=needs(P.SLA_MANAGE))
async def admin_put_hours(db: Db, page: PageDep) -> Response[Any]:
    """The tenant's calendar; ``remove`` takes it away (always open)."""

    async def change() -> None:
        spec = None if page.field("remove") else _calendar_from(page)
        await sla.put_calendar(db, page.principal.user_id, None, spec)

    error = await _refusable(db, change)
    if error:
        shown = _hours_form(None) | {
            "present": True,
            "timezone": page.field("timezone"),
            "days": {day: page.field(f"hours_{day}") for day in DAYS},
            "holidays": page.field("holidays"),
        }
        return await _sla_page(db, page, error=error, error_form="hours", hours=shown)
    return see_other("/app/admin/sla")


# --- teams ----------------------------------------------------------------------------


async def _teams_page(
    db: AsyncSession, page: Page, *, error: str | None = None, form: dict[str, str] | None = None
) -> Response[str]:
    teams = await auth.list_teams(db)
    members = await auth.team_members(db, [t.id for t in teams])
    counts: dict[uuid.UUID, int] = {}
    for m in members:
        counts[m.team_id] = counts.get(m.team_id, 0) + 1
    return render(
        "admin/teams.html",
        locale=page.locale,
        page=page,
        status_code=400 if error else 200,
        error=error,
        form=form or {},
        teams=teams,
        counts=counts,
        kinds=TEAM_KINDS,
    )


@get("/app/admin/teams", opt=needs(P.TEAMS_MANAGE))
async def admin_teams(db: Db, page: PageDep) -> Response[str]:
    return await _teams_page(db, page)


@post("/app/admin/teams", opt=needs(P.TEAMS_MANAGE))
async def admin_create_team(db: Db, page: PageDep) -> Response[Any]:
    created: list[uuid.UUID] = []

    async def change() -> None:
        team = await auth.create_team(
            db,
            page.principal.user_id,
            slug=page.field("slug"),
            name=page.field("name"),
            kind=page.field("kind") or "other",
            is_default=page.field("is_default") == "on",
        )
        created.append(team.id)

    error = await _refusable(db, change)
    if error:
        return await _teams_page(db, page, error=error, form=page.form)
    return see_other(f"/app/admin/teams/{created[0]}")


async def _team_page(
    db: AsyncSession, page: Page, team_id: uuid.UUID, *, error: str | None = None
) -> Response[str]:
    team = await auth.get_team(db, team_id)
    users = {u.id: u for u in await auth.list_users(db, limit=1000)}
    members = await auth.team_members(db, [team.id])
    in_team = {m.user_id for m in members}
    calendar = await sla.get_calendar(db, team.id) if page.has(P.SLA_MANAGE) else None
    return render(
        "admin/team.html",
        locale=page.locale,
        page=page,
        status_code=400 if error else 200,
        error=error,
        team=team,
        kinds=TEAM_KINDS,
        members=[(m, users[m.user_id]) for m in members if m.user_id in users],
        others=sorted(
            (u for u in users.values() if u.id not in in_team and u.is_active),
            key=lambda u: u.display_name.lower(),
        ),
        hours=_hours_form(calendar),
        days=DAYS,
    )


@get("/app/admin/teams/{team_id:uuid}", opt=needs(P.TEAMS_MANAGE))
async def admin_team(team_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Response[str]:
    return await _team_page(db, page, team_id)


def _back(team_id: uuid.UUID) -> Redirect:
    return see_other(f"/app/admin/teams/{team_id}")


@post("/app/admin/teams/{team_id:uuid}", opt=needs(P.TEAMS_MANAGE))
async def admin_update_team(team_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Response[Any]:
    """Rename, change the kind, make it the default team."""
    team = await auth.get_team(db, team_id)

    async def change() -> None:
        await auth.update_team(
            db,
            page.principal,
            team,
            name=page.field("name"),
            kind=page.field("kind") or None,
            is_default=True if page.field("is_default") == "on" else None,
        )

    error = await _refusable(db, change)
    if error:
        await db.refresh(team)
        return await _team_page(db, page, team_id, error=error)
    return _back(team_id)


@post("/app/admin/teams/{team_id:uuid}/members", opt=needs(P.TEAMS_MANAGE))
async def admin_set_member(team_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Response[Any]:
    """Add a member, or change whether a member leads the team."""
    team = await auth.get_team(db, team_id)
    user_id = page.uuid_field("user_id")
    if user_id is None:
        return await _team_page(db, page, team_id, error="choose a user")
    user = await auth.get_user(db, user_id)
    await auth.set_team_member(
        db, page.principal.user_id, team, user, is_lead=page.field("is_lead") == "on"
    )
    return _back(team_id)


@post("/app/admin/teams/{team_id:uuid}/members/{user_id:uuid}/remove", opt=needs(P.TEAMS_MANAGE))
async def admin_remove_member(
    team_id: FromPath[uuid.UUID], user_id: FromPath[uuid.UUID], db: Db, page: PageDep
) -> Redirect:
    team = await auth.get_team(db, team_id)
    await auth.remove_team_member(db, page.principal, team, user_id)
    return _back(team_id)


@post("/app/admin/teams/{team_id:uuid}/business-hours", opt=needs(P.SLA_MANAGE))
async def admin_put_team_hours(
    team_id: FromPath[uuid.UUID], db: Db, page: PageDep
) -> Response[Any]:
    """The team's own calendar; ``remove``: the team follows the tenant's again."""
    team = await auth.get_team(db, team_id)

    async def change() -> None:
        spec = None if page.field("remove") else _calendar_from(page)
        await sla.put_calendar(db, page.principal.user_id, team.id, spec)

    error = await _refusable(db, change)
    if error:
        return await _team_page(db, page, team_id, error=error)
    return _back(team_id)


# --- quota usage ------------------------------------------------------------------------


@get("/app/admin/usage", opt=needs(P.TENANT_USAGE))
async def admin_usage(db: Db, runtime: Rt, page: PageDep) -> Response[str]:
    """The tenant's quotas and what it uses of them (the API's ``/api/v1/tenant/usage``)."""
    found = await quotas.usage(db, runtime.quotas, page.principal.tenant_id, page.principal.user_id)
    rows = [
        (name, getattr(found, name))
        for name in (
            "api_requests_per_minute",
            "token_api_requests_per_minute",
            "inbound_messages_per_minute",
            "attachment_bytes",
        )
    ]
    return render("admin/usage.html", locale=page.locale, page=page, rows=rows)


ROUTES = [
    admin_channels,
    admin_test_channel,
    admin_sla,
    admin_put_policies,
    admin_add_policy,
    admin_move_policy,
    admin_put_hours,
    admin_teams,
    admin_create_team,
    admin_team,
    admin_update_team,
    admin_set_member,
    admin_remove_member,
    admin_put_team_hours,
    admin_usage,
]
