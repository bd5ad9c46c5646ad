"""A corpus of real-world-shaped mail, built here (no files): what mail programs, autoresponders
and mail servers actually send, including the broken parts.

Each ``Case`` says what ``parse`` must make of it (a message, events, nothing,
or a ``MalformedPayload``) and may check more.
"""

# (test secrets and reply tokens are fixed strings on purpose)

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

from frontdesk.channels import Parsed
from frontdesk_email.hints import make_message_id

OUR_DOMAIN = "acme.example"
SUPPORT = "support@acme.example"
#: A Message-ID we generated for a reply carrying reply token "tok42".
OURS = make_message_id(delivery_id="out-1", reply_token="tok42", domain=OUR_DOMAIN)
OURS_NO_TOKEN = make_message_id(delivery_id="out-2", reply_token=None, domain=OUR_DOMAIN)


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode()


def word(text: str, charset: str, encoding: str = "B") -> str:
    data = text.encode(charset)
    if encoding == "B":
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    quoted = "".join(
        chr(b) if b < 0x80 and chr(b).isalnum() else "_" if b == 0x20 else f"={b:02X}" for b in data
    )
    return f"=?{charset}?Q?{quoted}?="


def mail(headers: str, body: str | bytes = "Hello\n", *, crlf: bool = True) -> bytes:
    head = headers.strip("\n") + "\n\n"
    data = head.encode("utf-8") + (body.encode("utf-8") if isinstance(body, str) else body)
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") if crlf else data


BASIC = (
    "From: Li Wei <li.wei@example.com>\nTo: Acme Support <support@acme.example>\n"
    "Date: Mon, 02 Mar 2026 09:30:00 +0800\nMIME-Version: 1.0\n"
)

Check = Callable[[Parsed], None]


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    #: "message", "events", "nothing" or "malformed"
    expect: str = "message"
    check: Check | None = None


def _msg(parsed: Parsed) -> object:
    return parsed.messages[0]


CASES: list[Case] = []


def case(name: str, raw: bytes, expect: str = "message") -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        CASES.append(Case(name, raw, expect, check))
        return check

    return register


def plain(name: str, raw: bytes, expect: str = "message") -> None:
    CASES.append(Case(name, raw, expect))


# --- charsets ------------------------------------------------------------------------


