"""Request and response bodies of the SSO settings API."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from frontdesk.auth.schemas import Strict


class SsoConfigIn(Strict, frozen=True, kw_only=True):
    issuer: str
    client_id: str
    # Omitted (or null) on a later update: the stored secret is kept.
    client_secret: str | None = None
    enabled: bool = True
    sso_required: bool = False
    break_glass_user_id: uuid.UUID | None = None
    jit_enabled: bool = False
    # The role just-in-time users get; the built-in "agent" when null.
    jit_role: str | None = None


class SsoConfigOut(msgspec.Struct, frozen=True, kw_only=True):
    issuer: str
    client_id: str
    client_secret: str
    enabled: bool
    sso_required: bool
    break_glass_user_id: uuid.UUID | None
    jit_enabled: bool
    jit_role: str | None
    # Where users start signing in, and the redirect URI to register at the provider.
    login_url: str
    callback_url: str
    updated_at: dt.datetime
