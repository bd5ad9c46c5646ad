"""Frontdesk's generic signed-JSON webhook channel (the reference channel adapter).

A tenant's own systems (a shop backend, a CRM) POST customers' messages as
signed JSON; agents' replies are POSTed back, signed the same way. The wire
format is in README.md.
"""

from __future__ import annotations

from frontdesk_webhook._version import __version__
from frontdesk_webhook.adapter import WebhookAdapter, WebhookConfig
from frontdesk_webhook.signing import SIGNATURE_HEADER, sign, verify_signature

__all__ = [
    "SIGNATURE_HEADER",
    "WebhookAdapter",
    "WebhookConfig",
    "__version__",
    "sign",
    "verify_signature",
]
