"""The pages: sign-in, the inbox, a ticket, a customer, and the admin console.

Handlers stay thin: they call the same service functions and permission
checks as the API (``opt=needs(...)`` as there), and every state change is a
POST carrying the session's CSRF token, answered with a redirect (303).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.api.deps import Db, Rt, needs
from frontdesk.api.pagination import decode_cursor, encode_cursor
from frontdesk.attachments import service as attachments
from frontdesk.audit import service as audit
from frontdesk.auth import service as auth
from frontdesk.auth.models import User
from frontdesk.auth.permissions import Permission as P
from frontdesk.auth.sso import policy as sso_policy
from frontdesk.calls import service as calls
from frontdesk.canned import service as canned
from frontdesk.channels import delivery
from frontdesk.channels import service as channels
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import enter_tenant
from frontdesk.errors import FrontdeskError, InvalidInput, NotFound, Unauthenticated
from frontdesk.followups import service as followups
from frontdesk.handoffs import service as handoffs
from frontdesk.identity import service as identity
from frontdesk.routing import rules as routing_rules
from frontdesk.routing import sla
from frontdesk.runtime import Runtime
from frontdesk.tasks import service as tasks
from frontdesk.tenancy.service import get_tenant_by_slug
from frontdesk.tickets import inbox
from frontdesk.tickets import service as tickets
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.states import MessageKind, Mood, Priority, TicketState
from frontdesk.web import admin, i18n
from frontdesk.web.render import (
    STATIC,
    Page,
    SignInRequired,
    enter_console,
    locale_of,
    provide_page,
    render,
    same_origin,
    see_other,
    session_cookie,
    sign_in_required,
)
from frontdesk.web.sessions import end_browser_session, start_browser_session

PageDep = NamedDependency[Page]
PAGE_SIZE = 50


# --- sign-in ----------------------------------------------------------------------


async def _login_page(
    db: AsyncSession,
    locale: str,
    slug: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    """The sign-in form; for a known company with SSO, its link (and a note when required)."""
    choices = sso_policy.SignInChoices(sso=False, sso_required=False)
    if slug:
        try:
            tenant = await get_tenant_by_slug(db, slug)
        except NotFound:
            pass
        else:
            await enter_tenant(db, tenant.id)
            choices = await sso_policy.sign_in_choices(db)
    return render(
        "login.html",
        locale=locale,
        tenant=slug,
        error=error,
        sso_url=f"/sso/{slug}/login" if choices.sso else None,
        sso_required=choices.sso_required,
        status_code=status_code,
    )


@get("/app/login")
async def login_page(request: Request[Any, Any, Any], db: Db) -> Response[str]:
    """``?tenant=<slug>`` names the company: the page then offers its single sign-on."""
    slug = (request.query_params.get("tenant") or "").strip()
    return await _login_page(db, locale_of(request), slug)


@post("/app/login")
async def login(request: Request[Any, Any, Any], db: Db, runtime: Rt) -> Response[Any]:
    """Password sign-in: starts a browser session. No session yet, so the Origin is checked."""
    locale = locale_of(request)
    if not same_origin(request):
        return await _login_page(db, locale, "", error="wrong_credentials", status_code=403)
    form = await request.form()
    slug = str(form.get("tenant", "")).strip()
    email = str(form.get("email", "")).strip()
    password = str(form.get("password", ""))
    tenant = None
    try:
        tenant = await get_tenant_by_slug(db, slug)
        await enter_tenant(db, tenant.id)
        cipher = await load_tenant_cipher(db, runtime.keyring, tenant.id)
        # The same check as the API's sign-in, SSO required included.
        user = await auth.check_password(db, cipher, email=email, password=password)
        started = await start_browser_session(db, user)
    except FrontdeskError as refused:
        if tenant is not None and isinstance(refused, Unauthenticated):
            # This transaction commits (the page is answered, not an error).
            ip = request.client.host if request.client else None
            await auth.record_failed_sign_in(db, refused, email=email, ip=ip, via="console")
        error = "sso_required" if isinstance(refused, sso_policy.SsoRequired) else None
        return await _login_page(
            db, locale, slug, error=error or "wrong_credentials", status_code=401
        )
    return enter_console(request, started)


@post("/app/logout")
async def logout(request: Request[Any, Any, Any], db: Db, page: PageDep) -> Redirect:
    await end_browser_session(db, page.signed_in)
    return see_other("/app/login", cookies=[session_cookie(request, "", 0)])


@post("/app/language")
async def switch_language(request: Request[Any, Any, Any], db: Db, page: PageDep) -> Redirect:
    """The user's language switch: a cookie for this browser and the user's saved locale."""
    locale = "zh" if page.locale == "en" else "en"
    user = await auth.get_user(db, page.principal.user_id)
    user.locale = locale
    back = page.field("next") or "/app/inbox"
    if not back.startswith("/app/"):
        back = "/app/inbox"
    cookie = Cookie(key=i18n.LANG_COOKIE, value=locale, path="/", samesite="lax", max_age=31536000)
    return see_other(back, cookies=[cookie])


@get("/app", sync_to_thread=False)
def app_root() -> Redirect:
    return see_other("/app/inbox")


# --- the inbox --------------------------------------------------------------------


class InboxRow(msgspec.Struct, frozen=True, kw_only=True):
    ticket: Ticket
    customer: str
    assignee: str | None
    team: str | None
    countdown: sla.Countdown | None


async def _names(db: AsyncSession) -> tuple[dict[uuid.UUID, User], dict[uuid.UUID, str]]:
    users = {u.id: u for u in await auth.list_users(db, limit=1000)}
    teams = {t.id: t.name for t in await auth.list_teams(db)}
    return users, teams


async def _rows(db: AsyncSession, found: list[Ticket]) -> list[InboxRow]:
    customers = await identity.display_names(db, (t.customer_id for t in found))
    users, teams = await _names(db)
    clocks = await sla.countdowns(db, [t.id for t in found])
    return [
        InboxRow(
            ticket=t,
            customer=customers.get(t.customer_id, ""),
            assignee=users[t.assignee_id].display_name if t.assignee_id in users else None,
            team=teams.get(t.team_id) if t.team_id else None,
            countdown=clocks.get(t.id),
        )
        for t in found
    ]


def _inbox_query(request: Request[Any, Any, Any]) -> inbox.InboxQuery:
    q = request.query_params

    def one(name: str) -> str | None:
        value = (q.get(name) or "").strip()
        return value or None

    try:
        return msgspec.convert(
            {
                "view": one("view") or "open",
                "state": one("state"),
                "priority": one("priority"),
                "channel": one("channel"),
                "team_id": one("team"),
                "q": one("q"),
            },
            inbox.InboxQuery,
        )
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"bad filter: {exc}") from None


async def _inbox(
    request: Request[Any, Any, Any], db: AsyncSession, page: Page
) -> tuple[inbox.InboxQuery, list[InboxRow], str | None]:
    query = _inbox_query(request)
    found = await inbox.inbox_page(
        db,
        page.principal,
        query,
        limit=PAGE_SIZE + 1,
        before=decode_cursor(request.query_params.get("cursor")),
    )
    more = encode_cursor(found[PAGE_SIZE - 1].id) if len(found) > PAGE_SIZE else None
    return query, await _rows(db, found[:PAGE_SIZE]), more


@get("/app/inbox", opt=needs(P.TICKETS_READ))
async def inbox_view(request: Request[Any, Any, Any], db: Db, page: PageDep) -> Response[str]:
    query, rows, more = await _inbox(request, db, page)
    teams = await auth.list_teams(db)
    return render(
        "inbox.html",
        locale=page.locale,
        page=page,
        query=query,
        rows=rows,
        more=more,
        views=list(inbox.View),
        states=list(TicketState),
        priorities=list(Priority),
        kinds=sorted(request.app.state.runtime.registry.kinds()),
        teams=teams,
        filters={k: v for k, v in request.query_params.items() if k != "cursor"},
    )


@get("/app/inbox/rows", opt=needs(P.TICKETS_READ))
async def inbox_rows(request: Request[Any, Any, Any], db: Db, page: PageDep) -> Response[str]:
    """The list's rows alone: what the live inbox fetches again when the socket says so."""
    _, rows, _ = await _inbox(request, db, page)
    return render("_rows.html", locale=page.locale, page=page, rows=rows)


# --- a ticket ---------------------------------------------------------------------


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    at: Any
    kind: str  # message or event
    item: Any
    author: str
    attachments: list[dict[str, Any]] = []
    # A note's text cut around its @mentions: (text, is a mention), for highlighting.
    segments: list[tuple[str, bool]] = []
    # The channel instance a reply went out on (its name), when not the ticket's own.
    channel_name: str = ""


def _segments(
    body: str, mentioned: list[str], names: dict[uuid.UUID, str]
) -> list[tuple[str, bool]]:
    """The note's text in pieces, the mentions (of users it notified) marked."""
    names = {k: v for k, v in names.items() if str(k) in mentioned}
    out: list[tuple[str, bool]] = []
    at = 0
    for _, start, end in tickets.mentions_in(body, names):
        out += [(body[at:start], False), (body[start:end], True)]
        at = end
    return [*out, (body[at:], False)] if out else []


async def _timeline(db: AsyncSession, ticket: Ticket) -> list[TimelineEntry]:
    users, _ = await _names(db)
    customer = await identity.get_customer(db, ticket.customer_id)
    out: list[TimelineEntry] = []
    messages = await tickets.list_messages(db, ticket, limit=500)
    elsewhere = {m.channel_id for m in messages if m.direction == "outbound"}
    channel_names: dict[uuid.UUID | None, str] = {
        c.id: c.name for c in await channels.get_channels(db, {i for i in elsewhere if i})
    }
    files = await attachments.by_message(db, [m.id for m in messages])
    for m in messages:
        if m.author_user_id in users:
            author = users[m.author_user_id].display_name
        elif m.author_customer_id is not None:
            author = customer.display_name
        else:
            author = ""
        out.append(
            TimelineEntry(
                at=m.created_at,
                kind="message",
                item=m,
                author=author,
                attachments=files.get(m.id, []),
                segments=_segments(
                    m.body_text,
                    m.meta.get("mentions") or [],
                    {k: u.display_name for k, u in users.items()},
                ),
                channel_name=channel_names.get(m.channel_id, "")
                if m.direction == "outbound" and m.channel_id != ticket.channel_id
                else "",
            )
        )
    for e in await tickets.list_events(db, ticket, limit=500):
        if e.kind.endswith("_added"):
            continue  # the message itself is on the timeline
        who = users[e.actor_user_id].display_name if e.actor_user_id in users else ""
        out.append(TimelineEntry(at=e.created_at, kind="event", item=e, author=who))
    # Calls (their log: wait, duration, recording, transcript), callback tasks and
    # satisfaction answers, through their domains' services, as the API shows them.
    for c in await calls.for_ticket(db, ticket.id):
        call = calls.out(c)
        at = call.started_at or call.answered_at or call.ended_at or ticket.created_at
        who = users[c.agent_user_id].display_name if c.agent_user_id in users else c.agent or ""
        out.append(TimelineEntry(at=at, kind="call", item=call, author=who))
    for task in await tasks.for_ticket(db, ticket.id):
        who = users[task.assignee_id].display_name if task.assignee_id in users else ""
        out.append(TimelineEntry(at=task.created_at, kind="task", item=tasks.out(task), author=who))
    for survey in await followups.surveys_of(db, ticket):
        at = survey.answered_at or survey.created_at
        out.append(
            TimelineEntry(at=at, kind="survey", item=followups.SurveyOut.of(survey), author="")
        )
    out.sort(key=lambda entry: (entry.at, entry.kind))
    return out


