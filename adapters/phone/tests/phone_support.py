"""Twilio's and Vonage's requests as they send them, for the phone adapter's tests.

Requests are signed here from the providers' documentation (hashlib, hmac,
base64), not with the adapter's own code, so a mistake in one is not
repeated in the other.
"""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from frontdesk.channels import ChannelContext, InboundRequest
from frontdesk_phone import PhoneConfig

TOKEN = "twilio-auth-token-0123456789abcdef"
VONAGE_SECRET = "vonage-signature-secret-0123456789"
ACCOUNT = "AC00000000000000000000000000000001"
NUMBER = "+14155550100"
CALLER = "+14155550123"
FORM = "application/x-www-form-urlencoded"
WEBHOOK = "https://frontdesk.example/hooks/contract-kit"
CONTEXT = ChannelContext(
    channel_id="contract-kit", webhook_url=WEBHOOK, public_url="https://frontdesk.example"
)


def twilio_signature(token: str, url: str, params: dict[str, list[str]]) -> str:
    data = url + "".join(k + v for k in sorted(params) for v in sorted(set(params[k])))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_request(
    params: dict[str, str], *, url: str = WEBHOOK, token: str | None = TOKEN
) -> InboundRequest:
    body = urlencode(params).encode()
    headers = {"content-type": FORM}
    if token is not None:
        headers["x-twilio-signature"] = twilio_signature(
            token, url, {k: [v] for k, v in params.items()}
        )
    return InboundRequest(method="POST", url=url, headers=headers, query={}, body=body)


def vonage_token(secret: str, body: bytes, *, iat: int | None = None, alg: str = "HS256") -> str:
    def enc(part: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    claims = {
        "iat": int(time.time()) if iat is None else iat,
        "jti": "d9a5a8e0-0000-4000-8000-000000000001",
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": "abcd1234",
    }
    head = enc({"alg": alg, "typ": "JWT"}) + "." + enc(claims)
    mac = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def vonage_request(
    body: dict[str, Any] | bytes, *, url: str = WEBHOOK, secret: str | None = VONAGE_SECRET
) -> InboundRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["authorization"] = f"Bearer {vonage_token(secret, raw)}"
    return InboundRequest(method="POST", url=url, headers=headers, query={}, body=raw)


def twilio_config(**overrides: Any) -> PhoneConfig:
    fields: dict[str, Any] = {
        "account_id": ACCOUNT,
        "auth_token": TOKEN,
        "phone_number": NUMBER,
        "dial": ["client:ada"],
        "agents": {"client:ada": "ada@example.com"},
    }
    return PhoneConfig(**{**fields, **overrides})


def vonage_config(**overrides: Any) -> PhoneConfig:
    fields: dict[str, Any] = {
        "provider": "vonage",
        "account_id": "abcd1234",
        "auth_token": "vonage-api-secret",
        "signature_secret": VONAGE_SECRET,
        "phone_number": NUMBER,
    }
    return PhoneConfig(**{**fields, **overrides})
