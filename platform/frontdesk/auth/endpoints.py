"""HTTP API for sign-in, users, roles, teams, API tokens and the audit log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, MediaType, Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.api.deps import Actor, Cipher, Db, Rt, needs
from frontdesk.api.pagination import Page, check_limit, decode_cursor, next_cursor
from frontdesk.audit import service as audit
from frontdesk.auth import invitations, tokens
from frontdesk.auth import schemas as s
from frontdesk.auth import service as auth
from frontdesk.auth.models import User
from frontdesk.auth.permissions import Permission as P
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import enter_tenant
from frontdesk.errors import Conflict, InvalidInput, Unauthenticated
from frontdesk.tenancy.service import get_tenant, get_tenant_by_slug


async def _user_out(session: AsyncSession, cipher: TenantCipher, user: User) -> s.UserOut:
    role = await auth.get_role(session, user.role_id)
    return s.UserOut.of(
        user,
        email=auth.user_email(cipher, user),
        role=role.name,
        team_ids=sorted(await auth.team_ids_of(session, user.id)),
    )


class SessionController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", status_code=HTTP_200_OK)
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[s.LoginIn], runtime: Rt
    ) -> auth.TokenPair:
        """A refused sign-in is audited in a transaction of its own (this one rolls back)."""
        try:
            async with runtime.db.session() as db:
                tenant_id = (await get_tenant_by_slug(db, data.tenant)).id
        except Exception:
            raise Unauthenticated("wrong tenant, email or password") from None
        try:
            async with runtime.db.session(tenant_id) as db:
                cipher = await load_tenant_cipher(db, runtime.keyring, tenant_id)
                return await auth.login(
                    db, runtime, cipher, email=data.email, password=data.password
                )
        except Unauthenticated as refused:
            async with runtime.db.session(tenant_id) as db:
                await auth.record_failed_sign_in(
                    db,
                    refused,
                    email=data.email,
                    ip=request.client.host if request.client else None,
                    via="api",
                )
            raise

    @post("/refresh", status_code=HTTP_200_OK)
    async def refresh(self, data: JSONBody[s.RefreshIn], runtime: Rt) -> auth.TokenPair:
        tenant_id = tokens.tenant_of_opaque_token(data.refresh_token, "fdr")
        try:
            async with runtime.db.session(tenant_id) as db:
                return await auth.refresh(db, runtime, data.refresh_token)
        except auth.RefreshTokenReused as reused:
            # A replayed token ends the whole family, in a transaction of its
            # own: the one above was rolled back with the error.
            async with runtime.db.session(tenant_id) as db:
                await auth.revoke_refresh_tokens(db, reused.user_id)
            raise

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(self, data: JSONBody[s.RefreshIn], db: Db) -> None:
        await enter_tenant(db, tokens.tenant_of_opaque_token(data.refresh_token, "fdr"))
        await auth.logout(db, data.refresh_token)

    @get("/me")
    async def me(self, db: Db, principal: Actor, cipher: Cipher) -> s.MeOut:
        user = await auth.get_user(db, principal.user_id)
        return s.MeOut(
            user=await _user_out(db, cipher, user),
            tenant_id=principal.tenant_id,
            permissions=sorted(principal.permissions),
        )


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["users"]

    @get("/", opt=needs(P.USERS_READ))
    async def list_users(
        self,
        db: Db,
        cipher: Cipher,
        principal: Actor,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> Page[s.UserOut]:
        check_limit(limit)
        users = await auth.list_users(db, limit=limit + 1, after=decode_cursor(cursor))
        items = [await _user_out(db, cipher, u) for u in users[:limit]]
        return Page(items=items, next_cursor=next_cursor([u.id for u in users], limit))

    @post("/", opt=needs(P.USERS_MANAGE))
    async def create_user(
        self, data: JSONBody[s.UserIn], db: Db, cipher: Cipher, principal: Actor
    ) -> s.UserOut:
        role = await auth.get_role_by_name(db, data.role)
        user = await auth.create_user(
            db,
            cipher,
            email=data.email,
            display_name=data.display_name,
            password=data.password,
            role=role,
            actor_user_id=principal.user_id,
            locale=data.locale,
        )
        for team_id in data.team_ids:
            team = await auth.get_team(db, team_id)
            await auth.set_team_member(db, principal.user_id, team, user)
        return await _user_out(db, cipher, user)

    @get("/{user_id:uuid}", opt=needs(P.USERS_READ))
    async def get_user(
        self, user_id: FromPath[uuid.UUID], db: Db, cipher: Cipher, principal: Actor
    ) -> s.UserOut:
        return await _user_out(db, cipher, await auth.get_user(db, user_id))

    @patch("/{user_id:uuid}", opt=needs(P.USERS_MANAGE))
    async def update_user(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[s.UserPatch],
        db: Db,
        cipher: Cipher,
        principal: Actor,
    ) -> s.UserOut:
        user = await auth.get_user(db, user_id)
        role = await auth.get_role_by_name(db, data.role) if data.role is not None else None
        await auth.update_user(
            db,
            principal,
            user,
            display_name=data.display_name,
            role=role,
            is_active=data.is_active,
            locale=data.locale,
        )
        return await _user_out(db, cipher, user)


class RoleController(Controller):
    path = "/api/v1/roles"
    tags = ["roles"]

    @get("/", opt=needs(P.USERS_READ))
    async def list_roles(self, db: Db, principal: Actor) -> list[s.RoleOut]:
        return [s.RoleOut.of(r, auth.role_permissions(r)) for r in await auth.list_roles(db)]

    @post("/", opt=needs(P.ROLES_MANAGE))
    async def create_role(self, data: JSONBody[s.RoleIn], db: Db, principal: Actor) -> s.RoleOut:
        if not data.name.strip() or len(data.name) > 64:
            raise InvalidInput("a role name is 1–64 characters")
        role = await auth.create_role(
            db,
            principal,
            name=data.name.strip(),
            description=data.description,
            permissions=data.permissions,
        )
        return s.RoleOut.of(role, auth.role_permissions(role))

    @patch("/{role_id:uuid}", opt=needs(P.ROLES_MANAGE))
    async def update_role(
        self, role_id: FromPath[uuid.UUID], data: JSONBody[s.RolePatch], db: Db, principal: Actor
    ) -> s.RoleOut:
        role = await auth.get_role(db, role_id)
        await auth.update_role(
            db, principal, role, description=data.description, permissions=data.permissions
        )
        return s.RoleOut.of(role, auth.role_permissions(role))


class TeamController(Controller):
    path = "/api/v1/teams"
    tags = ["teams"]

    @get("/")
    async def list_teams(self, db: Db, principal: Actor) -> list[s.TeamOut]:
        return [s.TeamOut.of(t) for t in await auth.list_teams(db)]

    @post("/", opt=needs(P.TEAMS_MANAGE))
    async def create_team(self, data: JSONBody[s.TeamIn], db: Db, principal: Actor) -> s.TeamOut:
        team = await auth.create_team(
            db,
            principal.user_id,
            slug=data.slug,
            name=data.name,
            kind=data.kind,
            is_default=data.is_default,
        )
        return s.TeamOut.of(team)

    @get("/{team_id:uuid}")
    async def get_team(self, team_id: FromPath[uuid.UUID], db: Db, principal: Actor) -> s.TeamOut:
        return s.TeamOut.of(await auth.get_team(db, team_id))

    @patch("/{team_id:uuid}", opt=needs(P.TEAMS_MANAGE))
    async def update_team(
        self, team_id: FromPath[uuid.UUID], data: JSONBody[s.TeamPatch], db: Db, principal: Actor
    ) -> s.TeamOut:
        team = await auth.get_team(db, team_id)
        await auth.update_team(
            db, principal, team, name=data.name, kind=data.kind, is_default=data.is_default
        )
        return s.TeamOut.of(team)

    @get("/{team_id:uuid}/members")
    async def list_members(
        self, team_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> list[s.MemberOut]:
        team = await auth.get_team(db, team_id)
        return [
            s.MemberOut(team_id=m.team_id, user_id=m.user_id, is_lead=m.is_lead)
            for m in await auth.team_members(db, [team.id])
        ]

    @put("/{team_id:uuid}/members/{user_id:uuid}", opt=needs(P.TEAMS_MANAGE))
    async def set_member(
        self,
        team_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[s.MemberIn],
        db: Db,
        principal: Actor,
    ) -> s.MemberOut:
        team = await auth.get_team(db, team_id)
        user = await auth.get_user(db, user_id)
        member = await auth.set_team_member(db, principal.user_id, team, user, is_lead=data.is_lead)
        return s.MemberOut(team_id=team.id, user_id=user.id, is_lead=member.is_lead)

    @delete("/{team_id:uuid}/members/{user_id:uuid}", opt=needs(P.TEAMS_MANAGE))
    async def remove_member(
        self, team_id: FromPath[uuid.UUID], user_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> None:
        team = await auth.get_team(db, team_id)
        await auth.remove_team_member(db, principal, team, user_id)


class ApiTokenController(Controller):
    path = "/api/v1/api-tokens"
    tags = ["api tokens"]

    @get("/", opt=needs(P.API_TOKENS_MANAGE))
    async def list_tokens(self, db: Db, principal: Actor) -> list[s.ApiTokenOut]:
        return [s.ApiTokenOut.of(t) for t in await auth.list_api_tokens(db)]

    @post("/", opt=needs(P.API_TOKENS_MANAGE))
    async def create_token(
        self, data: JSONBody[s.ApiTokenIn], db: Db, principal: Actor
    ) -> s.ApiTokenOut:
        if not data.name.strip() or len(data.name) > 200:
            raise InvalidInput("a token name is 1–200 characters")
        role = await auth.get_role_by_name(db, data.role)
        row, secret = await auth.create_api_token(
            db, principal, name=data.name.strip(), role=role, expires_at=data.expires_at
        )
        return s.ApiTokenOut.of(row, secret)

    @delete("/{token_id:uuid}", opt=needs(P.API_TOKENS_MANAGE))
    async def revoke_token(self, token_id: FromPath[uuid.UUID], db: Db, principal: Actor) -> None:
        await auth.revoke_api_token(db, principal, token_id)


class InvitationController(Controller):
    path = "/api/v1"
    tags = ["users"]

    @post("/invitations", opt=needs(P.USERS_MANAGE))
    async def invite(
        self, data: JSONBody[s.InviteIn], db: Db, cipher: Cipher, principal: Actor, runtime: Rt
    ) -> invitations.Invited:
        """Create a user without a password and mail them a link to set one."""
        role = await auth.get_role_by_name(db, data.role)
        user = await auth.create_user(
            db,
            cipher,
            email=data.email,
            display_name=data.display_name,
            password=None,
            role=role,
            actor_user_id=principal.user_id,
            locale=data.locale,
        )
        for team_id in data.team_ids:
            team = await auth.get_team(db, team_id)
            await auth.set_team_member(db, principal.user_id, team, user)
        return await invitations.invite(db, runtime, user, invited_by=principal.user_id)

    @post("/users/{user_id:uuid}/invitation", opt=needs(P.USERS_MANAGE))
    async def reinvite(
        self, user_id: FromPath[uuid.UUID], db: Db, principal: Actor, runtime: Rt
    ) -> invitations.Invited:
        """A new link for a user who has not set a password yet (earlier links stop working)."""
        user = await auth.get_user(db, user_id)
        if user.password_hash is not None:
            raise Conflict("this user has set a password already")
        return await invitations.invite(db, runtime, user, invited_by=principal.user_id)

    @post("/invitations/accept", status_code=HTTP_200_OK)
    async def accept(self, data: JSONBody[s.AcceptIn], db: Db, runtime: Rt) -> s.AcceptedOut:
        """Set the password with the emailed link's token; the link then stops working."""
        tenant_id, _ = invitations.read_token(runtime.signing_key, data.token)
        await enter_tenant(db, tenant_id)
        accepted = await invitations.accept(db, runtime, data.token, data.password)
        tenant = await get_tenant(db, tenant_id)
        cipher = await load_tenant_cipher(db, runtime.keyring, tenant_id)
        user = await auth.get_user(db, accepted.user_id)
        return s.AcceptedOut(
            tenant=tenant.slug, user_id=user.id, email=auth.user_email(cipher, user)
        )


