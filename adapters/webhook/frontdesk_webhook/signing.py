"""The signature scheme both directions use: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The HMAC covers ``f"{t}."`` followed by the raw body, under the channel's shared
secret, as in Stripe's webhook signatures. Importable on its own, so a customer's
system can sign what it sends and check what it receives with the same code.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from frontdesk.channels import SignatureInvalid

#: The header carrying the signature, in both directions.
SIGNATURE_HEADER = "X-Frontdesk-Signature"

# Twelve digits reach the year 33658; the bound keeps int() on a header cheap.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_MAX_TIMESTAMP = 10**12 - 1
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Frontdesk-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise ValueError(f"timestamp must be unix seconds, 0 to {_MAX_TIMESTAMP}")
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureInvalid(f"malformed {SIGNATURE_HEADER} header: expected key=value pairs")
        if key == "t":
            if timestamp is not None or not _TIMESTAMP.fullmatch(value):
                raise SignatureInvalid(
                    f"malformed {SIGNATURE_HEADER} header: t must appear once, as unix seconds"
                )
            timestamp = int(value)
        elif key == "v1":
            if not _HEX_SHA256.fullmatch(value):
                raise SignatureInvalid(
                    f"malformed {SIGNATURE_HEADER} header: v1 must be 64 hex digits"
                )
            signatures.append(value.lower())
        # Other keys are ignored, so a later scheme (v2=) can be sent alongside v1.
    if timestamp is None or not signatures:
        raise SignatureInvalid(f"malformed {SIGNATURE_HEADER} header: it needs t= and v1=")
    return timestamp, signatures


def verify_signature(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> int:
    """Check ``header`` against ``body``; return its timestamp or raise ``SignatureInvalid``.

    Several ``v1=`` values are allowed (any one matching is enough), so a sender
    can sign with an old and a new secret while rotating. A timestamp further
    than ``tolerance_seconds`` from ``now`` either way is refused, which bounds
    how long a captured request can be replayed.
    """
    if header is None or not header.strip():
        raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
    timestamp, signatures = _parse_header(header)
    expected = _digest(secret, body, timestamp)
    # Every candidate is compared, in constant time, so timing tells nothing.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    if not any(matches):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise SignatureInvalid(
            f"{SIGNATURE_HEADER} timestamp is {int(current - timestamp)} s away from now, "
            f"outside the tolerance of {tolerance_seconds} s (a replay, or a wrong clock)"
        )
    return timestamp
