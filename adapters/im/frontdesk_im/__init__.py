"""Frontdesk's instant-messaging channels: WeCom, Telegram, Slack and WhatsApp.

One distribution, one channel kind per provider, each registered through its
own ``frontdesk.channels`` entry point and built only on the public SDK. The
set-up of each provider is in README.md.
"""

from __future__ import annotations

from frontdesk_im._version import __version__
from frontdesk_im.slack import SlackAdapter, SlackConfig
from frontdesk_im.telegram import TelegramAdapter, TelegramConfig
from frontdesk_im.wecom import WeComAdapter, WeComConfig
from frontdesk_im.whatsapp import WhatsAppAdapter, WhatsAppConfig

#: Every adapter this package provides, by kind.
ADAPTERS = {
    adapter.kind: adapter
    for adapter in (WeComAdapter, TelegramAdapter, SlackAdapter, WhatsAppAdapter)
}

__all__ = [
    "ADAPTERS",
    "SlackAdapter",
    "SlackConfig",
    "TelegramAdapter",
    "TelegramConfig",
    "WeComAdapter",
    "WeComConfig",
    "WhatsAppAdapter",
    "WhatsAppConfig",
    "__version__",
]
