"""The three HMACs of web chat: visitor sessions, verified identities, and the
widget server's own requests to the intake. All HMAC-SHA256, compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time

SIGNATURE_HEADER = "x-frontdesk-webchat-signature"
#: A signed intake request older than this is refused (a replay).
MAX_AGE_S = 300

_VISITOR = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _mac(key: str, purpose: str, message: str) -> bytes:
    # One secret, several uses: the purpose is part of what is signed, so a
    # value signed for one use never passes as another.
    return hmac.new(key.encode(), f"{purpose}\n{message}".encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_visitor_id() -> str:
    return secrets.token_urlsafe(16)


def session_token(secret: str, visitor_id: str) -> str:
    """What the widget keeps in localStorage: survives reloads, cannot be forged."""
    return f"v1.{visitor_id}.{_b64(_mac(secret, 'session', visitor_id))[:32]}"


def visitor_of(secret: str, token: str) -> str | None:
    """The visitor a session token names, or None when it is not one of ours."""
    version, _, rest = token.partition(".")
    visitor_id, _, mac = rest.rpartition(".")
    if version != "v1" or not _VISITOR.match(visitor_id) or not mac.isascii():
        return None
    expected = _b64(_mac(secret, "session", visitor_id))[:32]
    return visitor_id if hmac.compare_digest(mac, expected) else None


def identity_hash(identity_secret: str, user_id: str, email: str) -> str:
    """What the host site's backend computes for its logged-in user (see README)."""
    message = f"{user_id}:{email}".encode()
    return hmac.new(identity_secret.encode(), message, hashlib.sha256).hexdigest()


def identity_valid(identity_secret: str, user_id: str, email: str, given: str) -> bool:
    if not identity_secret or not given.isascii():
        return False
    return hmac.compare_digest(given.lower(), identity_hash(identity_secret, user_id, email))


def conversation_key(
    secret: str, *, visitor_id: str | None = None, user_id: str | None = None
) -> str:
    """Opaque: a verified user's conversation is the same on every device, and
    names neither the user nor their email (keys end up in tables and topics)."""
    if user_id is not None:
        return "u." + _b64(_mac(secret, "user", user_id))[:32]
    assert visitor_id is not None
    return "v." + visitor_id


def sign_body(secret: str, body: bytes, timestamp: int | None = None) -> str:
    when = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{when}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={when},v1={mac}"


def body_signature_valid(secret: str, body: bytes, header: str, now: float | None = None) -> bool:
    fields = dict(part.partition("=")[::2] for part in header.split(","))
    stamp, given = fields.get("t", ""), fields.get("v1", "")
    if not (stamp.isascii() and stamp.isdigit() and given.isascii() and len(stamp) <= 12):
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > MAX_AGE_S:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given, expected)
