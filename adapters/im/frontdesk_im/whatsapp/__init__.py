"""WhatsApp Cloud API: webhook notifications in, ``/messages`` out (templates outside 24 h)."""

from __future__ import annotations

from frontdesk_im.whatsapp.adapter import WhatsAppAdapter, WhatsAppConfig

__all__ = ["WhatsAppAdapter", "WhatsAppConfig"]
