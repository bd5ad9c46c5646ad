"""Splitting an agent's reply into parts a provider accepts, and the units providers count in.

Each provider limits one message in its own unit: Telegram in UTF-16 code units,
WeCom in UTF-8 bytes, Slack and WhatsApp in characters. A longer reply is sent
as several messages, cut where a reader would cut it (a blank line, a line
end, a space) rather than mid-word, and refused when it would take more than
``MAX_PARTS`` messages: a wall of messages is worse than asking the agent to
shorten it.
"""

from __future__ import annotations

from collections.abc import Callable

#: The most messages one reply is split into.
MAX_PARTS = 10

Measure = Callable[[str], int]


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units (how Telegram and JavaScript count)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf8_bytes(text: str) -> int:
    """Length in UTF-8 bytes (how WeCom counts)."""
    return len(text.encode("utf-8", "surrogatepass"))


def _longest_prefix(text: str, limit: int, size: Measure) -> int:
    """The most characters of ``text`` whose size is within ``limit`` (at least one)."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if size(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def _cut_at(text: str, end: int) -> int:
    """Where to cut ``text[:end]``: after the last paragraph break, line end or
    space in its second half, or at ``end`` if there is none."""
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, 0, end)
        if at > end // 2:
            return at + len(separator)
    return end


def split_text(text: str, limit: int, size: Measure = len) -> list[str]:
    """``text`` in parts of at most ``limit`` (as ``size`` counts), none blank.

    Whitespace around the cuts and around the whole text is dropped; nothing
    else is. A blank text gives no parts.
    """
    if limit < 4:
        raise ValueError("a limit below 4 cannot hold every character in every unit")
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if size(rest) <= limit:
            parts.append(rest)
            break
        end = _longest_prefix(rest, limit, size)
        cut = _cut_at(rest, end)
        part = rest[:cut].rstrip()
        parts.append(part)
        rest = rest[cut:].lstrip()
    return parts


def too_long(provider: str, text: str, limit: int, unit: str) -> str:
    """The error an agent sees for a reply that would need more than ``MAX_PARTS`` messages."""
    return (
        f"the reply is too long for {provider}: it takes {limit} {unit} per message and this "
        f"channel sends a reply as at most {MAX_PARTS} messages; shorten it "
        f"(it has {len(text)} characters)"
    )