async def _id_names(db: AsyncSession) -> dict[str, str]:
    """Users' and teams' names by id, for the timeline's events (assigned, team changed)."""
    users, teams = await _names(db)
    return {
        **{str(k): v.display_name for k, v in users.items()},
        **{str(k): v for k, v in teams.items()},
    }


@get("/app/tickets/{ticket_id:uuid}", opt=needs(P.TICKETS_READ))
async def ticket_view(
    ticket_id: FromPath[uuid.UUID], db: Db, runtime: Rt, page: PageDep
) -> Response[str]:
    principal = page.principal
    ticket = await tickets.get_ticket(db, principal, ticket_id)
    customer = await identity.get_customer(db, ticket.customer_id)
    users, team_names = await _names(db)
    context = await canned.context_for(db, principal, ticket.id)
    replies = [(r.title, canned.render(r.body, context)) for r in await canned.list_replies(db)]
    others = [
        t
        for t in await tickets.list_tickets(
            db, principal, tickets.TicketFilter(customer_id=customer.id), limit=20
        )
        if t.id != ticket.id
    ]
    contacts: list[identity.ContactView] = []
    routes: list[dict[str, Any]] = []
    if page.has(P.CUSTOMERS_READ):
        cipher = await load_tenant_cipher(db, runtime.keyring, principal.tenant_id)
        points = await identity.contact_points_of(db, customer.id)
        contacts = [identity.masked_view(cipher, point) for point in points]
        if page.has(P.TICKETS_REPLY) and ticket.state != TicketState.CLOSED.value:
            # Values masked for everyone: choosing where a reply goes reveals nothing.
            masked = {c.id: c for c in contacts}
            routes = [
                {
                    "value": f"{channel.id}:{point.id}",
                    "kind": channel.kind,
                    "label": f"{channel.name} → {point.kind}: {masked[point.id].value}",
                    "own": (channel.id, point.id) == (ticket.channel_id, ticket.contact_point_id),
                }
                for channel, point in await delivery.route_choices(db, runtime, ticket, points)
            ]
    return render(
        "ticket.html",
        locale=page.locale,
        page=page,
        ticket=ticket,
        customer=customer,
        contacts=contacts,
        routes=routes,
        mentionable=[u for u in await tickets.readers(db, ticket) if u.id != principal.user_id],
        timeline=await _timeline(db, ticket),
        id_names=await _id_names(db),
        clocks=await sla.ticket_status(db, ticket),
        handoffs=await handoffs.for_ticket(db, ticket.id),
        others=others,
        merge_targets=[
            o for o in others if o.merged_into_id is None and o.state != TicketState.CLOSED.value
        ],
        merged_here=await tickets.merged_into(db, ticket),
        satisfaction=[s for s in await followups.surveys_of(db, ticket) if s.score is not None],
        merged_into=await tickets.get_ticket_unchecked(db, ticket.merged_into_id)
        if ticket.merged_into_id
        else None,
        replies=replies,
        users=sorted(
            (u for u in users.values() if u.is_active), key=lambda u: u.display_name.lower()
        ),
        user_names={k: v.display_name for k, v in users.items()},
        teams=team_names,
        states=list(TicketState),
        priorities=list(Priority),
        moods=list(Mood),
        categories=await tickets.list_categories(db),
    )


