"""Invitations: a user created without a password sets one through an emailed link.

The link expires (``FRONTDESK_INVITATION_HOURS``, a week by default) and
works once. Inviting a user again revokes the earlier link. The mail is a
job sent after the inviting transaction commits, so a rolled-back invite
mails nothing; the job rebuilds the link from ids (see ``Invitation``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk import mail
from frontdesk.audit.service import record
from frontdesk.auth.models import Invitation, User
from frontdesk.auth.passwords import hash_password
from frontdesk.clock import now as clock_now
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.jobs import enqueue
from frontdesk.runtime import Runtime

PREFIX = "fdi"
SEND_JOB = "send_invitation"


class Invited(msgspec.Struct, frozen=True, kw_only=True):
    invitation_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: dt.datetime
    #: Whether the link goes out by mail; when not, ``accept_url`` is for the admin to pass on.
    mailed: bool
    accept_url: str | None


def _mac(signing_key: bytes, tenant_id: uuid.UUID, invitation_id: uuid.UUID) -> str:
    message = f"frontdesk invitation {tenant_id.hex} {invitation_id.hex}".encode()
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()


def make_token(signing_key: bytes, tenant_id: uuid.UUID, invitation_id: uuid.UUID) -> str:
    mac = _mac(signing_key, tenant_id, invitation_id)
    return f"{PREFIX}_{tenant_id.hex}_{invitation_id.hex}.{mac}"


def read_token(signing_key: bytes, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The tenant and invitation a token names; ``NotFound`` for anything forged."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(token) > 200:
        raise NotFound("no such invitation")
    ident, _, mac = parts[2].partition(".")
    try:
        tenant_id, invitation_id = uuid.UUID(hex=parts[1]), uuid.UUID(hex=ident)
    except ValueError:
        raise NotFound("no such invitation") from None
    if not hmac.compare_digest(mac, _mac(signing_key, tenant_id, invitation_id)):
        raise NotFound("no such invitation")
    return tenant_id, invitation_id


def accept_url(runtime: Runtime, token: str) -> str:
    return f"{runtime.settings.public_url.rstrip('/')}/accept-invitation?token={token}"


async def invite(
    session: AsyncSession, runtime: Runtime, user: User, *, invited_by: uuid.UUID | None
) -> Invited:
    """A fresh link for ``user`` (earlier ones stop working), mailed after commit."""
    if not user.is_active:
        raise Conflict("this user is deactivated")
    now = clock_now()
    await session.execute(
        update(Invitation)
        .where(
            Invitation.user_id == user.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    row = Invitation(
        user_id=user.id,
        invited_by=invited_by,
        expires_at=now + dt.timedelta(hours=runtime.settings.invitation_hours),
    )
    session.add(row)
    await session.flush()
    await record(
        session,
        actor_user_id=invited_by,
        action="user.invited",
        subject_type="user",
        subject_id=user.id,
        invitation_id=str(row.id),
        expires_at=row.expires_at.isoformat(),
    )
    mailed = mail.configured(runtime.settings)
    if mailed:
        enqueue(session, SEND_JOB, tenant_id=str(user.tenant_id), invitation_id=str(row.id))
    token = make_token(runtime.signing_key, user.tenant_id, row.id)
    return Invited(
        invitation_id=row.id,
        user_id=user.id,
        expires_at=row.expires_at,
        mailed=mailed,
        accept_url=None if mailed else accept_url(runtime, token),
    )


class Accepted(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: uuid.UUID
    user_id: uuid.UUID


async def accept(session: AsyncSession, runtime: Runtime, token: str, password: str) -> Accepted:
    """Set the password and activate the user; the session is bound to the token's tenant."""
    _, invitation_id = read_token(runtime.signing_key, token)
    row = await session.scalar(select(Invitation).where(Invitation.id == invitation_id))
    if row is None:
        raise NotFound("no such invitation")
    if row.accepted_at is not None:
        raise Conflict("this invitation has been used; sign in, or ask for a new one")
    if row.revoked_at is not None:
        raise Conflict("this invitation was replaced by a newer one; use the latest email")
    now = clock_now()
    if row.expires_at <= now:
        raise InvalidInput("this invitation has expired; ask an admin for a new one")
    user = await session.scalar(select(User).where(User.id == row.user_id))
    if user is None or not user.is_active:
        raise Conflict("this user is deactivated")
    user.password_hash = hash_password(password)
    # Any session from before (there should be none) ends with the new password.
    user.token_generation += 1
    row.accepted_at = now
    await session.flush()
    await record(
        session,
        actor_user_id=user.id,
        action="user.invitation_accepted",
        subject_type="user",
        subject_id=user.id,
        invitation_id=str(row.id),
    )
    return Accepted(tenant_id=user.tenant_id, user_id=user.id)


async def send(
    runtime: Runtime, cipher: TenantCipher, session: AsyncSession, row_id: uuid.UUID
) -> bool:
    """Mail one invitation's link, unless it is no longer usable or went out already."""
    from frontdesk.auth.service import user_email
    from frontdesk.tenancy.service import get_tenant

    row = await session.scalar(select(Invitation).where(Invitation.id == row_id))
    if row is None or row.sent_at is not None or row.accepted_at or row.revoked_at:
        return False
    if row.expires_at <= clock_now():
        return False
    user = await session.scalar(select(User).where(User.id == row.user_id))
    if user is None or not user.is_active:
        return False
    tenant = await get_tenant(session, user.tenant_id)
    link = accept_url(runtime, make_token(runtime.signing_key, user.tenant_id, row.id))
    await mail.send_mail(
        runtime.settings,
        to=user_email(cipher, user),
        subject=f"You are invited to {tenant.name} on Frontdesk",
        text=(
            f"Hello {user.display_name},\n\n"
            f"You have been invited to the support desk of {tenant.name} "
            f"(tenant {tenant.slug}). Set your password here:\n\n{link}\n\n"
            f"The link works once and expires on "
            f"{row.expires_at.strftime('%Y-%m-%d %H:%M')} UTC.\n"
        ),
    )
    row.sent_at = clock_now()
    return True
