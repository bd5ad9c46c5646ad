"""A customer's language guessed from their words, when nobody gave it.

A guess from the writing system first (Chinese, Japanese, Korean, Cyrillic,
Arabic, Thai, Hebrew, Greek: one script, one likely language), then, for
Latin script, from common short words of a few languages. Short or mixed
text may give nothing: routing then treats the language as unknown rather
than guessing wrong.
"""

from __future__ import annotations

import re

_SCRIPTS: tuple[tuple[str, str], ...] = (
    # Kana before Han: Japanese text mixes both, Chinese has no kana.
    ("ja", r"[\u3040-\u30ff]"),
    ("ko", r"[\uac00-\ud7af\u1100-\u11ff]"),
    ("zh", r"[\u4e00-\u9fff\u3400-\u4dbf]"),
    ("ru", r"[\u0400-\u04ff]"),
    ("ar", r"[\u0600-\u06ff]"),
    ("th", r"[\u0e00-\u0e7f]"),
    ("he", r"[\u0590-\u05ff]"),
    ("el", r"[\u0370-\u03ff]"),
)


def _vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


_WORDS: dict[str, frozenset[str]] = {
    "en": _vocabulary(
        "the and is are my not it to of with for this that you have has was can please "
        "does doesn't don't i"
    ),
    "fr": _vocabulary("le la les est et je ne pas mon ma des une un pour avec vous merci"),
    "de": _vocabulary("der die das ist und ich nicht mein meine ein eine mit für sie bitte"),
    "es": _vocabulary("el la los es y no mi por con para una un está gracias usted"),
}

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def detect(text: str) -> str | None:
    """An ISO 639-1 code, or None when the text does not say clearly."""
    for code, pattern in _SCRIPTS:
        if re.search(pattern, text):
            return code
    words = [w.casefold() for w in _WORD.findall(text)]
    if not words:
        return None
    scores = {code: sum(w in vocab for w in words) for code, vocab in _WORDS.items()}
    best = max(scores.values())
    winners = [code for code, score in scores.items() if score == best]
    # One common word is enough in a subject line; a tie is no answer.
    return winners[0] if best >= 1 and len(winners) == 1 else None
