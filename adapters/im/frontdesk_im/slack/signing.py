"""Slack's request signing (``v0``): HMAC-SHA256 of ``v0:{timestamp}:{body}``.

Slack sends ``X-Slack-Request-Timestamp`` (unix seconds) and
``X-Slack-Signature: v0=<hex>``, the HMAC keyed with the app's signing
secret. A timestamp more than five minutes from now is refused, as Slack
recommends, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from frontdesk.channels import SignatureInvalid

SIGNATURE_HEADER = "x-slack-signature"
TIMESTAMP_HEADER = "x-slack-request-timestamp"
#: Slack's recommendation: five minutes either way.
TOLERANCE_SECONDS = 300

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=([0-9a-fA-F]{64})")


def sign(signing_secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Slack-Signature`` value for ``body`` sent at ``timestamp``."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def verify_signature(
    signing_secret: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    tolerance_seconds: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise ``SignatureInvalid`` unless ``signature`` signs ``body`` at a recent ``timestamp``."""
    if not signature or not timestamp:
        raise SignatureInvalid("missing X-Slack-Signature or X-Slack-Request-Timestamp")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureInvalid("malformed X-Slack-Request-Timestamp: it is unix seconds")
    given = _SIGNATURE.fullmatch(signature)
    if given is None:
        raise SignatureInvalid("malformed X-Slack-Signature: it is v0= and 64 hex digits")
    expected = sign(signing_secret, body, int(timestamp))[3:]
    if not hmac.compare_digest(expected.encode(), given[1].lower().encode()):
        raise SignatureInvalid("X-Slack-Signature does not match the body")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance_seconds:
        raise SignatureInvalid(
            f"X-Slack-Request-Timestamp is {int(current) - int(timestamp)} s away from now, "
            f"outside the tolerance of {tolerance_seconds} s (a replay, or a wrong clock)"
        )
