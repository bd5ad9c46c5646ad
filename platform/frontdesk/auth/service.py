"""Auth actions: sign-in, tokens, users, roles, teams; each checks, writes and audits."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable

import msgspec
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.audit.service import record
from frontdesk.auth import tokens
from frontdesk.auth.models import ApiToken, RefreshToken, Role, Team, TeamMember, User
from frontdesk.auth.passwords import hash_password, verify_password
from frontdesk.auth.permissions import (
    BUILTIN_ROLE_DESCRIPTIONS,
    BUILTIN_ROLES,
    Permission,
    parse_permissions,
)
from frontdesk.auth.schemas import TEAM_KINDS
from frontdesk.auth.sso.policy import SsoRequired, check_password_sign_in
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.db import utcnow
from frontdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from frontdesk.identity.normalise import mask_email, normalise_email
from frontdesk.ids import new_id
from frontdesk.runtime import Runtime


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is acting: a signed-in user, or an API token acting for its creator."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    permissions: frozenset[str]
    team_ids: frozenset[uuid.UUID]
    api_token_id: uuid.UUID | None = None

    def has(self, permission: Permission) -> bool:
        return permission.value in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.has(permission):
            raise PermissionDenied(f"this needs the permission {permission.value}")


class TokenPair(msgspec.Struct, frozen=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


# --- roles -----------------------------------------------------------------


def role_permissions(role: Role) -> frozenset[str]:
    if role.builtin and role.name in BUILTIN_ROLES:
        return frozenset(p.value for p in BUILTIN_ROLES[role.name])
    return frozenset(role.permissions)


async def seed_builtin_roles(session: AsyncSession) -> dict[str, Role]:
    roles = {
        name: Role(
            name=name,
            description=BUILTIN_ROLE_DESCRIPTIONS[name],
            builtin=True,
            permissions=sorted(p.value for p in perms),
        )
        for name, perms in BUILTIN_ROLES.items()
    }
    session.add_all(roles.values())
    await session.flush()
    return roles


async def get_role(session: AsyncSession, role_id: uuid.UUID) -> Role:
    role = await session.get(Role, (_tenant(session), role_id))
    if role is None:
        raise NotFound("no such role")
    return role


async def get_role_by_name(session: AsyncSession, name: str) -> Role:
    role = await session.scalar(select(Role).where(Role.name == name))
    if role is None:
        raise NotFound(f"no role named {name!r}")
    return role


async def list_roles(session: AsyncSession) -> list[Role]:
    return list((await session.scalars(select(Role).order_by(Role.name))).all())


async def create_role(
    session: AsyncSession, actor: Principal, *, name: str, description: str, permissions: list[str]
) -> Role:
    if name in BUILTIN_ROLES:
        raise Conflict(f"{name!r} is a built-in role")
    if await session.scalar(select(Role.id).where(Role.name == name)) is not None:
        raise Conflict(f"a role named {name!r} exists")
    perms = parse_permissions(permissions)
    role = Role(
        name=name,
        description=description,
        builtin=False,
        permissions=sorted(p.value for p in perms),
    )
    session.add(role)
    await session.flush()
    await record(
        session,
        actor_user_id=actor.user_id,
        action="role.created",
        subject_type="role",
        subject_id=role.id,
        name=name,
        permissions=role.permissions,
    )
    return role


async def update_role(
    session: AsyncSession,
    actor: Principal,
    role: Role,
    *,
    description: str | None,
    permissions: list[str] | None,
) -> Role:
    if role.builtin:
        raise Conflict("built-in roles cannot be changed; create a custom role")
    before = list(role.permissions)
    if description is not None:
        role.description = description
    if permissions is not None:
        role.permissions = sorted(p.value for p in parse_permissions(permissions))
    await session.flush()
    await record(
        session,
        actor_user_id=actor.user_id,
        action="role.updated",
        subject_type="role",
        subject_id=role.id,
        before=before,
        after=role.permissions,
    )
    return role


# --- users -----------------------------------------------------------------


def _tenant(session: AsyncSession) -> uuid.UUID:
    from frontdesk.db import session_tenant

    tenant_id = session_tenant(session.sync_session)
    if tenant_id is None:
        raise Unauthenticated("no tenant")
    return tenant_id


async def create_user(
    session: AsyncSession,
    cipher: TenantCipher,
    *,
    email: str,
    display_name: str,
    password: str | None,
    role: Role,
    actor_user_id: uuid.UUID | None,
    locale: str = "en",
) -> User:
    normal = normalise_email(email)
    index = cipher.blind_index("user_email", normal)
    if await session.scalar(select(User.id).where(User.email_index == index)) is not None:
        raise Conflict("a user with this email exists in this tenant")
    user_id = new_id()
    user = User(
        id=user_id,
        email_encrypted=cipher.encrypt(normal, table="users", column="email", row_id=user_id),
        email_index=index,
        display_name=display_name.strip() or normal.split("@")[0],
        password_hash=hash_password(password) if password is not None else None,
        role_id=role.id,
        locale=locale,
    )
    session.add(user)
    await session.flush()
    await record(
        session,
        actor_user_id=actor_user_id or user.id,
        action="user.created",
        subject_type="user",
        subject_id=user.id,
        role=role.name,
    )
    return user


def user_email(cipher: TenantCipher, user: User) -> str:
    return cipher.decrypt(user.email_encrypted, table="users", column="email", row_id=user.id)


async def find_user_by_email(
    session: AsyncSession, cipher: TenantCipher, email: str
) -> User | None:
    """The tenant's active user with this email (through its blind index), if any."""
    try:
        index = cipher.blind_index("user_email", normalise_email(email))
    except InvalidInput:
        return None
    user = await session.scalar(select(User).where(User.email_index == index))
    return user if user is not None and user.is_active else None


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, (_tenant(session), user_id))
    if user is None:
        raise NotFound("no such user")
    return user


