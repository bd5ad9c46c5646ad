"""One HTML sanitiser for every channel (public SDK), and the intake's second pass.

nh3 (Rust's ammonia) rather than rules of our own: sanitising HTML is a
problem with a long history of bypasses, best left to a maintained library.
"""

from __future__ import annotations

import nh3

# Customer HTML is shown to agents in the inbox: keep formatting and links, drop
# scripts, styles, event handlers and images (remote images are tracking pixels
# and leak agents' addresses); links open with rel="noopener noreferrer".
# Relative URLs are refused: they would resolve against the inbox's own origin.
_CLEANER = nh3.Cleaner(
    tags=nh3.ALLOWED_TAGS - {"img", "map", "area"},
    url_schemes={"http", "https", "mailto", "tel"},
    url_relative="deny",
    strip_comments=True,
)


def sanitise_html(html: str | None) -> str | None:
    """Customer HTML made safe to show in the inbox; ``None`` if nothing is left."""
    if html is None:
        return None
    clean = _CLEANER.clean(html)
    return clean if clean.strip() else None
