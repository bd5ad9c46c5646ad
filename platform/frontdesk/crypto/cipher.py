"""One tenant's field cipher: encrypts contact values bound to their row, computes blind indexes.

Tokens look like ``fd1.<data key version>.<urlsafe base64 of nonce||ciphertext>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from frontdesk.errors import DecryptionError

CIPHERTEXT_FORMAT = "fd1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_BYTES_MAGIC = b"fd1b"
_FIELD_AAD_DOMAIN = b"frontdesk.field.v1"
_BLIND_INDEX_DOMAIN = b"frontdesk.blind-index.v1"
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]+")
_VERSION = re.compile(r"[1-9][0-9]{0,8}")
_KIND = re.compile(r"[a-z][a-z0-9_.-]*")


def length_prefixed(*parts: bytes) -> bytes:
    """Join byte strings so that no two different part lists give the same bytes."""
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def field_aad(tenant_id: UUID, table: str, column: str, row_id: UUID) -> bytes:
    return _FIELD_AAD_DOMAIN + length_prefixed(
        tenant_id.bytes, table.encode("utf-8"), column.encode("utf-8"), row_id.bytes
    )


class TenantCipher:
    """Holds a tenant's unwrapped keys; built by ``frontdesk.crypto.service.load_tenant_cipher``."""

    __slots__ = ("_aeads", "_index_key", "current_version", "tenant_id")

    def __init__(
        self,
        tenant_id: UUID,
        data_keys: Mapping[int, bytes],
        current_version: int,
        index_key: bytes,
    ) -> None:
        if current_version not in data_keys:
            raise ValueError(f"current data key version {current_version} is not among the keys")
        for version, key in data_keys.items():
            if len(key) != KEY_BYTES:
                raise ValueError(f"data key version {version} must be {KEY_BYTES} bytes")
        if len(index_key) != KEY_BYTES:
            raise ValueError(f"the index key must be {KEY_BYTES} bytes")
        self.tenant_id = tenant_id
        self.current_version = current_version
        self._aeads = {version: AESGCM(key) for version, key in data_keys.items()}
        self._index_key = index_key

    def __repr__(self) -> str:
        return (
            f"TenantCipher(tenant_id={self.tenant_id}, data_key_versions={self.data_key_versions}, "
            f"current_version={self.current_version})"
        )

    @property
    def data_key_versions(self) -> list[int]:
        return sorted(self._aeads)

    def encrypt(self, plaintext: str, *, table: str, column: str, row_id: UUID) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aeads[self.current_version].encrypt(
            nonce,
            plaintext.encode("utf-8"),
            field_aad(self.tenant_id, table, column, row_id),
        )
        payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{CIPHERTEXT_FORMAT}.{self.current_version}.{payload}"

    def decrypt(self, token: str, *, table: str, column: str, row_id: UUID) -> str:
        """The plaintext, or DecryptionError if the token was moved, altered or is unknown."""
        parts = token.split(".")
        if len(parts) != 3:
            raise DecryptionError("not a Frontdesk ciphertext")
        prefix, version_text, payload = parts
        if (
            prefix != CIPHERTEXT_FORMAT
            or not _VERSION.fullmatch(version_text)
            or not _PAYLOAD.fullmatch(payload)
        ):
            raise DecryptionError("not a Frontdesk ciphertext")
        version = int(version_text)
        aead = self._aeads.get(version)
        if aead is None:
            raise DecryptionError(f"data key version {version} is unknown for this tenant")
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):
            raise DecryptionError("not a Frontdesk ciphertext") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("ciphertext is truncated")
        try:
            plaintext = aead.decrypt(
                raw[:NONCE_BYTES],
                raw[NONCE_BYTES:],
                field_aad(self.tenant_id, table, column, row_id),
            )
        except InvalidTag:
            raise DecryptionError(
                "ciphertext did not authenticate for this tenant, table, column and row"
            ) from None
        return plaintext.decode("utf-8")

    def encrypt_bytes(self, data: bytes, *, table: str, column: str, row_id: UUID) -> bytes:
        """Binary data (a stored attachment): ``fd1b`` + version (4 bytes) + nonce + ciphertext."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aeads[self.current_version].encrypt(
            nonce, data, field_aad(self.tenant_id, table, column, row_id)
        )
        return _BYTES_MAGIC + self.current_version.to_bytes(4, "big") + nonce + sealed

    def decrypt_bytes(self, blob: bytes, *, table: str, column: str, row_id: UUID) -> bytes:
        """What ``encrypt_bytes`` sealed, or DecryptionError if it was moved or altered."""
        head = len(_BYTES_MAGIC) + 4
        if len(blob) < head + NONCE_BYTES + TAG_BYTES or not blob.startswith(_BYTES_MAGIC):
            raise DecryptionError("not a Frontdesk binary ciphertext")
        version = int.from_bytes(blob[len(_BYTES_MAGIC) : head], "big")
        aead = self._aeads.get(version)
        if aead is None:
            raise DecryptionError(f"data key version {version} is unknown for this tenant")
        try:
            return aead.decrypt(
                blob[head : head + NONCE_BYTES],
                blob[head + NONCE_BYTES :],
                field_aad(self.tenant_id, table, column, row_id),
            )
        except InvalidTag:
            raise DecryptionError(
                "ciphertext did not authenticate for this tenant, table, column and row"
            ) from None

    def blind_index(self, kind: str, normalised_value: str) -> str:
        """Deterministic lookup key for an already-normalised value (lower-cased email, E.164).

        ``kind`` ("email", "phone", …) keeps equal strings of different kinds apart.
        """
        if not _KIND.fullmatch(kind):
            # Restricting kind keeps the "kind \x1f value" encoding unambiguous.
            raise ValueError(f"blind index kind must match {_KIND.pattern}, got {kind!r}")
        message = _BLIND_INDEX_DOMAIN + b"\x1f" + kind.encode("ascii") + b"\x1f"
        message += normalised_value.encode("utf-8")
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()