async def list_users(
    session: AsyncSession, *, limit: int, after: uuid.UUID | None = None
) -> list[User]:
    stmt = select(User).order_by(User.id).limit(limit)
    if after is not None:
        stmt = stmt.where(User.id > after)
    return list((await session.scalars(stmt)).all())


async def all_users(session: AsyncSession, *, active_only: bool = False) -> list[User]:
    """Every user of the session's tenant, oldest id first (``list_users`` pages)."""
    stmt = select(User).order_by(User.id)
    if active_only:
        stmt = stmt.where(User.is_active.is_(True))
    return list((await session.scalars(stmt)).all())


async def update_user(
    session: AsyncSession,
    actor: Principal,
    user: User,
    *,
    display_name: str | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
    locale: str | None = None,
) -> User:
    changes: dict[str, object] = {}
    if display_name is not None and display_name != user.display_name:
        user.display_name = display_name
        changes["display_name"] = display_name
    if locale is not None and locale != user.locale:
        user.locale = locale
        changes["locale"] = locale
    if role is not None and role.id != user.role_id:
        if user.id == actor.user_id:
            raise Conflict("you cannot change your own role")
        user.role_id = role.id
        user.token_generation += 1
        changes["role"] = role.name
    if is_active is not None and is_active != user.is_active:
        if user.id == actor.user_id and not is_active:
            raise Conflict("you cannot deactivate yourself")
        user.is_active = is_active
        changes["is_active"] = is_active
        if not is_active:
            # Deactivation ends every session at once: access tokens carry the
            # generation, refresh tokens are revoked.
            user.token_generation += 1
            await session.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            # Their API tokens too: reactivating someone does not revive them.
            await session.execute(
                update(ApiToken)
                .where(ApiToken.created_by == user.id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
    await session.flush()
    if changes:
        await record(
            session,
            actor_user_id=actor.user_id,
            action="user.updated",
            subject_type="user",
            subject_id=user.id,
            **changes,
        )
    return user


# --- sign-in and tokens ----------------------------------------------------


async def _issue_pair(session: AsyncSession, runtime: Runtime, user: User) -> TokenPair:
    now = utcnow()
    minutes = runtime.settings.access_token_minutes
    access = tokens.issue_access_token(
        runtime.signing_key,
        tokens.AccessClaims(user.tenant_id, user.id, user.token_generation),
        minutes=minutes,
        now=now,
    )
    refresh = tokens.new_refresh_token(user.tenant_id)
    session.add(
        RefreshToken(
            user_id=user.id,
            token_hash=tokens.hash_secret(refresh),
            expires_at=now + dt.timedelta(days=runtime.settings.refresh_token_days),
        )
    )
    await session.flush()
    return TokenPair(access, refresh, "Bearer", minutes * 60)


async def login(
    session: AsyncSession, runtime: Runtime, cipher: TenantCipher, *, email: str, password: str
) -> TokenPair:
    """The session is already bound to the tenant named at sign-in."""
    user = await check_password(session, cipher, email=email, password=password)
    return await _issue_pair(session, runtime, user)


class SignInFailed(Unauthenticated):
    """A refused password sign-in. The caller sees only "wrong email or password";
    ``reason`` and ``user_id`` are for the audit entry (``record_failed_sign_in``)."""

    def __init__(self, reason: str, user_id: uuid.UUID | None = None) -> None:
        super().__init__("wrong email or password")
        self.reason = reason
        self.user_id = user_id


async def check_password(
    session: AsyncSession, cipher: TenantCipher, *, email: str, password: str
) -> User:
    """Sign-in by password (the API's tokens, the pages' browser session): audited.

    Raises ``SignInFailed`` (or ``SsoRequired``); the caller records the failure
    with ``record_failed_sign_in``, in a transaction of its own.
    """
    try:
        index = cipher.blind_index("user_email", normalise_email(email))
    except InvalidInput:
        index = ""
    user = await session.scalar(select(User).where(User.email_index == index))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None:
        raise SignInFailed("unknown_email")
    if not ok:
        raise SignInFailed("wrong_password", user.id)
    if not user.is_active:
        raise SignInFailed("user_deactivated", user.id)
    await check_password_sign_in(session, user)
    user.last_login_at = utcnow()
    await record(
        session,
        actor_user_id=user.id,
        action="user.signed_in",
        subject_type="user",
        subject_id=user.id,
    )
    return user


async def record_failed_sign_in(
    session: AsyncSession,
    failure: Unauthenticated,
    *,
    email: str,
    ip: str | None,
    via: str,
) -> None:
    """Audit a refused password sign-in (``via``: ``api`` or ``console``); ``session``
    is bound to the tenant named and must be one that commits (the API's request
    transaction is rolled back with the error, so it records in one of its own).

    Names the user when the email is one; otherwise keeps the attempted email
    masked (``a***@example.com``), since the address may be anyone's. Never
    the password.
    """
    user_id: uuid.UUID | None = getattr(failure, "user_id", None)
    reason = "sso_required" if isinstance(failure, SsoRequired) else getattr(failure, "reason", "")
    data: dict[str, object] = {"via": via, "ip": ip, "reason": reason or "refused"}
    if user_id is None:
        data["email"] = mask_email(email.strip().lower()[:320])
    await record(
        session,
        actor_user_id=None,
        action="user.sign_in_failed",
        subject_type="user",
        subject_id=user_id,
        **data,
    )


async def refresh(session: AsyncSession, runtime: Runtime, refresh_token: str) -> TokenPair:
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.hash_secret(refresh_token))
    )
    now = utcnow()
    if row is None or row.expires_at <= now:
        raise Unauthenticated("invalid refresh token")
    if row.revoked_at is not None:
        raise RefreshTokenReused(row.user_id)
    user = await session.get(User, (row.tenant_id, row.user_id))
    if user is None or not user.is_active:
        raise Unauthenticated("user is deactivated")
    row.revoked_at = now
    return await _issue_pair(session, runtime, user)


