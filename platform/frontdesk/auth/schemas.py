"""Request and response bodies of the auth API."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from frontdesk.auth.models import ApiToken, Role, Team, User


class Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Request bodies refuse unknown fields, so a stray ``tenant_id`` is an error."""


class LoginIn(Strict, frozen=True, kw_only=True):
    tenant: str
    email: str
    password: str


class RefreshIn(Strict, frozen=True, kw_only=True):
    refresh_token: str


class UserOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    email: str
    display_name: str
    role_id: uuid.UUID
    role: str
    is_active: bool
    locale: str
    team_ids: list[uuid.UUID]
    created_at: dt.datetime
    last_login_at: dt.datetime | None

    @classmethod
    def of(cls, user: User, *, email: str, role: str, team_ids: list[uuid.UUID]) -> UserOut:
        return cls(
            id=user.id,
            email=email,
            display_name=user.display_name,
            role_id=user.role_id,
            role=role,
            is_active=user.is_active,
            locale=user.locale,
            team_ids=team_ids,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class MeOut(msgspec.Struct, frozen=True, kw_only=True):
    user: UserOut
    tenant_id: uuid.UUID
    permissions: list[str]


class UserIn(Strict, frozen=True, kw_only=True):
    email: str
    display_name: str = ""
    role: str
    password: str | None = None
    locale: str = "en"
    team_ids: list[uuid.UUID] = []


class UserPatch(Strict, frozen=True, kw_only=True):
    display_name: str | None = None
    role: str | None = None
    is_active: bool | None = None
    locale: str | None = None


class RoleOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    description: str
    builtin: bool
    permissions: list[str]

    @classmethod
    def of(cls, role: Role, permissions: frozenset[str]) -> RoleOut:
        return cls(
            id=role.id,
            name=role.name,
            description=role.description,
            builtin=role.builtin,
            permissions=sorted(permissions),
        )


class RoleIn(Strict, frozen=True, kw_only=True):
    name: str = msgspec.field()
    description: str = ""
    permissions: list[str] = []


class RolePatch(Strict, frozen=True, kw_only=True):
    description: str | None = None
    permissions: list[str] | None = None


class TeamOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    slug: str
    name: str
    kind: str
    is_default: bool

    @classmethod
    def of(cls, team: Team) -> TeamOut:
        return cls(
            id=team.id, slug=team.slug, name=team.name, kind=team.kind, is_default=team.is_default
        )


TEAM_KINDS = ("front_line", "engineering", "after_sales", "success", "other")


class TeamIn(Strict, frozen=True, kw_only=True):
    slug: str
    name: str
    kind: str = "other"
    is_default: bool = False


class TeamPatch(Strict, frozen=True, kw_only=True):
    name: str | None = None
    kind: str | None = None
    is_default: bool | None = None


class MemberIn(Strict, frozen=True, kw_only=True):
    is_lead: bool = False


class MemberOut(msgspec.Struct, frozen=True, kw_only=True):
    team_id: uuid.UUID
    user_id: uuid.UUID
    is_lead: bool


class ApiTokenIn(Strict, frozen=True, kw_only=True):
    name: str
    role: str
    expires_at: dt.datetime | None = None


class ApiTokenOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    hint: str
    role_id: uuid.UUID
    created_by: uuid.UUID
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    # Only in the answer to its creation; never shown again.
    token: str | None = None

    @classmethod
    def of(cls, row: ApiToken, token: str | None = None) -> ApiTokenOut:
        return cls(
            id=row.id,
            name=row.name,
            hint=row.hint,
            role_id=row.role_id,
            created_by=row.created_by,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            token=token,
        )


class AuditOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    actor_user_id: uuid.UUID | None
    action: str
    subject_type: str
    subject_id: uuid.UUID | None
    data: dict[str, object]
    created_at: dt.datetime


class InviteIn(Strict, frozen=True, kw_only=True):
    email: str
    display_name: str = ""
    role: str
    locale: str = "en"
    team_ids: list[uuid.UUID] = []


class AcceptIn(Strict, frozen=True, kw_only=True):
    token: str
    password: str


class AcceptedOut(msgspec.Struct, frozen=True, kw_only=True):
    #: Where to sign in now: the tenant's slug and the user's email.
    tenant: str
    user_id: uuid.UUID
    email: str
