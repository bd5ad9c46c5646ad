"""Every hook a Frontdesk plugin can implement (public SDK).

A plugin is a module registered under the entry-point group
``frontdesk.channels``; it implements hooks by decorating functions with
``frontdesk.channels.hookimpl``. A function whose name matches no hook below
is an error at start-up, not silently ignored.
"""

from __future__ import annotations

from typing import Any

import pluggy

from frontdesk.channels.adapter import ChannelAdapter

PROJECT = "frontdesk"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def frontdesk_channel_adapters() -> list[type[ChannelAdapter[Any]]]:
    """Return the channel adapter classes this plugin provides.

    Called once when the platform (app, worker or CLI) starts. Each class's
    ``kind`` must be unique across everything installed; a clash, a missing
    class attribute or an ``sdk_versions`` that excludes this SDK stops
    start-up with a message naming the plugin.

    Each class's ``routes()`` are mounted under ``/channels/{kind}/``; since
    SDK 1.1 they may take the ``channel_gateway`` dependency, and adapters the
    platform builds get ``context.services`` (pub/sub and transcripts), for
    channels whose customers connect to Frontdesk itself (web chat).
    """
    raise NotImplementedError
