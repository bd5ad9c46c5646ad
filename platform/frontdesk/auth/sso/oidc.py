"""The relying party's side of OpenID Connect: discovery, the authorization URL, the code
exchange (authlib's httpx client) and the ID token's checks (joserfc, against the JWKS).

Nothing here touches the database; ``frontdesk.auth.sso.service`` decides what a checked
ID token means for a tenant.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ssl
import time
import uuid
import warnings
from typing import Any

import authlib.deprecate  # noqa: F401 - installs its own filter first, ours goes above it
import httpx
import msgspec
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from frontdesk import egress
from frontdesk.errors import Unauthenticated

with warnings.catch_warnings():
    # authlib 1.9 would rather run on httpx2 and says so on import; httpx is
    # the client the rest of the platform (and its tests) use.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

HTTP_TIMEOUT_S = 10.0
# Discovery documents and key sets are kept this long; an unknown key id
# fetches the key set again at once (the provider rotated its keys).
METADATA_TTL_S = 300.0
# Clock skew tolerated between the provider and us.
LEEWAY = dt.timedelta(seconds=60)
# Asymmetric algorithms only: never "none", never a MAC keyed by something we share.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
SCOPE = "openid email profile"


class SsoFailed(Unauthenticated):
    """A sign-in through the provider did not succeed; ``reason`` goes to the audit log."""

    def __init__(self, reason: str, detail: str, *, user_id: uuid.UUID | None = None) -> None:
        super().__init__(detail, reason=reason)
        self.reason = reason
        # The user the attempt was about, when one matched (for the audit entry).
        self.user_id = user_id


class ProviderMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of the discovery document we use (OpenID Connect Discovery 1.0 §3)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    id_token_signing_alg_values_supported: list[str] = msgspec.field(
        default_factory=lambda: ["RS256"]
    )
    token_endpoint_auth_methods_supported: list[str] = msgspec.field(
        default_factory=lambda: ["client_secret_basic"]
    )


class IdentityClaims(msgspec.Struct, frozen=True, kw_only=True):
    """What a checked ID token says about the person."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None


class _Cache:
    """Per process: discovery documents by issuer, key sets by JWKS URL."""

    def __init__(self) -> None:
        self.metadata: dict[str, tuple[float, ProviderMetadata]] = {}
        self.keys: dict[str, tuple[float, KeySet]] = {}


_cache = _Cache()


def forget_providers() -> None:
    """Drop cached discovery documents and key sets (tests; a provider changed its keys)."""
    _cache.metadata.clear()
    _cache.keys.clear()