class RefreshTokenReused(Unauthenticated):
    """A revoked refresh token came back: it was stolen, or a client replayed it."""

    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__("refresh token already used; sign in again")
        self.user_id = user_id


async def revoke_refresh_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def logout(session: AsyncSession, refresh_token: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.token_hash == tokens.hash_secret(refresh_token),
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )


async def team_ids_of(session: AsyncSession, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
    rows = await session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id))
    return frozenset(rows.all())


async def principal_for_user(session: AsyncSession, user: User) -> Principal:
    role = await get_role(session, user.role_id)
    return Principal(
        tenant_id=user.tenant_id,
        user_id=user.id,
        permissions=role_permissions(role),
        team_ids=await team_ids_of(session, user.id),
    )


async def authenticate_access_token(
    session: AsyncSession, runtime: Runtime, claims: tokens.AccessClaims
) -> Principal:
    user = await session.get(User, (claims.tenant_id, claims.user_id))
    if user is None or not user.is_active or user.token_generation != claims.generation:
        raise Unauthenticated("this session has ended; sign in again")
    return await principal_for_user(session, user)


async def authenticate_api_token(session: AsyncSession, secret: str) -> Principal:
    row = await session.scalar(
        select(ApiToken).where(ApiToken.token_hash == tokens.hash_secret(secret))
    )
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise Unauthenticated("invalid API token")
    creator = await session.get(User, (row.tenant_id, row.created_by))
    if creator is None or not creator.is_active:
        raise Unauthenticated("the API token's creator is deactivated")
    role = await get_role(session, row.role_id)
    # Stamp use at most once a minute, to keep hot integrations from writing every call.
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        row.last_used_at = now
    return Principal(
        tenant_id=row.tenant_id,
        user_id=creator.id,
        permissions=role_permissions(role),
        team_ids=await team_ids_of(session, creator.id),
        api_token_id=row.id,
    )