# The page behind an invitation link: a form that posts the token from the
# link with the new password to the API. Nothing is rendered from the request
# (the script reads the token itself), and the token stays out of referrers.
_ACCEPT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Set your password · Frontdesk</title>
<style>body{font:16px system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;margin:.4rem 0}input{padding:.5rem}
button{padding:.6rem}#result{margin-top:1rem}</style></head>
<body><h1>Set your password</h1>
<form id="accept"><label>New password (at least 10 characters)
<input type="password" name="password" minlength="10" required autocomplete="new-password">
</label><label>Again<input type="password" name="again" required autocomplete="new-password">
</label><button type="submit">Set password</button></form><p id="result" role="status"></p>
<script>
const token = new URLSearchParams(location.search).get("token") || "";
const form = document.getElementById("accept"), result = document.getElementById("result");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (form.password.value !== form.again.value) {
    result.textContent = "The two passwords differ."; return;
  }
  const r = await fetch("/api/v1/invitations/accept", {method: "POST",
    headers: {"content-type": "application/json"},
    body: JSON.stringify({token, password: form.password.value})});
  const body = await r.json().catch(() => ({}));
  if (r.ok) {
    form.hidden = true;
    result.textContent = "Done. Sign in to tenant " + body.tenant + " as " + body.email + ".";
  } else {
    result.textContent = body.detail || "That did not work.";
  }
});
</script></body></html>
"""


class AcceptInvitationPage(Controller):
    path = "/accept-invitation"

    @get("/", include_in_schema=False, sync_to_thread=False)
    def page(self) -> Response[str]:
        return Response(
            _ACCEPT_PAGE,
            media_type=MediaType.HTML,
            headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
        )


class AuditController(Controller):
    path = "/api/v1/audit-log"
    tags = ["audit"]

    @get("/", opt=needs(P.AUDIT_READ))
    async def list_entries(
        self,
        db: Db,
        principal: Actor,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
        action: FromQuery[str | None] = None,
        subject_id: FromQuery[uuid.UUID | None] = None,
    ) -> Page[s.AuditOut]:
        check_limit(limit)
        rows = await audit.list_entries(
            db, limit=limit + 1, before=decode_cursor(cursor), action=action, subject_id=subject_id
        )
        items = [
            s.AuditOut(
                id=r.id,
                actor_user_id=r.actor_user_id,
                action=r.action,
                subject_type=r.subject_type,
                subject_id=r.subject_id,
                data=dict(r.data),
                created_at=r.created_at,
            )
            for r in rows[:limit]
        ]
        return Page(items=items, next_cursor=next_cursor([r.id for r in rows], limit))

    @get("/export", opt=needs(P.AUDIT_READ))
    async def export(
        self,
        principal: Actor,
        runtime: Rt,
        fmt: Annotated[Literal["jsonl", "csv"], QueryParameter(name="format")] = "jsonl",
        since: FromQuery[dt.datetime | None] = None,
        until: FromQuery[dt.datetime | None] = None,
        action: FromQuery[str | None] = None,
    ) -> Stream:
        """The whole log, oldest first, as JSON lines or CSV (``data`` as JSON), streamed."""
        for bound in (since, until):
            if bound is not None and bound.tzinfo is None:
                raise InvalidInput("since and until need a time zone (…Z or +08:00)")
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
        return Stream(
            audit.export_stream(
                runtime, principal.tenant_id, fmt, since=since, until=until, action=action
            ),
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="audit-log.{fmt}"',
                "Cache-Control": "no-store",
            },
        )


CONTROLLERS = [
    SessionController,
    UserController,
    RoleController,
    TeamController,
    ApiTokenController,
    InvitationController,
    AcceptInvitationPage,
    AuditController,
]
