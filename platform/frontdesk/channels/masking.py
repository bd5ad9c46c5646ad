"""Masking bank-card and identity-document numbers in message text before storage.

Only numbers that pass their check digit are masked, so order numbers and
tracking codes of the same length stay readable.
"""

from __future__ import annotations

import re

# 13–19 digits written as cards are: in one run, in groups of four (4-4-4-4,
# 4-4-4-4-3) or as American Express writes them (4-6-5). A "+" before digits
# is a phone number in E.164, never a card.
_CARD = re.compile(
    r"(?<![\d+-])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{5})"
    r"(?![\d-])"
)
# Chinese resident identity card: 17 digits and a check character (digit or X).
_CN_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")

_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def cn_id_valid(value: str) -> bool:
    """GB 11643-1999 check character over the first 17 digits."""
    body, check = value[:17], value[17].upper()
    total = sum(int(d) * w for d, w in zip(body, _CN_WEIGHTS, strict=True))
    return _CN_CHECK[total % 11] == check


def _mask_card(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = re.sub(r"\D", "", raw)
    if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        return raw
    # Keep the last four, as receipts do, so agent and customer can still
    # tell which card is meant.
    return "[card ****" + digits[-4:] + "]"


def _mask_cn_id(match: re.Match[str]) -> str:
    raw = match.group(0)
    if not cn_id_valid(raw):
        return raw
    return "[ID ****" + raw[-4:].upper() + "]"


def mask_sensitive_numbers(text: str) -> str:
    """Replace valid card and identity numbers in ``text``; leave the rest as it is."""
    if not text:
        return text
    # Identity numbers first: an 18-digit ID can also pass Luhn by chance.
    text = _CN_ID.sub(_mask_cn_id, text)
    return _CARD.sub(_mask_card, text)