async def create_api_token(
    session: AsyncSession,
    actor: Principal,
    *,
    name: str,
    role: Role,
    expires_at: dt.datetime | None,
) -> tuple[ApiToken, str]:
    # A token may not carry more than its creator holds.
    if not role_permissions(role) <= actor.permissions:
        raise PermissionDenied("a token cannot hold permissions you do not have")
    secret = tokens.new_api_token(actor.tenant_id)
    row = ApiToken(
        name=name,
        token_hash=tokens.hash_secret(secret),
        hint=secret[-4:],
        role_id=role.id,
        created_by=actor.user_id,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    await record(
        session,
        actor_user_id=actor.user_id,
        action="api_token.created",
        subject_type="api_token",
        subject_id=row.id,
        name=name,
        role=role.name,
    )
    return row, secret


async def list_api_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.scalars(select(ApiToken).order_by(ApiToken.id))).all())


async def revoke_api_token(session: AsyncSession, actor: Principal, token_id: uuid.UUID) -> None:
    row = await session.get(ApiToken, (actor.tenant_id, token_id))
    if row is None:
        raise NotFound("no such API token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await record(
            session,
            actor_user_id=actor.user_id,
            action="api_token.revoked",
            subject_type="api_token",
            subject_id=row.id,
        )


# --- teams -----------------------------------------------------------------


_TEAM_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")


def _check_team_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a team name is 1–200 characters")
    return name


def _check_team_kind(kind: str) -> None:
    if kind not in TEAM_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(TEAM_KINDS)}")


