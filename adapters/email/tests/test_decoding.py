"""Charsets, RFC 2047 words, HTML to text, and attachment filenames."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk_email.decoding import (
    MAX_FILENAME,
    clean_text,
    decode_bytes,
    decode_words,
    html_to_text,
    sanitise_filename,
)


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        ("朱镕基".encode("gbk"), "gb2312", "朱镕基"),  # GBK-only character under a GB2312 label
        (b"\x93hi\x94", "iso-8859-1", "“hi”"),
        (b"\x93hi\x94", "us-ascii", "“hi”"),
        ("繁體".encode("big5"), "big5", "繁體"),
        ("한국어".encode("euc-kr"), "ks_c_5601-1987", "한국어"),
        ("テスト".encode("cp932"), "shift_jis", "テスト"),
        ("你好".encode(), None, "你好"),
        ("请问发货了吗".encode("gbk"), None, "请问发货了吗"),
        ("café".encode("latin-1"), None, "café"),
        ("café".encode("latin-1"), "utf-8", "caf\ufffd"),
        (b"plain", "x-no-such-charset", "plain"),
        (b"aGk=", "base64_codec", "aGk="),
        (b"abc", "idna", "abc"),
        (b"abc", '"UTF-8"', "abc"),
    ],
)
def test_decode_bytes(data: bytes, charset: str | None, text: str) -> None:
    assert decode_bytes(data, charset) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("=?UTF-8?B?5Lit5paH?=", "中文"),
        ("=?utf-8?q?caf=C3=A9_au_lait?=", "café au lait"),
        ("=?UTF-8?B?5Lit?= =?UTF-8?B?5paH?=", "中文"),
        ("=?UTF-8?B?5Lg=?= =?UTF-8?B?reaWhw==?=", "中文"),  # split inside a character
        ("Re: =?gb2312?B?1tC5+g==?= news", "Re: 中国 news"),
        ("=?utf-8*en?Q?hello?=", "hello"),
        ("=?utf-8?B?5Lit5paH", "=?utf-8?B?5Lit5paH"),  # unterminated: left as it is
        ("=?utf-8?B?5Lit5paH?=\r\n =?iso-8859-1?Q?=E9?=", "中文é"),
        ("a =?utf-8?Q?b?= c", "a b c"),
        ("=?utf-8?B?5Lit5paH?==?utf-8?B?5Lit5paH?=", "中文中文"),
        ("=?unknown-x?Q?abc?=", "abc"),
    ],
)
def test_decode_words(value: str, text: str) -> None:
    assert decode_words(value) == text


@given(st.text())
def test_decode_words_never_fails_and_leaves_no_surrogates_in_clean_text(value: str) -> None:
    out = clean_text(decode_words(value))
    out.encode("utf-8")  # no lone surrogates
    assert "\x00" not in out


def test_html_to_text() -> None:
    html = (
        "<html><head><title>t</title><style>.x{}</style></head><body>"
        "<h1>Order&nbsp;5521</h1><p>Line one<br>line two</p><table><tr><td>a</td><td>b</td></tr>"
        "</table><pre>  keep   spacing</pre><script>alert(1)</script><p>&lt;tag&gt; &amp; "
        "&#20320;</p></body></html>"
    )
    assert (
        html_to_text(html)
        == "Order 5521\n\nLine one\nline two\n\na b\n\nkeep   spacing\n\n<tag> & 你"
    )


@pytest.mark.parametrize(
    ("name", "content_type", "safe"),
    [
        ("report.pdf", "application/pdf", "report.pdf"),
        ("../../etc/passwd", "text/plain", "passwd"),
        ("..\\..\\boot.ini", "text/plain", "boot.ini"),
        ("C:\\Users\\x\\a.doc", "application/msword", "a.doc"),
        ("/abs/path/", "image/png", "attachment-1.png"),
        ("..", "application/octet-stream", "attachment-1.bin"),
        (".htaccess", "text/plain", "htaccess"),
        ("inv\u202eoice.exe", "application/octet-stream", "invoice.exe"),
        ("a\x00b\x07c.txt", "text/plain", "abc.txt"),
        ("tab\there.txt", "text/plain", "tab here.txt"),
        ('what?*<>:|".txt', "text/plain", "what_______.txt"),
        ("CON", "text/plain", "_CON"),
        ("nul.txt", "text/plain", "_nul.txt"),
        ("trailing dots...", "text/plain", "trailing dots"),
        ("=?utf-8?B?5Y+R56WoLnBkZg==?=", "application/pdf", "发票.pdf"),
        ("e\u0301te\u0301.txt", "text/plain", "été.txt"),
        (None, "image/jpeg", "attachment-1.jpg"),
        ("", "application/x-unknown-thing", "attachment-1.bin"),
    ],
)
def test_sanitise_filename(name: str | None, content_type: str, safe: str) -> None:
    assert sanitise_filename(name, content_type, 0) == safe


def test_long_filenames_keep_their_extension() -> None:
    name = "很长的文件名" * 50 + ".xlsx"
    safe = sanitise_filename(name, "application/vnd.ms-excel", 0)
    assert len(safe) == MAX_FILENAME
    assert safe.endswith(".xlsx")


@given(name=st.text(max_size=400) | st.none(), index=st.integers(0, 1000))
def test_any_filename_comes_out_safe(name: str | None, index: int) -> None:
    safe = sanitise_filename(name, "application/octet-stream", index)
    assert 0 < len(safe) <= MAX_FILENAME
    assert "/" not in safe and "\\" not in safe
    assert safe not in (".", "..") and not safe.startswith(".")
    assert not any(c in safe for c in '<>:"|?*')
    assert all(unicodedata.category(c) not in ("Cc", "Cf", "Cs") for c in safe)
    assert safe == safe.strip()
    safe.encode("utf-8")
