"""What single sign-on means for password sign-in (kept apart so ``auth.service`` imports it)."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.auth.models import User
from frontdesk.auth.sso.models import SsoConfig
from frontdesk.errors import Unauthenticated


class SsoRequired(Unauthenticated):
    """The tenant signs its users in through its provider only."""

    def __init__(self, detail: str, *, user_id: uuid.UUID | None = None) -> None:
        super().__init__(detail)
        # Whose password sign-in was refused (for the audit entry only).
        self.user_id = user_id


async def tenant_config(session: AsyncSession) -> SsoConfig | None:
    return await session.scalar(select(SsoConfig))


class SignInChoices(msgspec.Struct, frozen=True, kw_only=True):
    """What a tenant's sign-in page offers: its provider, and whether passwords are refused."""

    sso: bool
    sso_required: bool


async def sign_in_choices(session: AsyncSession) -> SignInChoices:
    config = await tenant_config(session)
    sso = config is not None and config.enabled
    return SignInChoices(sso=sso, sso_required=sso and config is not None and config.sso_required)


async def check_password_sign_in(session: AsyncSession, user: User) -> None:
    """Refuse a password sign-in when the tenant requires SSO, unless ``user`` is its
    break-glass user (who keeps a way in when the provider is down)."""
    config = await tenant_config(session)
    if config is None or not (config.enabled and config.sso_required):
        return
    if config.break_glass_user_id == user.id:
        return
    raise SsoRequired(
        "this company signs in through single sign-on; use its sign-in page", user_id=user.id
    )