async def create_team(
    session: AsyncSession,
    actor_user_id: uuid.UUID | None,
    *,
    slug: str,
    name: str,
    kind: str = "other",
    is_default: bool = False,
) -> Team:
    """Checked here, so the API, the console and manifests refuse the same things."""
    if not _TEAM_SLUG.match(slug):
        raise InvalidInput("a team slug is 3–63 lower-case letters, digits and hyphens")
    name = _check_team_name(name)
    _check_team_kind(kind)
    if await session.scalar(select(Team.id).where(Team.slug == slug)) is not None:
        raise Conflict(f"a team {slug!r} exists")
    if is_default:
        await session.execute(update(Team).values(is_default=False))
    team = Team(slug=slug, name=name, kind=kind, is_default=is_default)
    session.add(team)
    await session.flush()
    await record(
        session,
        actor_user_id=actor_user_id,
        action="team.created",
        subject_type="team",
        subject_id=team.id,
        slug=slug,
    )
    return team


async def get_team(session: AsyncSession, team_id: uuid.UUID) -> Team:
    team = await session.get(Team, (_tenant(session), team_id))
    if team is None:
        raise NotFound("no such team")
    return team


async def default_team(session: AsyncSession) -> Team | None:
    return await session.scalar(select(Team).where(Team.is_default.is_(True)))


async def list_teams(session: AsyncSession) -> list[Team]:
    return list((await session.scalars(select(Team).order_by(Team.name))).all())


async def team_members(session: AsyncSession, team_ids: Iterable[uuid.UUID]) -> list[TeamMember]:
    ids = list(team_ids)
    if not ids:
        return []
    stmt = select(TeamMember).where(TeamMember.team_id.in_(ids))
    return list((await session.scalars(stmt)).all())


async def all_team_members(session: AsyncSession) -> list[TeamMember]:
    """Every membership of every team of the session's tenant."""
    return list((await session.scalars(select(TeamMember))).all())


async def update_team(
    session: AsyncSession,
    actor: Principal,
    team: Team,
    *,
    name: str | None,
    kind: str | None,
    is_default: bool | None,
) -> Team:
    if name is not None:
        team.name = _check_team_name(name)
    if kind is not None:
        _check_team_kind(kind)
        team.kind = kind
    if is_default:
        await session.execute(update(Team).where(Team.id != team.id).values(is_default=False))
        team.is_default = True
    elif is_default is False:
        team.is_default = False
    await session.flush()
    await record(
        session,
        actor_user_id=actor.user_id,
        action="team.updated",
        subject_type="team",
        subject_id=team.id,
    )
    return team


async def set_team_member(
    session: AsyncSession,
    actor_user_id: uuid.UUID | None,
    team: Team,
    user: User,
    *,
    is_lead: bool = False,
) -> TeamMember:
    member = await session.get(TeamMember, (team.tenant_id, team.id, user.id))
    if member is None:
        member = TeamMember(team_id=team.id, user_id=user.id, is_lead=is_lead)
        session.add(member)
    else:
        member.is_lead = is_lead
    await session.flush()
    await record(
        session,
        actor_user_id=actor_user_id,
        action="team.member_set",
        subject_type="team",
        subject_id=team.id,
        user_id=str(user.id),
        is_lead=is_lead,
    )
    return member


async def remove_team_member(
    session: AsyncSession, actor: Principal, team: Team, user_id: uuid.UUID
) -> None:
    result = await session.execute(
        delete(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user_id)
    )
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound("not a member of this team")
    await record(
        session,
        actor_user_id=actor.user_id,
        action="team.member_removed",
        subject_type="team",
        subject_id=team.id,
        user_id=str(user_id),
    )


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def active_user_ids(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``user_ids`` that are active users of the tenant."""
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    stmt = select(User.id).where(User.id.in_(ids), User.is_active.is_(True))
    return set((await session.scalars(stmt)).all())


async def users_with_role(session: AsyncSession, role_name: str) -> list[uuid.UUID]:
    """Active users holding the role named ``role_name`` (the admins, to escalate to)."""
    stmt = (
        select(User.id)
        .join(Role, Role.id == User.role_id)
        .where(Role.name == role_name, User.is_active.is_(True))
        .order_by(User.id)
    )
    return list((await session.scalars(stmt)).all())
