"""The entry point Frontdesk loads (group ``frontdesk.channels``, name ``slack``)."""

from __future__ import annotations

from typing import Any

from frontdesk.channels import ChannelAdapter, hookimpl
from frontdesk_im.slack.adapter import SlackAdapter


@hookimpl
def frontdesk_channel_adapters() -> list[type[ChannelAdapter[Any]]]:
    return [SlackAdapter]
