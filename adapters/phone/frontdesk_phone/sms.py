"""Splitting a reply into the SMS messages a provider accepts."""

from __future__ import annotations

#: The longest body one API request may carry: Twilio's Messages resource
#: takes 1,600 characters; Vonage's Messages API 1,000 for SMS. (Either
#: splits a body into 160/70-character segments on the air by itself.)
MAX_BODY = {"twilio": 1600, "vonage": 1000}


def split_sms(text: str, limit: int) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at whitespace where one is near."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit + 1)
        cut = cut if cut > 0 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts
