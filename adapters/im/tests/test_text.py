"""Splitting long replies: every part within the provider's limit, in its unit, nothing lost."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk_im._text import MAX_PARTS, split_text, utf8_bytes, utf16_units

words = st.lists(
    st.text(min_size=1, max_size=12) | st.sampled_from(["\n", "\n\n", " ", "📦", "退货", "a" * 60]),
    max_size=80,
).map("".join)
measures = st.sampled_from([len, utf16_units, utf8_bytes])


def squeezed(text: str) -> str:
    return re.sub(r"\s", "", text)


@given(text=words, limit=st.integers(4, 120), size=measures)
def test_parts_fit_are_never_blank_and_lose_nothing_but_whitespace(
    text: str, limit: int, size
) -> None:
    parts = split_text(text, limit, size)
    assert all(size(p) <= limit for p in parts)
    assert all(p.strip() == p and p for p in parts)
    assert squeezed("".join(parts)) == squeezed(text)


@given(text=words, size=measures)
def test_text_that_fits_is_one_part(text: str, size) -> None:
    limit = max(4, size(text))
    assert split_text(text, limit, size) == ([text.strip()] if text.strip() else [])


def test_cuts_prefer_paragraphs_then_lines_then_spaces() -> None:
    text = "first paragraph here\n\nsecond one, a bit longer"
    assert split_text(text, 30) == ["first paragraph here", "second one, a bit longer"]
    assert split_text("one two three four", 10) == ["one two", "three four"]
    assert split_text("abcdefghij" * 3, 10) == ["abcdefghij"] * 3  # no space: a hard cut


def test_the_units() -> None:
    assert (len("📦"), utf16_units("📦"), utf8_bytes("📦")) == (1, 2, 4)
    assert (len("退"), utf16_units("退"), utf8_bytes("退")) == (1, 1, 3)
    # Two UTF-16 units each: an emoji is never cut in half.
    assert split_text("📦" * 5, 4, utf16_units) == ["📦📦", "📦📦", "📦"]


def test_blank_text_has_no_parts_and_small_limits_are_refused() -> None:
    assert split_text(" \n\t ", 10) == []
    with pytest.raises(ValueError, match="limit"):
        split_text("x", 3)
    assert MAX_PARTS == 10
