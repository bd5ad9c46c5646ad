"""HTTP for single sign-on: admins' provider settings, and the browser's way through the provider.

``/sso/{tenant_slug}/login`` and ``/callback`` are GETs because OpenID Connect
sends the browser there with redirects; what they write (a pending sign-in,
its use, the audit entries) is the protocol's own bookkeeping.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, put
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.api.deps import Actor, Cipher, Db, Rt, needs
from frontdesk.auth import service as auth
from frontdesk.auth.models import User
from frontdesk.auth.permissions import Permission as P
from frontdesk.auth.sso import oidc
from frontdesk.auth.sso import service as sso
from frontdesk.auth.sso.models import SsoConfig
from frontdesk.auth.sso.schemas import SsoConfigIn, SsoConfigOut
from frontdesk.channels.service import MASKED_SECRET
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import utcnow
from frontdesk.runtime import Runtime
from frontdesk.tenancy.service import get_tenant, get_tenant_by_slug
from frontdesk.web.render import enter_console, sso_refused, wants_html
from frontdesk.web.sessions import start_browser_session

NO_STORE = {"Cache-Control": "no-store"}


async def finish_sign_in(
    db: AsyncSession, request: Request[Any, Any, Any], user: User
) -> Response[Any]:
    """Where a successful SSO callback ends: a browser session, and on to the console.

    The same session and cookie as the console's password sign-in; the audit
    entry ``web_session.started`` says ``method: sso``. No token pair: the
    callback is always a browser's, and API clients use API tokens.
    """
    return enter_console(request, await start_browser_session(db, user, method="sso"))


async def _config_out(db: AsyncSession, runtime: Runtime, config: SsoConfig) -> SsoConfigOut:
    tenant = await get_tenant(db, config.tenant_id)
    jit_role = await auth.get_role(db, config.jit_role_id) if config.jit_role_id else None
    return SsoConfigOut(
        issuer=config.issuer,
        client_id=config.client_id,
        client_secret=MASKED_SECRET,
        enabled=config.enabled,
        sso_required=config.sso_required,
        break_glass_user_id=config.break_glass_user_id,
        jit_enabled=config.jit_enabled,
        jit_role=jit_role.name if jit_role else None,
        login_url=runtime.settings.public_url.rstrip("/") + sso.login_path(tenant.slug),
        callback_url=sso.callback_url(runtime.settings, tenant.slug),
        updated_at=config.updated_at,
    )


class SsoConfigController(Controller):
    path = "/api/v1/sso"
    tags = ["single sign-on"]

    @get("/", opt=needs(P.SSO_MANAGE))
    async def get_config(self, db: Db, runtime: Rt, principal: Actor) -> SsoConfigOut:
        return await _config_out(db, runtime, await sso.get_config(db))

    @put("/", opt=needs(P.SSO_MANAGE), status_code=HTTP_200_OK)
    async def set_config(
        self, data: JSONBody[SsoConfigIn], db: Db, runtime: Rt, cipher: Cipher, principal: Actor
    ) -> SsoConfigOut:
        config = await sso.set_config(
            db,
            cipher,
            principal,
            issuer=data.issuer,
            client_id=data.client_id,
            secret=data.client_secret,
            enabled=data.enabled,
            sso_required=data.sso_required,
            break_glass_user_id=data.break_glass_user_id,
            jit_enabled=data.jit_enabled,
            jit_role=data.jit_role,
            allow_private_targets=runtime.settings.allow_private_targets,
        )
        return await _config_out(db, runtime, config)

    @delete("/", opt=needs(P.SSO_MANAGE))
    async def remove_config(self, db: Db, principal: Actor) -> None:
        await sso.remove_config(db, principal)


async def _tenant_id(runtime: Runtime, slug: str) -> uuid.UUID:
    async with runtime.db.session() as db:
        return (await get_tenant_by_slug(db, slug)).id


def _cookie_path(slug: str) -> str:
    return f"/sso/{slug}/"


class SsoController(Controller):
    path = "/sso"
    tags = ["single sign-on"]

    @get("/{tenant_slug:str}/login")
    async def login(
        self, tenant_slug: FromPath[str], request: Request[Any, Any, Any], runtime: Rt
    ) -> Response[Any]:
        """Send the browser to the tenant's provider (code flow, PKCE S256, state and nonce)."""
        tenant_id = await _tenant_id(runtime, tenant_slug)
        async with runtime.db.session(tenant_id) as db:
            config = await sso.enabled_config(db)
            issuer, client_id = config.issuer, config.client_id
        try:
            # Asked with no transaction open: a slow provider holds no lock.
            metadata = await oidc.discover(
                issuer, allow_private=runtime.settings.allow_private_targets
            )
        except oidc.SsoFailed as failed:
            await sso.record_failure(runtime, tenant_id, failed)
            if wants_html(request):
                return sso_refused(request, tenant_slug, failed.reason)
            raise
        async with runtime.db.session(tenant_id) as db:
            cipher = await load_tenant_cipher(db, runtime.keyring, tenant_id)
            pending = await sso.begin_login(db, cipher)
        url = oidc.authorization_url(
            metadata,
            client_id=client_id,
            redirect_uri=sso.callback_url(runtime.settings, tenant_slug),
            state=pending.state,
            nonce=pending.nonce,
            code_verifier=pending.code_verifier,
        )
        cookie = Cookie(
            key=sso.BROWSER_COOKIE,
            value=pending.browser_secret,
            path=_cookie_path(tenant_slug),
            max_age=int(sso.LOGIN_TTL.total_seconds()),
            httponly=True,
            # Lax: sent on the provider's top-level redirect back to the callback.
            samesite="lax",
            secure=runtime.settings.public_url.startswith("https://"),
        )
        return Redirect(path=url, cookies=[cookie], headers=NO_STORE)

    @get("/{tenant_slug:str}/callback")
    async def callback(
        self,
        tenant_slug: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: Rt,
        # "state" is a reserved parameter name in Litestar (the app's state).
        oauth_state: Annotated[str | None, QueryParameter(name="state")] = None,
        code: FromQuery[str | None] = None,
        error: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Exchange the code, check the ID token, match the user, sign them in."""
        tenant_id = await _tenant_id(runtime, tenant_slug)
        try:
            response = await self._complete(
                request,
                runtime,
                tenant_id,
                tenant_slug,
                state=oauth_state,
                code=code,
                error=error,
                browser_secret=request.cookies.get(sso.BROWSER_COOKIE),
            )
        except oidc.SsoFailed as failed:
            await sso.record_failure(runtime, tenant_id, failed)
            if not wants_html(request):
                raise
            # A person in a browser: the sign-in page with the reason, in their language.
            response = sso_refused(request, tenant_slug, failed.reason)
        response.delete_cookie(sso.BROWSER_COOKIE, path=_cookie_path(tenant_slug))
        return response

    async def _complete(
        self,
        request: Request[Any, Any, Any],
        runtime: Runtime,
        tenant_id: uuid.UUID,
        slug: str,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        browser_secret: str | None,
    ) -> Response[Any]:
        async with runtime.db.session(tenant_id) as db:
            config = await sso.enabled_config(db)
            cipher = await load_tenant_cipher(db, runtime.keyring, tenant_id)
            secret = sso.client_secret(cipher, config)
            issuer, client_id = config.issuer, config.client_id
            taken = (
                await sso.take_login(db, cipher, state=state, browser_secret=browser_secret)
                if state
                else sso.unknown_state()
            )
        # The state is used up (committed) before anything else can fail.
        if isinstance(taken, oidc.SsoFailed):
            raise taken
        if error or not code:
            raise oidc.SsoFailed("provider_error", f"the provider refused: {error or 'no code'}")
        allow_private = runtime.settings.allow_private_targets
        metadata = await oidc.discover(issuer, allow_private=allow_private)
        id_token = await oidc.exchange_code(
            metadata,
            client_id=client_id,
            client_secret=secret,
            redirect_uri=sso.callback_url(runtime.settings, slug),
            code=code,
            code_verifier=taken.code_verifier,
            allow_private=allow_private,
        )
        identity = await oidc.verify_id_token(
            metadata,
            id_token,
            client_id=client_id,
            nonce=taken.nonce,
            now=utcnow(),
            allow_private=allow_private,
        )
        async with runtime.db.session(tenant_id) as db:
            config = await sso.enabled_config(db)
            user = await sso.user_for(db, cipher, config, identity)
            await sso.record_sign_in(db, user, identity)
            return await finish_sign_in(db, request, user)


CONTROLLERS = [SsoConfigController, SsoController]
