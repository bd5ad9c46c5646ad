"""The entry point Frontdesk loads (group ``frontdesk.channels``, name ``phone``)."""

from __future__ import annotations

from typing import Any

from frontdesk.channels import ChannelAdapter, hookimpl
from frontdesk_phone.adapter import PhoneAdapter


@hookimpl
def frontdesk_channel_adapters() -> list[type[ChannelAdapter[Any]]]:
    return [PhoneAdapter]
