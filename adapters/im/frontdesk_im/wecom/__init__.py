"""WeCom (企业微信): a self-built app's encrypted callbacks in, app messages out."""

from __future__ import annotations

from frontdesk_im.wecom.adapter import WeComAdapter, WeComConfig
from frontdesk_im.wecom.crypto import DecryptionFailed, WeComCrypto

__all__ = ["DecryptionFailed", "WeComAdapter", "WeComConfig", "WeComCrypto"]
