"""WeCom's callback cryptography: the published vectors, and round trips with an
implementation written from the documentation (``WeComSim`` in conftest.py)."""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk_im.wecom import DecryptionFailed, WeComCrypto
from frontdesk_im.wecom.crypto import aes_key, signature

# WeCom's published sample (the WXBizMsgCrypt libraries' Sample files).
SAMPLE_TOKEN = "QDG6eK"
SAMPLE_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SAMPLE_CORP = "wx5823bf96d3bd56c7"
SAMPLE_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)
SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczc"
    "dCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLj"
    "vd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMn"
    "vw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k"
    "22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2Yoy"
    "yH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
SAMPLE_MESSAGE = (
    b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    b"<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    b"<CreateTime>1409659813</CreateTime>\n"
    b"<MsgType><![CDATA[text]]></MsgType>\n"
    b"<Content><![CDATA[hello]]></Content>\n"
    b"<MsgId>4561255354251345929</MsgId>\n"
    b"<AgentID>218</AgentID>\n"
    b"</xml>"
)

SAMPLE_CRYPTO = WeComCrypto(SAMPLE_TOKEN, SAMPLE_KEY, SAMPLE_CORP)


def test_the_published_url_verification_vector() -> None:
    assert (
        signature(SAMPLE_TOKEN, "1409659589", "263014780", SAMPLE_ECHOSTR)
        == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    )
    assert SAMPLE_CRYPTO.decrypt(SAMPLE_ECHOSTR) == (b"1616140317555161061", SAMPLE_CORP)


def test_the_published_message_vector() -> None:
    assert (
        signature(SAMPLE_TOKEN, "1409659813", "1372623149", SAMPLE_ENCRYPT)
        == "477715d11cdb4164915debcba66cb864d751f3e6"
    )
    assert SAMPLE_CRYPTO.decrypt(SAMPLE_ENCRYPT) == (SAMPLE_MESSAGE, SAMPLE_CORP)


def test_encryption_matches_the_documented_layout_byte_for_byte(wecom) -> None:
    crypto = WeComCrypto(wecom.token, base64.b64encode(wecom.key).decode()[:43], wecom.corp_id)
    random = bytes(range(16))
    message = "<xml><Content><![CDATA[你好]]></Content></xml>".encode()
    assert crypto.encrypt(message, random=random) == wecom.encrypt(message, random=random)


@given(
    message=st.binary(max_size=600),
    random=st.binary(min_size=16, max_size=16),
    receive_id=st.text(max_size=40),
)
def test_what_wecom_encrypts_the_adapter_decrypts(
    wecom, message: bytes, random: bytes, receive_id: str
) -> None:
    crypto = WeComCrypto(wecom.token, base64.b64encode(wecom.key).decode()[:43], receive_id)
    encrypted = wecom.encrypt(message, random=random, receive_id=receive_id)
    assert crypto.decrypt(encrypted) == (message, receive_id)


@given(message=st.binary(max_size=600))
def test_what_the_adapter_encrypts_wecom_decrypts(wecom, message: bytes) -> None:
    crypto = WeComCrypto(wecom.token, base64.b64encode(wecom.key).decode()[:43], wecom.corp_id)
    encrypted = crypto.encrypt(message)
    assert len(base64.b64decode(encrypted)) % 32 == 0  # padded to WeCom's 32-byte blocks
    assert wecom.decrypt(encrypted) == (message, wecom.corp_id)


def test_each_encryption_is_different_but_decrypts_the_same(wecom) -> None:
    crypto = WeComCrypto(wecom.token, base64.b64encode(wecom.key).decode()[:43], wecom.corp_id)
    first, second = crypto.encrypt(b"same"), crypto.encrypt(b"same")
    assert first != second  # 16 random bytes lead every plaintext
    assert crypto.decrypt(first) == crypto.decrypt(second) == (b"same", wecom.corp_id)


def test_a_passive_reply_is_an_envelope_wecom_can_open(wecom) -> None:
    crypto = WeComCrypto(wecom.token, base64.b64encode(wecom.key).decode()[:43], wecom.corp_id)
    envelope = crypto.reply("<xml><Content>收到</Content></xml>", "1767225600", "42").decode()
    encrypted = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    assert f"<MsgSignature><![CDATA[{wecom.sign('1767225600', '42', encrypted)}]]>" in envelope
    assert wecom.decrypt(encrypted)[0].decode() == "<xml><Content>收到</Content></xml>"


@pytest.mark.parametrize(
    ("encrypted", "why"),
    [
        ("not base64!", "not base64"),
        ("", "whole number"),
        (base64.b64encode(b"x" * 31).decode(), "whole number"),
        ("中文", "not base64"),
    ],
)
def test_what_is_not_a_ciphertext_is_refused(encrypted: str, why: str) -> None:
    with pytest.raises(DecryptionFailed, match=why):
        SAMPLE_CRYPTO.decrypt(encrypted)


def test_a_ciphertext_made_with_another_key_is_refused(wecom) -> None:
    # The sample's key against our ciphertext: the padding cannot be right, or
    # if by chance it is, the length field is not.
    with pytest.raises(DecryptionFailed):
        SAMPLE_CRYPTO.decrypt(wecom.encrypt(b"<xml/>" * 10))


@given(
    encrypted=st.text(max_size=200)
    | st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode())
)
def test_decrypting_anything_decrypts_or_raises_decryption_failed(encrypted: str) -> None:
    with contextlib.suppress(DecryptionFailed):
        SAMPLE_CRYPTO.decrypt(encrypted)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "short",
        SAMPLE_KEY + "A",
        SAMPLE_KEY[:-1] + "=",
        SAMPLE_KEY[:-1] + "-",
        " " + SAMPLE_KEY[1:],
    ],
)
def test_an_encoding_aes_key_is_43_base64_characters(key: str) -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        aes_key(key)


def test_the_aes_key_is_the_decoded_encoding_aes_key(wecom) -> None:
    assert aes_key(base64.b64encode(wecom.key).decode()[:43]) == wecom.key
