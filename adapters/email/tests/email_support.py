"""Helpers the email adapter's tests share: adapters, and requests as providers send them.

A module of its own (not conftest.py) so test modules can import it by a name
no other test tree uses.
"""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import base64
import uuid
from typing import Any

import msgspec
from email_corpus import SUPPORT

from frontdesk.channels import ChannelContext, InboundRequest
from frontdesk.testing import make_request
from frontdesk_email import EmailAdapter, EmailConfig

SECRET = "whsec_email_0123456789abcdef"
TOKEN = "x-frontdesk-email-token"
CONTEXT = ChannelContext(
    channel_id="ch_email",
    webhook_url="https://desk.example.com/hooks/ch_email",
    public_url="https://desk.example.com",
)


def make_config(**overrides: Any) -> EmailConfig:
    fields: dict[str, Any] = {
        "from_address": SUPPORT,
        "from_name": "Acme Support",
        "webhook_secret": SECRET,
    }
    fields.update(overrides)
    return msgspec.convert(fields, EmailConfig)


def make_adapter(context: ChannelContext = CONTEXT, **overrides: Any) -> EmailAdapter:
    return EmailAdapter(make_config(**overrides), context)


def raw_request(
    raw: bytes,
    *,
    content_type: str = "message/rfc822",
    token: str | None = SECRET,
    headers: dict[str, str] | None = None,
) -> InboundRequest:
    """Raw MIME posted as an inbound-parse service would, with the token header."""
    all_headers = {"content-type": content_type, **(headers or {})}
    if token is not None:
        all_headers[TOKEN] = token
    return make_request(raw, headers=all_headers, url=CONTEXT.webhook_url)


def form_request(
    fields: dict[str, bytes], *, token: str | None = SECRET, boundary: str | None = None
) -> InboundRequest:
    """multipart/form-data as SendGrid's Inbound Parse posts it."""
    boundary = boundary or f"xYzZY{uuid.uuid5(uuid.NAMESPACE_DNS, repr(sorted(fields))).hex}"
    body = b""
    for name, value in fields.items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return raw_request(body, content_type=f"multipart/form-data; boundary={boundary}", token=token)


def basic(password: str, user: str = "sendgrid") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