@get("/app/tickets/{ticket_id:uuid}/timeline", opt=needs(P.TICKETS_READ))
async def ticket_timeline(ticket_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Response[str]:
    """The timeline alone, fetched again when the socket says the ticket changed."""
    ticket = await tickets.get_ticket(db, page.principal, ticket_id)
    return render(
        "_timeline.html",
        locale=page.locale,
        page=page,
        timeline=await _timeline(db, ticket),
        id_names=await _id_names(db),
    )


def _back(ticket_id: uuid.UUID) -> Redirect:
    return see_other(f"/app/tickets/{ticket_id}")


@post("/app/tickets/{ticket_id:uuid}/messages", opt=needs(P.TICKETS_READ))
async def post_message(
    ticket_id: FromPath[uuid.UUID], db: Db, runtime: Rt, page: PageDep
) -> Redirect:
    """A reply (on the channel picked, by default the ticket's) or an internal note:
    the service checks which. ``route`` is ``<channel id>:<contact point id>``."""
    ticket = await tickets.get_ticket(db, page.principal, ticket_id)
    try:
        kind = MessageKind(page.field("kind", "reply"))
    except ValueError:
        raise InvalidInput("kind is reply or note") from None
    route = None
    if kind is MessageKind.REPLY and page.field("route"):
        channel_id, _, point_id = page.field("route").partition(":")
        try:
            chosen = uuid.UUID(channel_id), uuid.UUID(point_id)
        except ValueError:
            raise InvalidInput("route is a channel id and a contact point id") from None
        route = await delivery.reply_route(
            db, runtime, page.principal, ticket, channel_id=chosen[0], contact_point_id=chosen[1]
        )
    await tickets.add_agent_message(
        db, page.principal, ticket, kind=kind, body=page.field("body"), route=route
    )
    return _back(ticket_id)


@post("/app/tickets/{ticket_id:uuid}/state", opt=needs(P.TICKETS_READ))
async def post_state(ticket_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Redirect:
    ticket = await tickets.get_ticket(db, page.principal, ticket_id)
    try:
        target = TicketState(page.field("state"))
    except ValueError:
        raise InvalidInput("unknown state") from None
    await tickets.change_state(db, page.principal, ticket, target)
    return _back(ticket_id)


@post("/app/tickets/{ticket_id:uuid}/fields", opt=needs(P.TICKETS_UPDATE))
async def post_fields(ticket_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Redirect:
    """Priority, category and mood; an empty category or mood clears it."""
    ticket = await tickets.get_ticket(db, page.principal, ticket_id)
    try:
        changes = tickets.TicketChanges(
            priority=Priority(page.field("priority")),
            category=page.field("category") or None,
            mood=Mood(page.field("mood")) if page.field("mood") else None,
        )
    except ValueError:
        raise InvalidInput("unknown priority or mood") from None
    await tickets.update_ticket(db, page.principal, ticket, changes)
    return _back(ticket_id)


@post("/app/tickets/{ticket_id:uuid}/assign", opt=needs(P.TICKETS_ASSIGN))
async def post_assign(ticket_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Redirect:
    """Assign to a user, or transfer to a team (whichever fields the form sent)."""
    ticket = await tickets.get_ticket(db, page.principal, ticket_id)
    changes: dict[str, Any] = {}
    if "assignee_id" in page.form:
        changes["assignee_id"] = page.uuid_field("assignee_id")
    if "team_id" in page.form:
        changes["team_id"] = page.uuid_field("team_id")
    await tickets.assign(db, page.principal, ticket, **changes)
    return _back(ticket_id)


@post("/app/tickets/{ticket_id:uuid}/merge", opt=needs(P.TICKETS_UPDATE))
async def post_merge(ticket_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Redirect:
    """Merge this ticket into the one picked (the customer's other tickets); on to it."""
    into = page.uuid_field("into_ticket_id")
    if into is None:
        raise InvalidInput("pick the ticket to merge this one into")
    source = await tickets.get_ticket(db, page.principal, ticket_id)
    target = await tickets.get_ticket(db, page.principal, into)
    await tickets.merge_tickets(db, page.principal, source, target)
    return _back(target.id)


@post("/app/tickets/{ticket_id:uuid}/handoffs", opt=needs(P.TICKETS_UPDATE))
async def post_handoff(ticket_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Redirect:
    ticket = await tickets.get_ticket(db, page.principal, ticket_id)
    try:
        data = msgspec.convert(
            {
                "team_id": page.field("team_id"),
                "description": page.field("description"),
                "due_minutes": int(page.field("due_minutes") or "0"),
            },
            handoffs.HandoffIn,
        )
    except (msgspec.ValidationError, ValueError) as exc:
        raise InvalidInput(f"bad hand-off: {exc}") from None
    await handoffs.request(db, page.principal, ticket, data)
    return _back(ticket_id)


# --- a customer -------------------------------------------------------------------


async def _customer_page(
    db: AsyncSession,
    runtime: Runtime,
    page: Page,
    customer_id: uuid.UUID,
    revealed: identity.ContactView | None = None,
) -> Response[str]:
    customer = await identity.get_customer(db, customer_id)
    cipher = await load_tenant_cipher(db, runtime.keyring, page.principal.tenant_id)
    contacts = [
        revealed
        if revealed is not None and revealed.id == point.id
        else identity.masked_view(cipher, point)
        for point in await identity.contact_points_of(db, customer.id)
    ]
    linked = await tickets.list_tickets(
        db, page.principal, tickets.TicketFilter(customer_id=customer.id), limit=100
    )
    merges = await identity.list_merges(db, customer.id)
    names = await identity.display_names(
        db, [m.source_id for m in merges] + [m.target_id for m in merges]
    )
    return render(
        "customer.html",
        locale=page.locale,
        page=page,
        customer=customer,
        contacts=contacts,
        tickets=linked,
        merges=merges,
        names=names,
    )


@get("/app/customers/{customer_id:uuid}", opt=needs(P.CUSTOMERS_READ))
async def customer_view(
    customer_id: FromPath[uuid.UUID], db: Db, runtime: Rt, page: PageDep
) -> Response[str]:
    """Identities masked; linked tickets (those the user may read); merges and their undo."""
    return await _customer_page(db, runtime, page, customer_id)


@post(
    "/app/customers/{customer_id:uuid}/contacts/{point_id:uuid}/reveal",
    opt=needs(P.CONTACTS_REVEAL),
    status_code=200,
)
async def customer_reveal(
    customer_id: FromPath[uuid.UUID],
    point_id: FromPath[uuid.UUID],
    db: Db,
    runtime: Rt,
    page: PageDep,
) -> Response[str]:
    """Shows one contact value in clear on this response only; the reveal is audited."""
    cipher = await load_tenant_cipher(db, runtime.keyring, page.principal.tenant_id)
    view = await identity.reveal_contact(db, cipher, page.principal, customer_id, point_id)
    return await _customer_page(db, runtime, page, customer_id, revealed=view)


@post("/app/customers/{customer_id:uuid}/merge", opt=needs(P.CUSTOMERS_MERGE))
async def customer_merge(customer_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Redirect:
    """Fold another customer (by id) into this one."""
    source = page.uuid_field("source_customer_id")
    if source is None:
        raise InvalidInput("name the customer to merge into this one")
    await identity.merge_customers(db, page.principal, source_id=source, target_id=customer_id)
    return see_other(f"/app/customers/{customer_id}")


@post("/app/customer-merges/{merge_id:uuid}/undo", opt=needs(P.CUSTOMERS_MERGE))
async def customer_unmerge(merge_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Redirect:
    merge = await identity.undo_merge(db, page.principal, merge_id)
    return see_other(f"/app/customers/{merge.target_id}")


# --- admin ------------------------------------------------------------------------


@get("/app/admin", sync_to_thread=False)
def admin_root() -> Redirect:
    return see_other("/app/admin/channels")


def _json_field(page: Page, name: str) -> dict[str, Any]:
    raw = page.field(name) or "{}"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{name} is not JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{name} is a JSON object")
    return value


@post("/app/admin/channels", opt=needs(P.CHANNELS_MANAGE))
async def admin_add_channel(db: Db, runtime: Rt, page: PageDep) -> Redirect:
    cipher = await load_tenant_cipher(db, runtime.keyring, page.principal.tenant_id)
    await channels.create_channel(
        db,
        runtime,
        cipher,
        page.principal,
        kind=page.field("kind"),
        name=page.field("name"),
        config=_json_field(page, "config"),
    )
    return see_other("/app/admin/channels")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@get("/app/admin/routing", opt=needs(P.ROUTING_MANAGE))
async def admin_routing(db: Db, page: PageDep) -> Response[str]:
    found, default = await routing_rules.get_rules(db)
    return render(
        "admin/routing.html",
        locale=page.locale,
        page=page,
        rules=found,
        conditions=[
            "; ".join(
                f"{k}={', '.join(map(str, v))}"
                for k, v in msgspec.to_builtins(r.conditions).items()
                if v
            )
            for r in found
        ],
        default=default,
        teams=await auth.list_teams(db),
        priorities=list(Priority),
    )


@post("/app/admin/routing", opt=needs(P.ROUTING_MANAGE))
async def admin_add_rule(db: Db, page: PageDep) -> Redirect:
    """Adds a rule at the end of the tenant's list (the defaults are kept as the start)."""
    found, _ = await routing_rules.get_rules(db)
    raw = {
        "name": page.field("name"),
        "conditions": {
            "channels": _split(page.field("channels")),
            "keywords": _split(page.field("keywords")),
        },
        "actions": {
            "team": page.field("team") or None,
            "priority": page.field("priority") or None,
            "tags": _split(page.field("tags")),
            "escalate": page.field("escalate") == "on",
        },
    }
    try:
        rule = msgspec.convert(raw, routing_rules.RuleSpec)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"bad rule: {exc}") from None
    await routing_rules.put_rules(db, page.principal.user_id, [*found, rule])
    return see_other("/app/admin/routing")


@post("/app/admin/routing/{position:int}/remove", opt=needs(P.ROUTING_MANAGE))
async def admin_remove_rule(position: FromPath[int], db: Db, page: PageDep) -> Redirect:
    found, _ = await routing_rules.get_rules(db)
    if not 0 <= position < len(found):
        raise InvalidInput("no such rule")
    await routing_rules.put_rules(
        db, page.principal.user_id, [r for i, r in enumerate(found) if i != position]
    )
    return see_other("/app/admin/routing")


@get("/app/admin/canned", opt=needs(P.CANNED_REPLIES_MANAGE))
async def admin_canned(db: Db, page: PageDep) -> Response[str]:
    return render(
        "admin/canned.html",
        locale=page.locale,
        page=page,
        replies=await canned.list_replies(db),
        placeholders=canned.PLACEHOLDERS,
    )


@post("/app/admin/canned", opt=needs(P.CANNED_REPLIES_MANAGE))
async def admin_add_canned(db: Db, page: PageDep) -> Redirect:
    await canned.create_reply(
        db, page.principal, title=page.field("title"), body=page.field("body")
    )
    return see_other("/app/admin/canned")


@post("/app/admin/canned/{reply_id:uuid}/delete", opt=needs(P.CANNED_REPLIES_MANAGE))
async def admin_delete_canned(reply_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Redirect:
    await canned.delete_reply(db, page.principal, await canned.get_reply(db, reply_id))
    return see_other("/app/admin/canned")


@get("/app/admin/users", opt=needs(P.USERS_READ))
async def admin_users(db: Db, page: PageDep) -> Response[str]:
    roles = {r.id: r.name for r in await auth.list_roles(db)}
    return render(
        "admin/users.html",
        locale=page.locale,
        page=page,
        users=await auth.list_users(db, limit=1000),
        roles=roles,
        teams=await auth.list_teams(db),
    )


@post("/app/admin/users/{user_id:uuid}/active", opt=needs(P.USERS_MANAGE))
async def admin_user_active(user_id: FromPath[uuid.UUID], db: Db, page: PageDep) -> Redirect:
    """Deactivating ends the user's browser sessions and tokens at once."""
    user = await auth.get_user(db, user_id)
    await auth.update_user(db, page.principal, user, is_active=page.field("active") == "1")
    return see_other("/app/admin/users")


@get("/app/admin/audit", opt=needs(P.AUDIT_READ))
async def admin_audit(db: Db, page: PageDep) -> Response[str]:
    users, _ = await _names(db)
    return render(
        "admin/audit.html",
        locale=page.locale,
        page=page,
        entries=await audit.list_entries(db, limit=200),
        user_names={k: v.display_name for k, v in users.items()},
    )


def web_router() -> Router:
    """Every page, under ``/app``, with the ``page`` dependency and the sign-in redirect."""
    return Router(
        path="/",
        route_handlers=[
            login_page,
            login,
            logout,
            switch_language,
            app_root,
            inbox_view,
            inbox_rows,
            ticket_view,
            ticket_timeline,
            post_message,
            post_state,
            post_fields,
            post_assign,
            post_handoff,
            post_merge,
            customer_view,
            customer_reveal,
            customer_merge,
            customer_unmerge,
            admin_root,
            *admin.ROUTES,
            admin_add_channel,
            admin_routing,
            admin_add_rule,
            admin_remove_rule,
            admin_canned,
            admin_add_canned,
            admin_delete_canned,
            admin_users,
            admin_user_active,
            admin_audit,
            create_static_files_router(
                path="/app/static", directories=[STATIC], include_in_schema=False
            ),
        ],
        dependencies={"page": Provide(provide_page)},
        exception_handlers={SignInRequired: sign_in_required},
        include_in_schema=False,
    )


__all__ = ["Unauthenticated", "web_router"]
