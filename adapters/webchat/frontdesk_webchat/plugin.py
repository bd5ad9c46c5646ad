"""The entry point Frontdesk loads (group ``frontdesk.channels``, name ``webchat``)."""

from __future__ import annotations

from typing import Any

from frontdesk.channels import ChannelAdapter, hookimpl
from frontdesk_webchat.adapter import WebchatAdapter


@hookimpl
def frontdesk_channel_adapters() -> list[type[ChannelAdapter[Any]]]:
    return [WebchatAdapter]
