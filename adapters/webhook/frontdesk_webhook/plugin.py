"""The entry point Frontdesk loads (group ``frontdesk.channels``, name ``webhook``)."""

from __future__ import annotations

from typing import Any

from frontdesk.channels import ChannelAdapter, hookimpl
from frontdesk_webhook.adapter import WebhookAdapter


@hookimpl
def frontdesk_channel_adapters() -> list[type[ChannelAdapter[Any]]]:
    return [WebhookAdapter]
