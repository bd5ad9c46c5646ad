"""The entry point Frontdesk loads (group ``frontdesk.channels``, name ``telegram``)."""

from __future__ import annotations

from typing import Any

from frontdesk.channels import ChannelAdapter, hookimpl
from frontdesk_im.telegram.adapter import TelegramAdapter


@hookimpl
def frontdesk_channel_adapters() -> list[type[ChannelAdapter[Any]]]:
    return [TelegramAdapter]
