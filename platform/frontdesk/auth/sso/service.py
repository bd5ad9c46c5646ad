"""SSO actions: a tenant's provider settings, pending sign-ins, and who a checked ID token is.

A sign-in runs in three steps, each in its own transaction so no database
lock is held while the provider is asked anything: ``begin_login`` (before
the redirect), ``take_login`` (the callback's state, used up whatever
follows), then ``user_for`` (after the ID token checked out). Failures are
written to the audit log by ``record_failure`` in a transaction of their own,
since the request's is rolled back with the error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import secrets
import uuid
from urllib.parse import urlsplit

import msgspec
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk import egress
from frontdesk.audit.service import record
from frontdesk.auth import service as auth
from frontdesk.auth.models import Role, User
from frontdesk.auth.permissions import Permission
from frontdesk.auth.sso.models import SsoConfig, SsoLogin
from frontdesk.auth.sso.oidc import IdentityClaims, SsoFailed
from frontdesk.auth.sso.policy import tenant_config
from frontdesk.clock import now as clock_now
from frontdesk.config import Settings
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.db import utcnow
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.identity.normalise import normalise_email
from frontdesk.ids import new_id
from frontdesk.runtime import Runtime

# How long a browser has to come back from the provider.
LOGIN_TTL = dt.timedelta(minutes=10)
# The cookie that ties a pending sign-in to the browser that started it, so a
# callback URL sent to someone else cannot sign them in as the sender.
BROWSER_COOKIE = "fd_sso"
JIT_DEFAULT_ROLE = "agent"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def login_path(slug: str) -> str:
    return f"/sso/{slug}/login"


def callback_url(settings: Settings, slug: str) -> str:
    """The redirect URI to register at the provider."""
    return f"{settings.public_url.rstrip('/')}/sso/{slug}/callback"


# --- settings ------------------------------------------------------------------


def check_issuer(issuer: str) -> str:
    """An https URL; plain http only to this machine (a provider under test)."""
    parts = urlsplit(issuer.strip())
    if parts.query or parts.fragment or not parts.hostname or len(issuer) > 500:
        raise InvalidInput("issuer must be the provider's base URL, without query or fragment")
    if parts.scheme == "https":
        return issuer.strip().rstrip("/")
    loopback = parts.hostname == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(parts.hostname).is_loopback
    if parts.scheme == "http" and loopback:
        return issuer.strip().rstrip("/")
    raise InvalidInput("issuer must be an https URL")


def client_secret(cipher: TenantCipher, config: SsoConfig) -> str:
    return cipher.decrypt(
        config.client_secret_encrypted,
        table="sso_configs",
        column="client_secret",
        row_id=config.id,
    )


async def get_config(session: AsyncSession) -> SsoConfig:
    config = await tenant_config(session)
    if config is None:
        raise NotFound("single sign-on is not set up for this company")
    return config


async def set_config(
    session: AsyncSession,
    cipher: TenantCipher,
    actor: auth.Principal,
    *,
    issuer: str,
    client_id: str,
    secret: str | None,
    enabled: bool,
    sso_required: bool,
    break_glass_user_id: uuid.UUID | None,
    jit_enabled: bool,
    jit_role: str | None,
    allow_private_targets: bool,
) -> SsoConfig:
    """Create or replace the tenant's provider settings; the secret is kept when omitted.

    An issuer whose host resolves to a private address is refused (``frontdesk.egress``)."""
    issuer = check_issuer(issuer)
    await egress.check_url(issuer, allow_private=allow_private_targets, what="issuer")
    client_id = client_id.strip()
    if not client_id or len(client_id) > 500:
        raise InvalidInput("client_id is 1–500 characters")
    if secret is not None and not (1 <= len(secret) <= 1000):
        raise InvalidInput("client_secret is 1–1000 characters")
    if sso_required and not enabled:
        raise InvalidInput("single sign-on cannot be required while it is off")
    role: Role | None = None
    if jit_role is not None:
        role = await auth.get_role_by_name(session, jit_role)
    if break_glass_user_id is not None:
        keeper = await auth.get_user(session, break_glass_user_id)
        holder = await auth.principal_for_user(session, keeper)
        # The one who may still use a password must be able to turn SSO off.
        if not keeper.is_active or not holder.has(Permission.SSO_MANAGE):
            raise Conflict("the break-glass user must be active and hold sso.manage")
    config = await tenant_config(session)
    created = config is None
    if config is None:
        if secret is None:
            raise InvalidInput("client_secret is needed the first time")
        config = SsoConfig(id=new_id(), client_secret_encrypted="")
        session.add(config)
    before = _settings_of(config) if not created else {}
    config.issuer = issuer
    config.client_id = client_id
    if secret is not None:
        config.client_secret_encrypted = cipher.encrypt(
            secret, table="sso_configs", column="client_secret", row_id=config.id
        )
    config.enabled = enabled
    config.sso_required = sso_required
    config.break_glass_user_id = break_glass_user_id
    config.jit_enabled = jit_enabled
    config.jit_role_id = role.id if role is not None else None
    config.updated_at = utcnow()
    await session.flush()
    after = _settings_of(config)
    await record(
        session,
        actor_user_id=actor.user_id,
        action="sso.configured",
        subject_type="sso",
        subject_id=config.id,
        changed=sorted(k for k in after if before.get(k) != after[k]),
        client_secret_changed=secret is not None,
        **after,
    )
    return config


def _settings_of(config: SsoConfig) -> dict[str, object]:
    return {
        "issuer": config.issuer,
        "client_id": config.client_id,
        "enabled": config.enabled,
        "sso_required": config.sso_required,
        "break_glass_user_id": str(config.break_glass_user_id or "") or None,
        "jit_enabled": config.jit_enabled,
        "jit_role_id": str(config.jit_role_id or "") or None,
    }


async def remove_config(session: AsyncSession, actor: auth.Principal) -> None:
    config = await get_config(session)
    await session.execute(delete(SsoLogin))
    await session.delete(config)
    await session.flush()
    await record(
        session,
        actor_user_id=actor.user_id,
        action="sso.removed",
        subject_type="sso",
        subject_id=config.id,
    )


async def enabled_config(session: AsyncSession) -> SsoConfig:
    config = await tenant_config(session)
    if config is None or not config.enabled:
        raise NotFound("single sign-on is not set up for this company")
    return config


# --- pending sign-ins ----------------------------------------------------------


class PendingLogin(msgspec.Struct, frozen=True, kw_only=True):
    """What the redirect carries (state, nonce, PKCE verifier) and the browser keeps (cookie)."""

    state: str
    nonce: str
    code_verifier: str
    browser_secret: str


class TakenLogin(msgspec.Struct, frozen=True, kw_only=True):
    nonce: str
    code_verifier: str


async def begin_login(session: AsyncSession, cipher: TenantCipher) -> PendingLogin:
    now = clock_now()
    # Expired sign-ins of this tenant go as new ones come: the table stays small.
    await session.execute(delete(SsoLogin).where(SsoLogin.expires_at <= now))
    pending = PendingLogin(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        # RFC 7636 §4.1: 43–128 characters; 64 random bytes make 86.
        code_verifier=secrets.token_urlsafe(64),
        browser_secret=secrets.token_urlsafe(32),
    )
    login_id = new_id()
    session.add(
        SsoLogin(
            id=login_id,
            state_hash=_digest(pending.state),
            browser_hash=_digest(pending.browser_secret),
            nonce=pending.nonce,
            code_verifier_encrypted=cipher.encrypt(
                pending.code_verifier, table="sso_logins", column="code_verifier", row_id=login_id
            ),
            expires_at=now + LOGIN_TTL,
        )
    )
    await session.flush()
    return pending


def unknown_state() -> SsoFailed:
    return SsoFailed("state_invalid", "this sign-in was not started here; start again")


async def take_login(
    session: AsyncSession, cipher: TenantCipher, *, state: str, browser_secret: str | None
) -> TakenLogin | SsoFailed:
    """Use up the pending sign-in ``state`` names. Returns the failure rather than raising
    it, so the caller commits the use either way: a state is tried once."""
    row = await session.scalar(select(SsoLogin).where(SsoLogin.state_hash == _digest(state)))
    if row is None:
        return unknown_state()
    # One UPDATE decides between two concurrent callbacks with the same state.
    used = await session.execute(
        update(SsoLogin)
        .where(SsoLogin.id == row.id, SsoLogin.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(used, "rowcount", 0) != 1:
        return SsoFailed("state_used", "this sign-in was already used; start again")
    if row.expires_at <= clock_now():
        return SsoFailed("state_expired", "this sign-in took too long; start again")
    if browser_secret is None or not secrets.compare_digest(
        _digest(browser_secret), row.browser_hash
    ):
        return SsoFailed("browser_mismatch", "this sign-in was started in another browser")
    return TakenLogin(
        nonce=row.nonce,
        code_verifier=cipher.decrypt(
            row.code_verifier_encrypted, table="sso_logins", column="code_verifier", row_id=row.id
        ),
    )


# --- who signs in ----------------------------------------------------------------


async def user_for(
    session: AsyncSession, cipher: TenantCipher, config: SsoConfig, identity: IdentityClaims
) -> User:
    """The tenant's user the provider vouches for: matched by verified email only."""
    if not identity.email:
        raise SsoFailed("email_missing", "the provider did not say which email address signed in")
    try:
        normal = normalise_email(identity.email)
    except InvalidInput:
        raise SsoFailed("email_invalid", "the provider sent an unusable email address") from None
    user = await session.scalar(
        select(User).where(User.email_index == cipher.blind_index("user_email", normal))
    )
    if not identity.email_verified:
        # Never merged into an existing account: anyone can claim an address
        # their provider has not checked.
        raise SsoFailed(
            "email_unverified",
            "the provider has not verified this email address",
            user_id=user.id if user else None,
        )
    if user is not None:
        if not user.is_active:
            raise SsoFailed("user_deactivated", "this user is deactivated", user_id=user.id)
        return user
    if not config.jit_enabled:
        raise SsoFailed("unknown_user", "no user with this email address in this company")
    role = (
        await auth.get_role(session, config.jit_role_id)
        if config.jit_role_id is not None
        else await auth.get_role_by_name(session, JIT_DEFAULT_ROLE)
    )
    return await auth.create_user(
        session,
        cipher,
        email=normal,
        display_name=identity.name or "",
        password=None,
        role=role,
        actor_user_id=None,
    )


async def record_sign_in(session: AsyncSession, user: User, identity: IdentityClaims) -> None:
    user.last_login_at = utcnow()
    await record(
        session,
        actor_user_id=user.id,
        action="sso.signed_in",
        subject_type="user",
        subject_id=user.id,
        provider_subject=identity.subject,
    )


async def record_failure(runtime: Runtime, tenant_id: uuid.UUID, failed: SsoFailed) -> None:
    """In a transaction of its own: the request's was rolled back with the error."""
    async with runtime.db.session(tenant_id) as session:
        await record(
            session,
            actor_user_id=failed.user_id,
            action="sso.sign_in_failed",
            subject_type="user" if failed.user_id else "sso",
            subject_id=failed.user_id,
            reason=failed.reason,
            detail=failed.detail,
        )
