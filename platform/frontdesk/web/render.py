"""Rendering pages: one Jinja environment (autoescaped), security headers, the sign-in guard."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.api.problems import PROBLEM_JSON
from frontdesk.auth.permissions import Permission
from frontdesk.db import bind_tenant
from frontdesk.errors import PermissionDenied, Unauthenticated
from frontdesk.web import i18n
from frontdesk.web.sessions import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    LIFETIME,
    BrowserSession,
    SignedIn,
    authenticate_browser_session,
    check_csrf,
    tenant_of_cookie,
)

HERE = Path(__file__).parent
HOME = "/app/inbox"
STATIC = HERE / "static"

# No inline script or style, nothing from another origin: stored text that
# slipped through escaping still could not run.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}

ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInRequired(Unauthenticated):
    """No valid browser session: pages redirect to the sign-in page, fetches get a 401."""


class Page(msgspec.Struct, frozen=True, kw_only=True):
    """A signed-in page request: who, in which language, and the posted form (CSRF-checked)."""

    signed_in: SignedIn
    locale: str
    form: dict[str, str]

    @property
    def principal(self) -> Any:
        return self.signed_in.principal

    def has(self, permission: Permission) -> bool:
        return bool(self.signed_in.principal.has(permission))

    def field(self, name: str, default: str = "") -> str:
        return self.form.get(name, default).strip()

    def uuid_field(self, name: str) -> uuid.UUID | None:
        raw = self.field(name)
        if not raw:
            return None
        try:
            return uuid.UUID(raw)
        except ValueError:
            from frontdesk.errors import InvalidInput

            raise InvalidInput(f"{name} is not an id") from None


def locale_of(request: Request[Any, Any, Any], user_locale: str | None = None) -> str:
    return i18n.pick_locale(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language"), user_locale
    )


def same_origin(request: Request[Any, Any, Any]) -> bool:
    """A browser's Origin (when sent) names this host: refuses cross-site posts and sockets."""
    origin = request.headers.get("origin")
    if not origin:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def provide_page(request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Page:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise SignInRequired("sign in first")
    try:
        tenant_id = tenant_of_cookie(cookie)
        bind_tenant(db, tenant_id)
        signed_in = await authenticate_browser_session(db, cookie)
    except Unauthenticated:
        raise SignInRequired("this session has ended; sign in again") from None
    form: dict[str, str] = {}
    if request.method not in ("GET", "HEAD"):
        if not same_origin(request):
            raise PermissionDenied("a cross-site request was refused")
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            data = await request.form()
            form = {k: v for k, v in data.items() if isinstance(v, str)}
        check_csrf(signed_in, form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER))
    needed = request.route_handler.opt.get("permission")
    if needed is not None:
        signed_in.principal.require(Permission(needed))
    return Page(signed_in=signed_in, locale=locale_of(request, signed_in.locale), form=form)


def render(
    template: str,
    *,
    locale: str,
    page: Page | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response[str]:
    html = ENV.get_template(template).render(
        t=i18n.translator(locale),
        locale=locale,
        page=page,
        me=page.signed_in if page else None,
        csrf=page.signed_in.csrf_token if page else "",
        P=Permission,
        **context,
    )
    return Response(
        html, media_type=MediaType.HTML, status_code=status_code, headers=SECURITY_HEADERS
    )


def see_other(path: str, *, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(path, status_code=303, cookies=cookies or [], headers=SECURITY_HEADERS)


def session_cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    """The ``fd_session`` cookie; an empty value with ``max_age=0`` removes it.

    Secure follows ``FRONTDESK_PUBLIC_URL``'s scheme, as the SSO cookie does,
    not the request's: behind a proxy that ends TLS the request arrives as
    http, and the cookie must still never travel in the clear.
    """
    settings = request.app.state.runtime.settings
    return Cookie(
        key=COOKIE,
        value=value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
        max_age=max_age,
    )


def enter_console(request: Request[Any, Any, Any], started: BrowserSession) -> Redirect:
    """Where every sign-in (password form, SSO callback) ends: the inbox, with the cookie set."""
    max_age = int(LIFETIME.total_seconds())
    return see_other(HOME, cookies=[session_cookie(request, started.cookie, max_age)])


def sign_in_required(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    if request.method in ("GET", "HEAD") and not request.headers.get(CSRF_HEADER):
        return see_other("/app/login")
    from frontdesk.api.problems import frontdesk_error

    return frontdesk_error(request, exc)


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser's navigation (Accept names text/html); API clients keep problem details."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and PROBLEM_JSON not in accept


def sso_refused(request: Request[Any, Any, Any], slug: str, reason: str) -> Response[str]:
    """A refused single sign-on, for a browser: the sign-in page saying why, in its language."""
    key = f"sso.{reason}"
    return render(
        "login.html",
        locale=locale_of(request),
        tenant=slug,
        error=key if key in i18n.CATALOGUE else "sso.refused",
        sso_url=f"/sso/{slug}/login",
        sso_required=False,
        status_code=401,
    )
