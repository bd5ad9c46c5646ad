"""The entry point Frontdesk loads (group ``frontdesk.channels``, name ``email``)."""

from __future__ import annotations

from typing import Any

from frontdesk.channels import ChannelAdapter, hookimpl
from frontdesk_email.adapter import EmailAdapter


@hookimpl
def frontdesk_channel_adapters() -> list[type[ChannelAdapter[Any]]]:
    return [EmailAdapter]
