"""Frontdesk's email channel: mail in by SMTP/LMTP, IMAP or an inbound-parse webhook, out by SMTP.

Uses only the public SDK (``frontdesk.channels``). What it accepts and sends,
and how threading and loop protection work, is in README.md.
"""

from __future__ import annotations

from frontdesk_email._version import __version__
from frontdesk_email.adapter import EmailAdapter
from frontdesk_email.config import EmailConfig
from frontdesk_email.decoding import sanitise_filename
from frontdesk_email.hints import make_message_id
from frontdesk_email.inbound import TOKEN_HEADER

__all__ = [
    "TOKEN_HEADER",
    "EmailAdapter",
    "EmailConfig",
    "__version__",
    "make_message_id",
    "sanitise_filename",
]
