"""Frontdesk's phone channel: calls, missed calls, voicemail and SMS through Twilio or Vonage.

Calls become call logs on the caller's ticket (one per call, whatever order the
provider's webhooks come in), missed calls and voicemails callback tasks, SMS
messages; agents' replies go out as SMS. See README.md.
"""

from __future__ import annotations

from frontdesk_phone._version import __version__
from frontdesk_phone.adapter import PhoneAdapter
from frontdesk_phone.config import PhoneConfig

__all__ = ["PhoneAdapter", "PhoneConfig", "__version__"]
