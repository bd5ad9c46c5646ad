"""WeCom's callback cryptography (企业微信 回调加解密), as its documentation specifies it.

- ``msg_signature`` is the hex SHA-1 of the token, the timestamp, the nonce and
  the ciphertext, sorted as strings and concatenated.
- The AES key is the 43-character EncodingAESKey with ``=`` appended, base64
  decoded: 32 bytes, so AES-256, in CBC mode with the key's first 16 bytes as IV.
- The plaintext is ``random(16) + msg_len(4, network order) + msg + receive_id``,
  padded PKCS#7-style to a multiple of 32 bytes (pad values 1-32).
- ``receive_id`` is the corp id for a company's own apps: a message that
  decrypts to another id was not meant for this channel.

Importable on its own: the published test vector and passive replies use it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: WeCom pads to 32-byte blocks, not AES's 16.
BLOCK = 32
_RANDOM = 16
_HEADER = _RANDOM + 4
_ENCODING_AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")


class DecryptionFailed(ValueError):
    """The ciphertext is not one WeCom made with this key."""


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of an EncodingAESKey; ``ValueError`` if it is not one."""
    if not _ENCODING_AES_KEY.fullmatch(encoding_aes_key):
        raise ValueError("an EncodingAESKey is 43 characters of A-Z, a-z, 0-9, + and /")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise ValueError("the EncodingAESKey is not valid base64") from None
    if len(key) != 32:  # pragma: no cover - 43 base64 characters are always 32 bytes
        raise ValueError("the EncodingAESKey does not decode to 32 bytes")
    return key


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """``msg_signature``: hex SHA-1 over the four values, sorted and concatenated."""
    joined = "".join(sorted([token, timestamp, nonce, encrypted]))
    # SHA-1 is WeCom's choice, not ours; the callback protocol cannot use another.
    return hashlib.sha1(joined.encode("utf-8", "surrogatepass")).hexdigest()  # noqa: S324


class WeComCrypto:
    """Signing, encryption and decryption for one callback configuration."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.receive_id = receive_id
        self._key = aes_key(encoding_aes_key)

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self.token, timestamp, nonce, encrypted)

    def signature_matches(self, given: str, timestamp: str, nonce: str, encrypted: str) -> bool:
        """Whether ``given`` is the signature, compared in constant time."""
        expected = self.signature(timestamp, nonce, encrypted).encode()
        return hmac.compare_digest(expected, given.lower().encode("utf-8", "surrogatepass"))

    def encrypt(self, message: bytes, *, random: bytes | None = None) -> str:
        """``message`` encrypted for WeCom (base64). ``random`` is for test vectors only."""
        prefix = os.urandom(_RANDOM) if random is None else random
        if len(prefix) != _RANDOM:
            raise ValueError("random must be 16 bytes")
        plain = prefix + struct.pack(">I", len(message)) + message + self.receive_id.encode()
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> tuple[bytes, str]:
        """The message and the receive id inside ``encrypted``; ``DecryptionFailed`` if
        it is not a ciphertext made with this key."""
        try:
            data = base64.b64decode(encrypted.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise DecryptionFailed("the ciphertext is not base64") from None
        if not data or len(data) % BLOCK:
            raise DecryptionFailed(f"the ciphertext is not a whole number of {BLOCK}-byte blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise DecryptionFailed("the padding is wrong: is the EncodingAESKey right?")
        content = plain[:-pad]
        if len(content) < _HEADER:
            raise DecryptionFailed("the plaintext is too short")
        (length,) = struct.unpack(">I", content[_RANDOM:_HEADER])
        if _HEADER + length > len(content):
            raise DecryptionFailed("the message length is longer than the plaintext")
        message = content[_HEADER : _HEADER + length]
        try:
            receive_id = content[_HEADER + length :].decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionFailed("the receive id is not UTF-8") from None
        return message, receive_id

    def reply(self, message: str, timestamp: str, nonce: str) -> bytes:
        """A passive reply (被动回复) as WeCom expects it: the encrypted envelope."""
        encrypted = self.encrypt(message.encode("utf-8"))
        sig = self.signature(timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        ).encode()
