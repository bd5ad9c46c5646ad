"""Access tokens (short-lived JWT, HS256), refresh tokens and API tokens.

JWTs are made with joserfc, authlib's own JOSE library (authlib.jose is
deprecated in its favour). Refresh and API tokens are random secrets stored
only as SHA-256 hashes: they carry 256 bits of entropy, so a slow hash adds
nothing but latency.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

import msgspec
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from frontdesk.errors import Unauthenticated

API_TOKEN_PREFIX = "fdk"  # noqa: S105 - a prefix, not a secret


class AccessClaims(msgspec.Struct, frozen=True):
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    generation: int


def issue_access_token(
    signing_key: bytes, claims: AccessClaims, *, minutes: int, now: dt.datetime
) -> str:
    key = OctKey.import_key(signing_key)
    payload = {
        "sub": str(claims.user_id),
        "tid": str(claims.tenant_id),
        "gen": claims.generation,
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(minutes=minutes)).timestamp()),
        "typ": "access",
    }
    return jwt.encode({"alg": "HS256"}, payload, key)


def read_access_token(signing_key: bytes, token: str, *, now: dt.datetime) -> AccessClaims:
    key = OctKey.import_key(signing_key)
    try:
        decoded = jwt.decode(token, key, algorithms=["HS256"])
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            exp={"essential": True},
            sub={"essential": True},
            tid={"essential": True},
            typ={"essential": True, "value": "access"},
        )
        registry.validate(decoded.claims)
        return AccessClaims(
            tenant_id=uuid.UUID(decoded.claims["tid"]),
            user_id=uuid.UUID(decoded.claims["sub"]),
            generation=int(decoded.claims.get("gen", 0)),
        )
    except (JoseError, ValueError, KeyError, TypeError):
        raise Unauthenticated("invalid or expired access token") from None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_refresh_token(tenant_id: uuid.UUID) -> str:
    return f"fdr_{tenant_id.hex}_{secrets.token_urlsafe(32)}"


def new_api_token(tenant_id: uuid.UUID) -> str:
    # The tenant id travels in the token so a lookup runs inside that tenant's
    # row-level-security context and never scans other tenants' hashes.
    return f"{API_TOKEN_PREFIX}_{tenant_id.hex}_{secrets.token_urlsafe(32)}"


def tenant_of_opaque_token(token: str, prefix: str) -> uuid.UUID:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != prefix:
        raise Unauthenticated("malformed token")
    try:
        return uuid.UUID(hex=parts[1])
    except ValueError:
        raise Unauthenticated("malformed token") from None
