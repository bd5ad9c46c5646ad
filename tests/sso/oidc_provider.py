"""A small but real OpenID Connect provider for the SSO tests, built on authlib's server side.

Discovery document, JWKS (an RS256 key generated here), an authorization
endpoint that signs in whoever the test says is at the keyboard, and a token
endpoint doing the authorization-code grant with PKCE and OpenID's ID token.
Served by uvicorn from a thread on a free port of 127.0.0.1, so Frontdesk
talks to it over real HTTP. ``Behaviour`` is what the next ID token says,
including the ways a broken or hostile provider would get it wrong.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, Response, get, post


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"})


@dataclass
class Person:
    """Someone signed in at the provider."""

    subject: str
    email: str
    email_verified: bool = True
    name: str = "Sam Single-Sign-On"


@dataclass
class Behaviour:
    """What the provider puts in the next ID tokens; reset between tests."""

    person: Person | None = None
    issuer: str | None = None  # another "iss" than the provider's own
    audience: str | None = None  # another "aud" than the client's id
    expires_in: int = 300  # negative: already expired when issued
    nonce: str | None = None  # another nonce than the one asked for
    foreign_key: bool = False  # signed with a key the JWKS does not hold


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_prefix: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri.startswith(self.redirect_prefix)

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    person: Person
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:  # type: ignore[override]
        return None

    def get_amr(self) -> list[str] | None:  # type: ignore[override]
        return None


class _Request(OAuth2Request):
    def __init__(
        self, method: str, uri: str, headers: Any, args: dict[str, str], form: dict[str, str]
    ):
        super().__init__(method, uri, headers=headers)
        self._args, self._form = args, form
        self.payload = BasicOAuth2Payload({**args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class Provider(AuthorizationServer):
    def __init__(self) -> None:
        super().__init__(scopes_supported=["openid", "email", "profile"])
        # Published in the JWKS; the last one signs.
        self.keys = [new_key("key-1")]
        # Made once: a 2048-bit key takes a while to generate on a busy machine.
        self._foreign_key = RSAKey.generate_key(2048)
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.behaviour = Behaviour()
        self.issuer = ""  # known once the server listens
        self.token_requests = 0
        self.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: secrets.token_urlsafe(24))
        )
        provider = self

        class Grant(AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

            def save_authorization_code(self, code: str, request: Any) -> None:
                data = request.payload.data
                provider.codes[code] = Code(
                    code=code,
                    client_id=request.client.get_client_id(),
                    redirect_uri=data.get("redirect_uri", ""),
                    scope=request.scope,
                    person=request.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Any) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.get_client_id() else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> Person:
                return authorization_code.person

        class OpenID(OpenIDCode):
            def resolve_client_private_key(self, client: Any) -> RSAKey:
                if provider.behaviour.foreign_key:
                    # The current key id, someone else's key: the signature cannot verify.
                    return provider._foreign_key
                return provider.keys[-1]

            def get_client_algorithm(self, client: Any) -> str:
                return "RS256"

            def get_encode_header(self, client: Any) -> dict[str, str]:
                return {"alg": "RS256", "kid": str(provider.keys[-1].kid)}

            def get_client_claims(self, client: Any) -> dict[str, Any]:
                b, now = provider.behaviour, int(time.time())
                return {
                    "iss": b.issuer or provider.issuer,
                    "aud": [b.audience or client.get_client_id()],
                    "iat": now if b.expires_in > 0 else now + b.expires_in - 60,
                    "exp": now + b.expires_in,
                }

            def get_authorization_code_claims(self, authorization_code: Any) -> dict[str, Any]:
                claims = super().get_authorization_code_claims(authorization_code)
                if provider.behaviour.nonce is not None:
                    claims["nonce"] = provider.behaviour.nonce
                return claims

            def exists_nonce(self, nonce: str, request: Any) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def generate_user_info(self, user: Person, scope: str) -> dict[str, Any]:
                return {
                    "sub": user.subject,
                    "email": user.email,
                    "email_verified": user.email_verified,
                    "name": user.name,
                }

        self.register_grant(Grant, [OpenID(require_nonce=True), CodeChallenge(required=True)])

    # --- authlib's framework hooks ----------------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        self.token_requests += 1

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request  # type: ignore[no-any-return]

    def handle_response(self, status: int, body: Any, headers: Any) -> Response[Any]:
        return Response(body, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    # --- for the tests ---------------------------------------------------------

    def rotate_key(self) -> None:
        """Sign with a new key from now on, published beside the old one."""
        self.keys.append(new_key(f"key-{len(self.keys) + 1}"))

    def add_client(self, redirect_prefix: str) -> Client:
        client = Client(
            client_id=f"frontdesk-{secrets.token_hex(4)}",
            client_secret=secrets.token_urlsafe(24),
            redirect_prefix=redirect_prefix,
        )
        self.clients[client.client_id] = client
        return client

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    def app(self) -> Litestar:
        provider = self

        @get("/.well-known/openid-configuration", sync_to_thread=False)
        def discovery() -> dict[str, Any]:
            return provider.discovery()

        @get("/jwks", sync_to_thread=False)
        def jwks() -> dict[str, Any]:
            return {"keys": [key.as_dict(private=False) for key in provider.keys]}

        @get("/authorize", sync_to_thread=False)
        def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
            req = _Request("GET", str(request.url), request.headers, dict(request.query_params), {})
            person = provider.behaviour.person
            grant = provider.get_consent_grant(req, end_user=person)
            return provider.create_authorization_response(req, grant_user=person, grant=grant)  # type: ignore[no-any-return]

        @post("/token", status_code=200)
        async def token(request: Request[Any, Any, Any]) -> Response[Any]:
            form = {k: str(v) for k, v in (await request.form()).items()}
            req = _Request("POST", str(request.url), request.headers, {}, form)
            return provider.create_token_response(req)  # type: ignore[no-any-return]

        return Litestar(route_handlers=[discovery, jwks, authorize, token], debug=False)


@contextmanager
def running_provider() -> Iterator[Provider]:
    """The provider, listening on 127.0.0.1 from a thread of its own until the block ends."""
    provider = Provider()
    config = uvicorn.Config(
        provider.app(),
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test OIDC provider did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    provider.issuer = f"http://127.0.0.1:{port}"
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
