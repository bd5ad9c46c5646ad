"""Frontdesk's web chat channel: an embeddable widget, live conversations, verified visitors.

The widget (``/channels/webchat/widget.js``) talks to a socket per channel
(``/channels/webchat/ws/<public id>``); visitors' messages go through the
platform's intake like every channel's, agents' replies come back through
the platform's pub/sub. The protocol and the settings are in README.md.
"""

from __future__ import annotations

from frontdesk_webchat._version import __version__
from frontdesk_webchat.adapter import WebchatAdapter
from frontdesk_webchat.config import WebchatConfig
from frontdesk_webchat.signing import SIGNATURE_HEADER, identity_hash, sign_body

__all__ = [
    "SIGNATURE_HEADER",
    "WebchatAdapter",
    "WebchatConfig",
    "__version__",
    "identity_hash",
    "sign_body",
]
