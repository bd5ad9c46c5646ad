"""Turning what mail programs really send into clean text: charsets, RFC 2047, HTML, filenames.

Nothing here raises on bad input: undecodable bytes become U+FFFD, unknown
charsets are guessed, and every string that leaves is free of NUL, lone
surrogates and other control characters that storage or browsers choke on.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import html
import mimetypes
import re
import unicodedata
from html.parser import HTMLParser

# Labels mail programs use for charsets whose real content is a superset:
# mail labelled GB2312 routinely carries GBK characters, ISO-8859-1 carries
# Windows-1252 quotes, and so on (the WHATWG Encoding Standard makes the same
# substitutions for the web).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "euc-cn": "gb18030",
    "euccn": "gb18030",
    "x-euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "windows-936": "gb18030",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "default": "",
}
# Codecs Python knows that are not text charsets a mail may declare.
_NOT_CHARSETS = {
    "idna",
    "punycode",
    "raw-unicode-escape",
    "unicode-escape",
    "undefined",
    "mbcs",
    "oem",
}


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    if not label or len(label) > 40:
        return None
    try:
        name = codecs.lookup(label).name
        b"".decode(name)  # refuses bytes-to-bytes codecs (base64_codec, zlib_codec)
    except (LookupError, ValueError):
        return None
    return None if name in _NOT_CHARSETS else name


def _mostly_cjk(text: str) -> bool:
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return False
    cjk = sum(
        1
        for c in wide
        if 0x4E00 <= ord(c) <= 0x9FFF
        or 0x3000 <= ord(c) <= 0x303F
        or 0xFF00 <= ord(c) <= 0xFFEF
        or 0x3400 <= ord(c) <= 0x4DBF
    )
    return cjk / len(wide) >= 0.9


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """``data`` as text, by its declared charset when usable, else by a guess.

    Guessing order for undeclared or unknown charsets: UTF-8 (strict), then
    GB18030 when that gives Chinese text, then Windows-1252 (which maps every byte).
    """
    name = _codec(charset)
    if name is not None:
        with contextlib.suppress(Exception):  # a broken codec must not stop the message
            return data.decode(name, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        guess = data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    else:
        if _mostly_cjk(guess):
            return guess
    return data.decode("cp1252", errors="replace")


def from_surrogates(value: str) -> str:
    """Undo the email package's surrogateescape: raw 8-bit header bytes decoded as text."""
    if not any("\udc80" <= c <= "\udcff" for c in value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(value: str) -> str:
    """Line ends as ``\\n``; no NUL, other control characters or lone surrogates."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(lambda m: "" if m.group() < "\ud800" else "\ufffd", value)


def clean_line(value: str) -> str:
    """One line of text (a subject, a name): whitespace runs become one space."""
    value = clean_text(value)
    return " ".join(value.split())


# --- RFC 2047 encoded words --------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", "").replace("\n", "")


def _b_decode(payload: str) -> bytes:
    data = re.sub(r"[^A-Za-z0-9+/]", "", payload)
    # Lenient like mail programs: a missing pad or one stray character is tolerated.
    for cut in range(4):
        chunk = data[: len(data) - cut] if cut else data
        try:
            return base64.b64decode(chunk + "=" * (-len(chunk) % 4))
        except (binascii.Error, ValueError):
            continue
    return b""


def _q_decode(payload: str) -> bytes:
    raw = payload.replace("_", " ").encode("utf-8", "surrogateescape")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


def decode_words(value: str) -> str:
    """An unstructured header value (a subject, a display name) as text.

    Handles RFC 2047 encoded words in any charset, adjacent words split in the
    middle of a multi-byte character (they are joined before decoding, as
    mail programs expect), and raw 8-bit bytes sent without any encoding.
    """
    value = from_surrogates(unfold(value))
    pieces: list[tuple[str | None, bytes | str]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        follows_word = bool(pieces) and pieces[-1][0] is not None
        if between and not (follows_word and between.isspace()):
            pieces.append((None, between))
        charset = match.group(1).split("*", 1)[0].lower()
        payload = match.group(3)
        data = _b_decode(payload) if match.group(2) in "bB" else _q_decode(payload)
        last = pieces[-1] if pieces else None
        if last is not None and last[0] == charset and isinstance(last[1], bytes):
            pieces[-1] = (charset, last[1] + data)
        else:
            pieces.append((charset, data))
        position = match.end()
    pieces.append((None, value[position:]))
    out = []
    for charset, piece in pieces:
        out.append(decode_bytes(piece, charset) if isinstance(piece, bytes) else piece)
    return "".join(out)


# --- HTML to text ------------------------------------------------------------

_BLOCK = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
    "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
    "table", "tr", "ul",
}  # fmt: skip
_SKIP = {"script", "style", "head", "title", "template", "noscript", "svg"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag == "pre":
            self._pre += 1
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in _BLOCK and tag not in ("br", "li"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        self.parts.append(data if self._pre else re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    """Readable plain text from an HTML body, for messages that have no text part."""
    try:
        parser = _TextExtractor()
        parser.feed(markup)
        parser.close()
        text = "".join(parser.parts)
    except Exception:  # html.parser has asserted on odd markup before
        text = html.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = [line.strip() for line in clean_text(text).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- attachment filenames ----------------------------------------------------

#: The longest filename kept, in characters (extension included).
MAX_FILENAME = 120
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_UNSAFE = re.compile(r'[<>:"|?*]')


def sanitise_filename(name: str | None, content_type: str, index: int) -> str:
    """A filename safe to store, show and download.

    No directories (a ``../../x`` or ``C:\\x`` keeps only its last part), no
    control or invisible formatting characters (the right-to-left override that
    makes ``exe.pdf`` out of ``fdp.exe``), none of ``<>:"|?*``, no leading dots,
    no reserved device names, at most ``MAX_FILENAME`` characters with the
    extension kept; RFC 2047 words (which Outlook puts in filenames) decoded.
    Empty or missing: ``attachment-<n><extension of the content type>``.
    """
    text = ""
    if name:
        text = decode_words(name) if "=?" in name else from_surrogates(name)
        text = unicodedata.normalize("NFC", text)
        text = text.replace("\\", "/").rsplit("/", 1)[-1]
        text = "".join(
            " " if unicodedata.category(c) in ("Zs", "Zl", "Zp") or c in "\t\n\r" else c
            for c in text
            if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn") or c in "\t\n\r"
        )
        text = _UNSAFE.sub("_", " ".join(text.split())).strip(" .")
        if _RESERVED.match(text):
            text = "_" + text
    if not text:
        extension = mimetypes.guess_extension(content_type, strict=False) or ".bin"
        text = f"attachment-{index + 1}{extension}"
    if len(text) > MAX_FILENAME:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 16 and stem:
            text = stem[: MAX_FILENAME - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            text = text[:MAX_FILENAME].rstrip(" .")
    return text
