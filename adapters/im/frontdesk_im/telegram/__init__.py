"""Telegram: a bot's webhook updates in, ``sendMessage`` out."""

from __future__ import annotations

from frontdesk_im.telegram.adapter import TelegramAdapter, TelegramConfig

__all__ = ["TelegramAdapter", "TelegramConfig"]
