"""The SDK's HTML sanitiser: formatting and links stay, anything that runs or tracks goes."""

from __future__ import annotations

from frontdesk.channels import sanitise_html


def test_formatting_and_safe_links_stay() -> None:
    out = sanitise_html('<p>Hi <b>there</b>, see <a href="https://example.com/x">this</a></p>')
    assert out is not None
    assert "<b>there</b>" in out and 'href="https://example.com/x"' in out
    assert 'rel="noopener noreferrer"' in out


def test_scripts_handlers_images_and_relative_links_go() -> None:
    out = sanitise_html(
        '<p onclick="steal()">x<script>alert(1)</script>'
        '<img src="https://tracker.example/p.gif"><a href="javascript:alert(1)">a</a>'
        '<a href="/admin">b</a><style>p{}</style><!-- c --></p>'
    )
    assert out is not None
    for bad in (
        "onclick",
        "<script",
        "alert(1)",
        "<img",
        "javascript:",
        "/admin",
        "<style",
        "<!--",
    ):
        assert bad not in out, bad


def test_nothing_left_is_none() -> None:
    assert sanitise_html("<script>x</script>") is None
    assert sanitise_html(None) is None
