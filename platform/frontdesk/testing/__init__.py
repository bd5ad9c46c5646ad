"""The channel adapter contract kit: a pytest plugin adapter packages test against.

``ChannelContract`` is the suite (subclass it in a test module), the plugin
module supplies its default fixtures, and ``ProviderServer`` is a scripted
provider on 127.0.0.1 for delivery tests. ``docs/writing-an-adapter.md``
walks through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from frontdesk.channels.types import InboundRequest
from frontdesk.testing.contract import (
    ChannelContract,
    ContractViolation,
    DeadlineExceeded,
    DeliveryProvider,
    SignRequest,
)
from frontdesk.testing.plugin import PUBLIC_URL, WEBHOOK_URL
from frontdesk.testing.provider import ProviderResponse, ProviderServer, ReceivedRequest

__all__ = [
    "PUBLIC_URL",
    "WEBHOOK_URL",
    "ChannelContract",
    "ContractViolation",
    "DeadlineExceeded",
    "DeliveryProvider",
    "ProviderResponse",
    "ProviderServer",
    "ReceivedRequest",
    "SignRequest",
    "make_request",
]


def make_request(
    body: bytes | Mapping[str, Any] | list[Any],
    *,
    method: str = "POST",
    url: str = WEBHOOK_URL,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, list[str]] | None = None,
) -> InboundRequest:
    """An ``InboundRequest`` as the intake would hand it over.

    A dict or list body is sent as JSON (with ``content-type:
    application/json`` unless ``headers`` says otherwise); header names are
    lower-cased, as the intake does.
    """
    all_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if not isinstance(body, bytes):
        body = msgspec.json.encode(body)
        all_headers.setdefault("content-type", "application/json")
    return InboundRequest(
        method=method,
        url=url,
        headers=all_headers,
        query={k: list(v) for k, v in (query or {}).items()},
        body=body,
    )
