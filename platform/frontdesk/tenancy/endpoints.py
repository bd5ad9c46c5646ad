"""Sign-up: a company becomes a tenant with its first admin."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, post
from litestar.params import FromPath, JSONBody

from frontdesk.api.deps import Db, Rt
from frontdesk.auth import service as auth
from frontdesk.auth.schemas import Strict
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.tenancy import service as tenancy


class SignUpIn(Strict, frozen=True, kw_only=True):
    tenant_name: str
    tenant_slug: str
    admin_email: str
    admin_name: str
    password: str


class SignUpOut(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: uuid.UUID
    tenant_slug: str
    user_id: FromPath[uuid.UUID]
    tokens: auth.TokenPair


class SignUpController(Controller):
    path = "/api/v1/signup"
    tags = ["tenants"]

    @post("/")
    async def sign_up(self, data: JSONBody[SignUpIn], db: Db, runtime: Rt) -> SignUpOut:
        result = await tenancy.sign_up(
            db,
            runtime,
            name=data.tenant_name,
            slug=data.tenant_slug,
            admin_email=data.admin_email,
            admin_name=data.admin_name,
            admin_password=data.password,
        )
        cipher = await load_tenant_cipher(db, runtime.keyring, result.tenant.id)
        tokens = await auth.login(
            db, runtime, cipher, email=data.admin_email, password=data.password
        )
        return SignUpOut(
            tenant_id=result.tenant.id,
            tenant_slug=result.tenant.slug,
            user_id=result.admin_user_id,
            tokens=tokens,
        )


CONTROLLERS = [SignUpController]