_tls: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS settings, built once: a client builds them anew otherwise
    (loading the CA bundle), which costs more than the request."""
    global _tls
    if _tls is None:
        _tls = httpx.create_ssl_context()
    return _tls


async def _check_target(url: str, allow_private: bool) -> None:
    """The provider's URLs (the issuer's, and those its discovery document names)
    are checked before each call: never a private address (``frontdesk.egress``)."""
    try:
        await egress.check_url(url, allow_private=allow_private, what="the provider's URL")
    except egress.UnsafeTarget as exc:
        raise SsoFailed("provider_unsafe", f"refused: {exc.detail}") from None


async def _get_json(url: str, *, allow_private: bool) -> Any:
    await _check_target(url, allow_private)
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, verify=_tls_context()) as http:
            response = await http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SsoFailed(
            "provider_unreachable", f"the sign-in provider did not answer: {exc}"
        ) from None


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


async def discover(issuer: str, *, allow_private: bool) -> ProviderMetadata:
    now = time.monotonic()
    cached = _cache.metadata.get(issuer)
    if cached is not None and now - cached[0] < METADATA_TTL_S:
        return cached[1]
    try:
        metadata = msgspec.convert(
            await _get_json(discovery_url(issuer), allow_private=allow_private), ProviderMetadata
        )
    except msgspec.ValidationError as exc:
        raise SsoFailed(
            "provider_misconfigured", f"the provider's discovery document is unusable: {exc}"
        ) from None
    # Discovery §4.3: the document must name the issuer it was fetched for, or
    # an attacker who can serve it could vouch for tokens of another issuer.
    if metadata.issuer.rstrip("/") != issuer.rstrip("/"):
        raise SsoFailed(
            "provider_misconfigured", "the provider's discovery document names another issuer"
        )
    _cache.metadata[issuer] = (now, metadata)
    return metadata


async def _key_set(jwks_uri: str, *, fresh: bool, allow_private: bool) -> KeySet:
    now = time.monotonic()
    cached = _cache.keys.get(jwks_uri)
    if not fresh and cached is not None and now - cached[0] < METADATA_TTL_S:
        return cached[1]
    try:
        keys = KeySet.import_key_set(await _get_json(jwks_uri, allow_private=allow_private))
    except (JoseError, ValueError, TypeError) as exc:
        raise SsoFailed(
            "provider_misconfigured", f"the provider's key set is unusable: {exc}"
        ) from None
    _cache.keys[jwks_uri] = (now, keys)
    return keys


def _client(
    metadata: ProviderMetadata, client_id: str, client_secret: str, redirect_uri: str
) -> AsyncOAuth2Client:
    methods = metadata.token_endpoint_auth_methods_supported
    method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    return AsyncOAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=method,
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT_S,
        verify=_tls_context(),
    )


def authorization_url(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    nonce: str,
    code_verifier: str,
) -> str:
    """Where the browser goes to sign in: code flow, PKCE S256, our state and nonce."""
    client = _client(metadata, client_id, "", redirect_uri)
    url, _ = client.create_authorization_url(
        metadata.authorization_endpoint,
        state=state,
        code_verifier=code_verifier,
        nonce=nonce,
    )
    return str(url)


async def exchange_code(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    allow_private: bool,
) -> str:
    """The ID token the provider issues for ``code``.

    The provider refuses a code used before, or sent without its PKCE verifier.
    """
    await _check_target(metadata.token_endpoint, allow_private)
    async with _client(metadata, client_id, client_secret, redirect_uri) as client:
        try:
            token = await client.fetch_token(
                metadata.token_endpoint, code=code, code_verifier=code_verifier
            )
        except OAuthError as exc:
            raise SsoFailed(
                "code_rejected", f"the provider refused the sign-in code: {exc.error}"
            ) from None
        except (httpx.HTTPError, ValueError) as exc:
            raise SsoFailed(
                "provider_unreachable", f"the sign-in provider did not answer: {exc}"
            ) from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SsoFailed("token_invalid", "the provider sent no ID token")
    return id_token


async def verify_id_token(
    metadata: ProviderMetadata,
    id_token: str,
    *,
    client_id: str,
    nonce: str,
    now: dt.datetime,
    allow_private: bool,
) -> IdentityClaims:
    """Signature against the provider's JWKS, then issuer, audience, expiry and nonce."""
    algorithms = [
        a for a in metadata.id_token_signing_alg_values_supported if a in SIGNING_ALGORITHMS
    ]
    if not algorithms:
        raise SsoFailed("provider_misconfigured", "the provider signs with no algorithm we accept")
    try:
        try:
            decoded = jwt.decode(
                id_token,
                await _key_set(metadata.jwks_uri, fresh=False, allow_private=allow_private),
                algorithms=algorithms,
            )
        except InvalidKeyIdError:
            decoded = jwt.decode(
                id_token,
                await _key_set(metadata.jwks_uri, fresh=True, allow_private=allow_private),
                algorithms=algorithms,
            )
    except (JoseError, ValueError) as exc:
        raise SsoFailed("token_invalid", f"the ID token did not verify: {exc}") from None
    claims: dict[str, Any] = decoded.claims
    if claims.get("iss") != metadata.issuer:
        raise SsoFailed("issuer_mismatch", "the ID token was issued by another provider")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise SsoFailed("audience_mismatch", "the ID token was issued to another client")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SsoFailed("audience_mismatch", "the ID token was issued to another client")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise SsoFailed("token_invalid", "the ID token has no expiry or issue time")
    if dt.datetime.fromtimestamp(exp, dt.UTC) + LEEWAY <= now:
        raise SsoFailed("token_expired", "the ID token has expired")
    if dt.datetime.fromtimestamp(iat, dt.UTC) - LEEWAY > now:
        raise SsoFailed("token_invalid", "the ID token was issued in the future")
    sent_nonce = claims.get("nonce")
    if not isinstance(sent_nonce, str) or not hmac.compare_digest(sent_nonce, nonce):
        raise SsoFailed("nonce_mismatch", "the ID token answers another sign-in")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise SsoFailed("token_invalid", "the ID token names nobody")
    email = claims.get("email")
    name = claims.get("name")
    return IdentityClaims(
        subject=subject,
        email=email if isinstance(email, str) else None,
        # Only a JSON true counts: a string "true" or a missing claim is unverified.
        email_verified=claims.get("email_verified") is True,
        name=name if isinstance(name, str) else None,
    )
