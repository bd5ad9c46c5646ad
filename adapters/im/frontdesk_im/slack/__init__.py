"""Slack: Events API callbacks in, ``chat.postMessage`` out (Slack Connect included)."""

from __future__ import annotations

from frontdesk_im.slack.adapter import SlackAdapter, SlackConfig
from frontdesk_im.slack.signing import sign, verify_signature

__all__ = ["SlackAdapter", "SlackConfig", "sign", "verify_signature"]