@case(
    "utf8-plain",
    mail(
        BASIC + "Subject: 订单问题\nMessage-ID: <utf8-1@mail.example.com>\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit",
        "您好，我的订单还没到。\n",
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.text == "您好，我的订单还没到。"
    assert m.subject == "订单问题"
    assert m.external_id == "<utf8-1@mail.example.com>"


# GB2312-labelled, carrying a GBK-only character (镕), as Chinese clients send.
_GB = "关于发票的问题 朱镕基"


@case(
    "gb2312-subject-and-body",
    mail(
        BASIC + f"Subject: {word(_GB, 'gbk').replace('gbk', 'gb2312')}\n"
        "Message-ID: <gb-1@mail.example.cn>\n"
        "Content-Type: text/plain; charset=gb2312\nContent-Transfer-Encoding: base64",
        b64(_GB.encode("gbk")),
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.subject == _GB
    assert m.text == _GB


@case(
    "gbk-q-encoded-subject",
    mail(
        BASIC + f"Subject: {word('退货申请', 'gbk', 'Q')} [CS-2026-000042]\n"
        "Content-Type: text/plain; charset=GBK\nContent-Transfer-Encoding: quoted-printable",
        "".join(f"={b:02X}" for b in "请帮我退货".encode("gbk")),
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.subject == "退货申请 [CS-2026-000042]"
    assert m.text == "请帮我退货"
    assert m.thread.ticket_number == "CS-2026-000042"


@case(
    "gb18030-body",
    mail(
        BASIC + "Subject: test\nContent-Type: text/plain; charset=gb18030\n"
        "Content-Transfer-Encoding: base64",
        b64("𠀀 生僻字".encode("gb18030")),
    ),
)
def _(p: Parsed) -> None:
    assert p.messages[0].text == "𠀀 生僻字"


# One UTF-8 character split across two encoded words (seen from some webmail).
_SPLIT = "中文".encode()


@case(
    "encoded-word-split-mid-character",
    mail(
        BASIC + f"Subject: =?UTF-8?B?{base64.b64encode(_SPLIT[:2]).decode()}?=\n"
        f" =?UTF-8?B?{base64.b64encode(_SPLIT[2:]).decode()}?="
    ),
)
def _(p: Parsed) -> None:
    assert p.messages[0].subject == "中文"


@case(
    "iso-8859-1-with-cp1252-quotes",
    mail(
        BASIC + "Subject: =?iso-8859-1?Q?Caf=E9_cr=E8me?=\n"
        "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable",
        "=93Caf=E9=94 =96 cr=E8me br=FBl=E9e",
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.subject == "Café crème"
    assert m.text == "“Café” – crème brûlée"


@case(
    "missing-charset-utf8",
    mail(BASIC + "Subject: x\nContent-Type: text/plain", "naïve café ✓\n".encode()),
)
def _(p: Parsed) -> None:
    assert p.messages[0].text == "naïve café ✓"


@case(
    "missing-charset-gbk",
    mail(BASIC + "Subject: x\nContent-Type: text/plain", "你好，请问发货了吗".encode("gbk")),
)
def _(p: Parsed) -> None:
    assert p.messages[0].text == "你好，请问发货了吗"


@case(
    "unknown-charset",
    mail(BASIC + "Subject: x\nContent-Type: text/plain; charset=x-klingon", "plain words\n"),
)
def _(p: Parsed) -> None:
    assert p.messages[0].text == "plain words"


@case(
    "bytes-codec-as-charset",
    mail(
        BASIC + "Subject: =?zlib_codec?B?eJzLSM3JyQcABiwCFQ==?=\n"
        "Content-Type: text/plain; charset=base64_codec",
        "aGVsbG8=\n",
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.text == "aGVsbG8="  # not decoded as base64: that is no charset
    assert m.subject is not None


@case(
    "raw-8bit-utf8-headers",
    mail(
        "From: 张三 <zhang@example.com>\nTo: support@acme.example\nSubject: 发票抬头错了\n"
        "Content-Type: text/plain; charset=utf-8",
        "见附件",
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.subject == "发票抬头错了"
    assert m.sender.display_name == "张三"


@case(
    "raw-8bit-gbk-subject",
    b"From: a@example.com\r\nTo: support@acme.example\r\nSubject: "
    + "投诉".encode("gbk")
    + b"\r\n\r\nbody\r\n",
)
def _(p: Parsed) -> None:
    assert p.messages[0].subject == "投诉"


@case(
    "big5-shift-jis-euc-kr-subjects",
    mail(
        BASIC + f"Subject: {word('繁體', 'big5')} {word('日本語', 'shift_jis')} "
        f"{word('한국어', 'euc-kr')}"
    ),
)
def _(p: Parsed) -> None:
    assert p.messages[0].subject == "繁體日本語한국어"


# --- broken encodings ----------------------------------------------------------------


@case(
    "broken-base64-body",
    mail(
        BASIC + "Subject: x\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64",
        "5L2g5aW9!!!#\n5LiW55WM\n=",
    ),
)
def _(p: Parsed) -> None:
    assert p.messages[0].text.startswith("你好")


@case(
    "broken-utf8-bytes",
    mail(BASIC + "Subject: x\nContent-Type: text/plain; charset=utf-8", b"ok \xff\xfe bad \xc3"),
)
def _(p: Parsed) -> None:
    assert "ok" in p.messages[0].text
    assert "\ufffd" in p.messages[0].text


plain(
    "broken-quoted-printable",
    mail(
        BASIC + "Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable",
        "=E4=BD=A0=G1 broken = soft=\nbreak=ZZ\n",
    ),
)


@case(
    "broken-encoded-words",
    mail(BASIC + "Subject: =?utf-8?B?!!!?= =?utf-8?Q?caf=C3?= =?nope?X?abc?= tail"),
)
def _(p: Parsed) -> None:
    assert p.messages[0].subject is not None and "tail" in p.messages[0].subject


plain(
    "unknown-transfer-encoding",
    mail(
        BASIC + "Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: x-uuencode",
        "begin 644 x\n#86)C\n`\nend\n",
    ),
)


@case(
    "nul-and-control-characters",
    mail(BASIC + "Subject: a\x01b\nContent-Type: text/plain", b"zero\x00byte \x1b[31mred\x07"),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert "\x00" not in m.text and "\x1b" not in m.text and "\x07" not in m.text
    assert m.subject == "ab"


@case(
    "bare-lf-line-endings",
    mail(BASIC + "Subject: lf only\nContent-Type: text/plain", "one\ntwo\n", crlf=False),
)
def _(p: Parsed) -> None:
    assert p.messages[0].text == "one\ntwo"


@case(
    "folded-long-headers",
    mail(
        "From:\n\tLi Wei\n <li.wei@example.com>\nTo: support@acme.example\n"
        "Subject: a very long subject that goes on\n and on\n\tand on " + "x" * 1200
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.sender.value == "li.wei@example.com"
    assert m.subject is not None and m.subject.startswith("a very long subject that goes on and on")


# --- structure -----------------------------------------------------------------------


@case(
    "html-only",
    mail(
        BASIC + "Subject: x\nContent-Type: text/html; charset=utf-8",
        "<html><head><style>p{}</style><title>t</title></head><body><p>Hello&nbsp;<b>there</b></p>"
        "<ul><li>one</li><li>two</li></ul><script>steal()</script><img src=https://t.example/p.gif>"
        "</body></html>",
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.text == "Hello there\n\n- one\n- two"
    assert "steal" not in m.text and "p{}" not in m.text
    assert m.html is not None and "<script" not in m.html and "<img" not in m.html


@case(
    "alternative-text-and-html",
    mail(
        BASIC + 'Subject: x\nContent-Type: multipart/alternative; boundary="alt"',
        "--alt\nContent-Type: text/plain; charset=utf-8\n\nplain version\n"
        "--alt\nContent-Type: text/html; charset=utf-8\n\n<p onclick=x()>html <i>version</i></p>\n"
        "--alt--\n",
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.text == "plain version"
    assert m.html is not None and "onclick" not in m.html and "<i>version</i>" in m.html


_PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108020000009077")


@case(
    "nested-mixed-alternative-related",
    mail(
        BASIC + 'Subject: nested\nContent-Type: multipart/mixed; boundary="m"',
        '--m\nContent-Type: multipart/alternative; boundary="a"\n\n'
        "--a\nContent-Type: text/plain; charset=utf-8\n\nsee the picture\n"
        '--a\nContent-Type: multipart/related; boundary="r"\n\n'
        "--r\nContent-Type: text/html; charset=utf-8\n\n<p>see <img src=cid:pic1></p>\n"
        "--r\nContent-Type: image/png\nContent-ID: <pic1>\nContent-Transfer-Encoding: base64\n\n"
        + b64(_PNG)
        + "--r--\n--a--\n"
        "--m\nContent-Type: application/pdf; name=invoice.pdf\n"
        "Content-Disposition: attachment; filename=invoice.pdf\n"
        "Content-Transfer-Encoding: base64\n\n" + b64(b"%PDF-1.4 fake") + "--m--\n",
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.text == "see the picture"
    assert [(a.filename, a.inline, a.content_type) for a in m.attachments] == [
        ("attachment-1.png", True, "image/png"),
        ("invoice.pdf", False, "application/pdf"),
    ]
    assert m.attachments[0].content == _PNG
    assert m.attachments[1].content == b"%PDF-1.4 fake"


@case(
    "apple-mail-text-image-text",
    mail(
        BASIC + "Subject: photo\nX-Mailer: Apple Mail (2.3774)\n"
        'Content-Type: multipart/mixed; boundary="Apple-Mail=_1"',
        "--Apple-Mail=_1\nContent-Type: text/plain; charset=us-ascii\n\nBefore the photo\n"
        "--Apple-Mail=_1\nContent-Disposition: inline; filename=IMG_0001.jpeg\n"
        "Content-Type: image/jpeg; name=IMG_0001.jpeg\nContent-Transfer-Encoding: base64\n\n"
        + b64(b"\xff\xd8\xff\xe0jpeg")
        + "--Apple-Mail=_1\nContent-Type: text/plain; charset=us-ascii\n\nAfter the photo\n"
        "--Apple-Mail=_1--\n",
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.text == "Before the photo\n\nAfter the photo"
    assert [(a.filename, a.inline) for a in m.attachments] == [("IMG_0001.jpeg", True)]


_FORWARDED = mail(
    "From: Boss <boss@example.com>\nTo: li.wei@example.com\nSubject: 原始邮件\n"
    "Message-ID: <inner@example.com>\nContent-Type: text/plain; charset=utf-8",
    "the original text\n",
)


@case(
    "forwarded-as-attachment",
    mail(
        BASIC + 'Subject: Fwd: see below\nContent-Type: multipart/mixed; boundary="f"',
        b"--f\r\nContent-Type: text/plain\r\n\r\nFYI\r\n--f\r\nContent-Type: message/rfc822\r\n\r\n"
        + _FORWARDED
        + b"\r\n--f--\r\n",
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.text == "FYI"
    [attachment] = m.attachments
    assert attachment.filename == "原始邮件.eml"
    assert attachment.content_type == "message/rfc822"
    assert attachment.content is not None and b"the original text" in attachment.content


@case(
    "forwarded-inline-gmail",
    mail(
        BASIC + "Subject: Fwd: order\nContent-Type: text/plain; charset=utf-8",
        "Please help\n\n---------- Forwarded message ---------\nFrom: Shop <shop@example.com>\n"
        "Date: Mon, 2 Mar 2026\nSubject: order\n\nYour order shipped\n",
    ),
)
def _(p: Parsed) -> None:
    assert "Forwarded message" in p.messages[0].text
    assert p.messages[0].attachments == []


@case(
    "attachment-only",
    mail(
        BASIC + "Subject: scan\nContent-Type: application/pdf\n"
        "Content-Disposition: attachment; filename=scan.pdf\nContent-Transfer-Encoding: base64",
        b64(b"%PDF"),
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.text == ""
    assert [a.filename for a in m.attachments] == ["scan.pdf"]


@case(
    "smime-signed",
    mail(
        BASIC + 'Subject: signed\nContent-Type: multipart/signed; protocol="application/pkcs7-'
        'signature"; micalg=sha-256; boundary="s"',
        "--s\nContent-Type: text/plain\n\nsigned text\n--s\nContent-Type: application/pkcs7-"
        "signature; name=smime.p7s\nContent-Transfer-Encoding: base64\n\nMIIB\n--s--\n",
    ),
)
def _(p: Parsed) -> None:
    assert p.messages[0].text == "signed text"
    assert p.messages[0].attachments == []


@case(
    "calendar-invite",
    mail(
        BASIC + 'Subject: meeting\nContent-Type: multipart/mixed; boundary="c"',
        "--c\nContent-Type: text/plain\n\nSee invite\n--c\nContent-Type: text/calendar; "
        "method=REQUEST\n\nBEGIN:VCALENDAR\nEND:VCALENDAR\n--c--\n",
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.text == "See invite"
    assert [a.content_type for a in m.attachments] == ["text/calendar"]
    assert m.attachments[0].filename.startswith("attachment-1")


def _nested(depth: int) -> str:
    body = "innermost text\n"
    for level in range(depth):
        body = (
            f'Content-Type: multipart/mixed; boundary="n{level}"\n\n--n{level}\n{body}\n'
            f"--n{level}--\n"
        )
    return body


@case("nested-too-deep", mail(BASIC + "Subject: deep\n" + _nested(40).strip("\n")))
def _(p: Parsed) -> None:
    assert p.messages[0].metadata["skipped_parts"] >= 1


_HUGE_TEXT = "lorem ipsum " * 200_000  # 2.4 million characters


@case(
    "huge-text-body",
    mail(BASIC + "Subject: log\nContent-Type: text/plain; charset=utf-8", _HUGE_TEXT),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert len(m.text) == 1_000_000
    assert m.metadata["truncated"] == ["text"]


# --- attachments and filenames -------------------------------------------------------


def _attachment(filename_params: str, data: bytes = b"data") -> bytes:
    return mail(
        BASIC + 'Subject: file\nContent-Type: multipart/mixed; boundary="x"',
        "--x\nContent-Type: text/plain\n\nattached\n"
        f"--x\nContent-Type: application/octet-stream\nContent-Disposition: attachment;"
        f" {filename_params}\nContent-Transfer-Encoding: base64\n\n{b64(data)}--x--\n",
    )


def _filenames(*expected: str) -> Check:
    def check(p: Parsed) -> None:
        assert [a.filename for a in p.messages[0].attachments] == list(expected)

    return check


CASES += [
    Case(
        "rfc2231-filename-continuations",
        _attachment("filename*0*=UTF-8''%E5%90%88%E5%90%8C; filename*1*=%E8%8D%89%E6%A1%88.docx"),
        check=_filenames("合同草案.docx"),
    ),
    Case(
        "rfc2231-gb2312-filename",
        _attachment("filename*=gb2312''%C9%CF%BA%A3%B1%A8%B8%E6.xlsx"),
        check=_filenames("上海报告.xlsx"),
    ),
    Case(
        "outlook-rfc2047-filename",
        _attachment(f'filename="{word("发票.pdf", "utf-8")}"'),
        check=_filenames("发票.pdf"),
    ),
    Case(
        "path-traversal-filename",
        _attachment('filename="../../etc/passwd"'),
        check=_filenames("passwd"),
    ),
    Case(
        "windows-path-filename",
        _attachment('filename="C:\\\\Users\\\\li\\\\Desktop\\\\report.doc"'),
        check=_filenames("report.doc"),
    ),
    Case(
        "right-to-left-override-filename",
        _attachment("filename*=UTF-8''invoice%E2%80%AEfdp.exe"),
        check=_filenames("invoicefdp.exe"),
    ),
    Case(
        "reserved-and-dotted-filename",
        _attachment('filename="...CON.txt"'),
        check=_filenames("_CON.txt"),
    ),
    Case("no-filename", _attachment("size=4"), check=_filenames("attachment-1.bin")),
]

_TWENTY_MB = bytes(range(256)) * (20 * 1024 * 1024 // 256)


@case("twenty-mb-attachment-over-the-limit", _attachment('filename="backup.zip"', _TWENTY_MB))
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.text == "attached"
    [attachment] = m.attachments
    assert attachment.content is None
    assert attachment.size == len(_TWENTY_MB)
    [refused] = m.metadata["refused_attachments"]
    assert refused["filename"] == "backup.zip" and "limit" in refused["reason"]


# --- threading -----------------------------------------------------------------------


@case(
    "gmail-reply",
    mail(
        "From: Li Wei <li.wei@gmail.com>\nTo: Acme Support <support@acme.example>\n"
        f"Subject: Re: Order 5521 [CS-2026-000042]\nMessage-ID: <CAF=abc123@mail.gmail.com>\n"
        f"In-Reply-To: {OURS}\nReferences: <first@mail.gmail.com> {OURS}\n"
        'Content-Type: multipart/alternative; boundary="000000000000"',
        "--000000000000\nContent-Type: text/plain; charset=UTF-8\n\nThanks!\n\n"
        "On Mon, Mar 2, 2026 at 9:30 AM Acme Support <support@acme.example> wrote:\n"
        "> Your order shipped.\n--000000000000\nContent-Type: text/html; charset=UTF-8\n\n"
        '<div dir="ltr">Thanks!</div><div class="gmail_quote">On … wrote:<blockquote>'
        "Your order shipped.</blockquote></div>\n--000000000000--\n",
    ),
)
def _(p: Parsed) -> None:
    t = p.messages[0].thread
    assert t.reply_token == "tok42"
    assert t.in_reply_to == [OURS]
    assert t.references == ["<first@mail.gmail.com>", OURS]
    assert t.ticket_number == "CS-2026-000042"
    assert t.conversation_id is None


@case(
    "outlook-reply",
    mail(
        'From: Li Wei <li.wei@outlook.com>\nTo: "Acme Support" <support@acme.example>\n'
        "Subject: RE: Order 5521 [CS-2026-000042]\nThread-Topic: Order 5521\n"
        "Thread-Index: AQHZ1234567890==\n"
        "Message-ID: <AM0PR01MB1234ABCD@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>\n"
        f"In-Reply-To: {OURS_NO_TOKEN}\nReferences: {OURS_NO_TOKEN}\n"
        'Content-Type: text/plain; charset="us-ascii"\nContent-Language: en-US',
        "Thanks\n\nFrom: Acme Support <support@acme.example>\nSent: Monday, March 2, 2026\n"
        "To: Li Wei\nSubject: Order 5521\n\nYour order shipped.\n",
    ),
)
def _(p: Parsed) -> None:
    t = p.messages[0].thread
    assert t.reply_token is None  # a d. id carries no token, only the id itself
    assert t.in_reply_to == [OURS_NO_TOKEN]


@case(
    "apple-mail-reply-subject-changed",
    mail(
        "From: Li Wei <li.wei@icloud.com>\nTo: support@acme.example\n"
        "Subject: Something else entirely\nMessage-Id: <6F1A@icloud.com>\n"
        f"In-Reply-To: {OURS}\nReferences: {OURS}\nX-Mailer: Apple Mail (2.3774.300.61.1.2)\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable",
        "New question=0A=0A> On 2 Mar 2026, at 09:30, Acme Support wrote:\n",
    ),
)
def _(p: Parsed) -> None:
    m = p.messages[0]
    assert m.thread.reply_token == "tok42"
    assert m.thread.ticket_number is None
    assert m.external_id == "<6F1A@icloud.com>"


@case(
    "plus-address-reply",
    mail(
        "From: li.wei@example.com\nTo: Acme Support <support+AbC-123_x@acme.example>\n"
        "Cc: someone+else@example.com\nSubject: more info"
    ),
)
def _(p: Parsed) -> None:
    assert p.messages[0].thread.reply_token == "AbC-123_x"


@case(
    "in-reply-to-with-junk",
    mail(BASIC + 'Subject: x\nIn-Reply-To: Your message of "Mon" <a@b.example> (comment)'),
)
def _(p: Parsed) -> None:
    assert p.messages[0].thread.in_reply_to == ["<a@b.example>"]


# --- auto-replies and noise ----------------------------------------------------------


def _auto(reason: str) -> Check:
    def check(p: Parsed) -> None:
        assert p.messages[0].metadata.get("auto") == reason

    return check


CASES += [
    Case(
        "gmail-vacation",
        mail(BASIC + "Subject: Out of office\nAuto-Submitted: auto-replied\nPrecedence: bulk"),
        check=_auto("auto-submitted: auto-replied"),
    ),
    Case(
        "outlook-oof",
        mail(
            BASIC + "Subject: Automatic reply: Order 5521\nX-Auto-Response-Suppress: All\n"
            "X-MS-Exchange-Inbox-Rules-Loop: li.wei@example.com"
        ),
        check=_auto("x-auto-response-suppress"),
    ),
    Case(
        "precedence-junk",
        mail(BASIC + "Subject: deals\nPrecedence: junk"),
        check=_auto("precedence: junk"),
    ),
    Case(
        "mailing-list",
        mail(BASIC + "Subject: [list] hi\nList-Id: <users.lists.example.com>"),
        check=_auto("list"),
    ),
    Case("x-autoreply", mail(BASIC + "Subject: re\nX-Autoreply: yes"), check=_auto("x-autoreply")),
    Case(
        "x-autorespond",
        mail(BASIC + "Subject: re\nX-Autorespond: vacation"),
        check=_auto("x-autorespond"),
    ),
    Case(
        "qq-auto-reply-subject",
        mail(BASIC + "Subject: 自动回复: 您的来信已收到"),
        check=_auto("auto-reply-subject"),
    ),
    Case(
        "auto-submitted-no-is-a-person",
        mail(BASIC + "Subject: hi\nAuto-Submitted: no"),
        check=lambda p: None if "auto" not in p.messages[0].metadata else _fail("auto"),
    ),
    Case(
        "our-own-message-came-back",
        mail(BASIC + f"Subject: Re: x\nMessage-ID: {OURS}"),
        check=_auto("own-message-id"),
    ),
    Case(
        "from-our-own-address",
        mail("From: support@acme.example\nTo: support@acme.example\nSubject: loop"),
        check=_auto("own-address"),
    ),
    Case(
        "non-dsn-bounce-from-mailer-daemon",
        mail(
            "From: MAILER-DAEMON@mx.example.com\nTo: support@acme.example\n"
            "Subject: failure notice\nReturn-Path: <>",
            "Hi. This is the qmail-send program. I'm afraid I wasn't able to deliver ...\n",
        ),
        check=_auto("mailer-daemon"),
    ),
    Case(
        "noreply-sender",
        mail("From: Shop <no-reply@shop.example>\nTo: support@acme.example\nSubject: receipt"),
        check=_auto("no-reply"),
    ),
]


def _fail(what: str) -> None:
    raise AssertionError(what)


# --- bounces -------------------------------------------------------------------------


def dsn(
    *recipients: tuple[str, str, str], original: str = OURS, headers_only: bool = False
) -> bytes:
    blocks = "".join(
        f"\nFinal-Recipient: rfc822; {address}\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {status[0]}50 {status} mailbox unavailable\n"
        for address, action, status in recipients
    )
    returned = (
        f"--d\nContent-Type: text/rfc822-headers\n\nMessage-ID: {original}\nSubject: Re: x\n\n"
        if headers_only
        else f"--d\nContent-Type: message/rfc822\n\nMessage-ID: {original}\nFrom: {SUPPORT}\n"
        "Subject: Re: x\n\nour reply\n\n"
    )
    return mail(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\nTo: support@acme.example\n"
        "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn-1@mx.example.com>\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0000\nAuto-Submitted: auto-replied\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="d"',
        "--d\nContent-Type: text/plain\n\nI'm sorry to have to inform you...\n"
        "--d\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n"
        + blocks
        + "\n"
        + returned
        + "--d--\n",
    )


@case("dsn-one-failed", dsn(("li.wei@example.com", "failed", "5.1.1")), expect="events")
def _(p: Parsed) -> None:
    [event] = p.events
    assert event.kind == "delivery_status"
    assert event.external_id == "dsn:<dsn-1@mx.example.com>:0"
    assert event.data["failed_recipient"] == "li.wei@example.com"
    assert event.data["status"] == "5.1.1"
    assert event.data["original_message_id"] == OURS
    assert event.thread.in_reply_to == [OURS]
    assert event.thread.reply_token == "tok42"
    assert p.messages == []


@case(
    "dsn-headers-only-failed-and-delayed",
    dsn(
        ("a@example.com", "failed", "5.2.2"),
        ("b@example.com", "delayed", "4.4.1"),
        ("c@example.com", "failed", "5.7.1"),
        headers_only=True,
    ),
    expect="events",
)
def _(p: Parsed) -> None:
    assert [(e.data["failed_recipient"], e.data["status"]) for e in p.events] == [
        ("a@example.com", "5.2.2"),
        ("c@example.com", "5.7.1"),
    ]
    assert len({e.external_id for e in p.events}) == 2


@case("dsn-only-delayed", dsn(("b@example.com", "delayed", "4.4.1")))
def _(p: Parsed) -> None:
    assert p.events == []
    assert p.messages[0].metadata["auto"] == "auto-submitted: auto-replied"


# --- senders, ids and dates ----------------------------------------------------------


@case("no-message-id", mail(BASIC + "Subject: no id"))
def _(p: Parsed) -> None:
    assert p.messages[0].external_id.startswith("sha256:")


@case(
    "sender-but-no-from", mail("Sender: li.wei@example.com\nTo: support@acme.example\nSubject: x")
)
def _(p: Parsed) -> None:
    assert p.messages[0].sender.value == "li.wei@example.com"


@case(
    "display-name-with-encoded-comma",
    mail(f"From: {word('Wei, Li', 'utf-8')} <li.wei@example.com>\nTo: support@acme.example"),
)
def _(p: Parsed) -> None:
    assert p.messages[0].sender.display_name == "Wei, Li"
    assert p.messages[0].sender.value == "li.wei@example.com"


@case(
    "internationalised-address", mail("From: 用户@例子.中国\nTo: support@acme.example\nSubject: x")
)
def _(p: Parsed) -> None:
    assert p.messages[0].sender.value == "用户@例子.中国"


@case("garbage-date", mail("From: a@example.com\nDate: yesterday-ish\nSubject: x"))
def _(p: Parsed) -> None:
    assert p.messages[0].sent_at is None


@case("date-without-zone", mail("From: a@example.com\nDate: 2 Mar 2026 09:30:00 -0000\nSubject: x"))
def _(p: Parsed) -> None:
    sent_at = p.messages[0].sent_at
    assert sent_at is not None and sent_at.utcoffset() is not None


plain("no-from-at-all", mail("To: support@acme.example\nSubject: who am I"), "malformed")
plain("from-is-not-an-address", mail("From: undisclosed-recipients:;\nSubject: x"), "malformed")
plain("no-headers", b"just some text without any header\r\n", "malformed")
plain("empty", b"", "malformed")
plain("whitespace-only", b"\r\n\r\n  \r\n", "malformed")

#: The contract kit's genuine message.
KIT_MESSAGE = mail(
    "From: Ada Customer <ada@example.com>\nTo: Acme Support <support@acme.example>\n"
    "Subject: My order has not arrived [CS-2026-000042]\nMessage-ID: <kit-1@example.com>\n"
    "Date: Fri, 01 May 2026 09:30:00 +0000\nContent-Type: text/plain; charset=utf-8",
    "It has been two weeks. 已经两周了。\n",
)
