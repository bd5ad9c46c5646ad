"""The master keyring: versioned AES-256 master keys that wrap every tenant's keys.

Keys come from ``FRONTDESK_MASTER_KEY``, else a key file, else (embedded demo only) a
key generated into the data folder.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from frontdesk.config import Settings
from frontdesk.errors import ConfigurationError, DecryptionError

logger = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
EMBEDDED_KEYRING_FILE = "master-keys.json"
_GENERATE_HINT = (
    'generate one with: python -c "import base64, os; '
    'print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)


class DemoMasterKeyWarning(UserWarning):
    """The master key was generated next to the data it protects: fine for a demo only."""


class MasterKeyring:
    """Master keys by version; new wraps use ``current_version``, unwraps any version held."""

    __slots__ = ("_keys", "current_version", "fingerprint", "source")

    def __init__(
        self,
        keys: Mapping[int, bytes],
        current_version: int | None = None,
        *,
        source: str = "memory",
    ) -> None:
        if not keys:
            raise ConfigurationError(f"the master keyring from {source} holds no keys")
        for version, key in keys.items():
            if version < 1:
                raise ConfigurationError(f"master key versions start at 1, got {version}")
            if len(key) != KEY_BYTES:
                raise ConfigurationError(
                    f"master key version {version} from {source} must be {KEY_BYTES} bytes, "
                    f"got {len(key)}"
                )
        current = max(keys) if current_version is None else current_version
        if current not in keys:
            raise ConfigurationError(f"current master key version {current} is not in the keyring")
        self._keys: dict[int, bytes] = dict(keys)
        self.current_version = current
        self.source = source
        # Tells cached tenant ciphers apart per keyring without holding key bytes
        # in the cache key; a keyring that lacks a key must never hit another's cache.
        digest = hashlib.sha256(b"frontdesk.master-keyring.v1")
        for version in sorted(self._keys):
            digest.update(version.to_bytes(4, "big") + self._keys[version])
        self.fingerprint = digest.hexdigest()

    def __repr__(self) -> str:
        return (
            f"MasterKeyring(versions={self.versions}, current_version={self.current_version}, "
            f"source={self.source!r})"
        )

    @property
    def keys(self) -> Mapping[int, bytes]:
        return MappingProxyType(self._keys)

    @property
    def versions(self) -> list[int]:
        return sorted(self._keys)

    def has_version(self, version: int) -> bool:
        return version in self._keys

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[int, bytes]:
        """Encrypt a tenant key under the current master key; returns (version, nonce||ct)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._keys[self.current_version]).encrypt(nonce, data_key, aad)
        return self.current_version, nonce + sealed

    def unwrap(self, version: int, blob: bytes, aad: bytes) -> bytes:
        key = self._keys.get(version)
        if key is None:
            raise DecryptionError(
                f"master key version {version} is not in the keyring (holds {self.versions})"
            )
        if len(blob) < NONCE_BYTES + 16:
            raise DecryptionError("wrapped key is truncated")
        try:
            return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise DecryptionError(
                f"wrapped key did not authenticate under master key version {version}"
            ) from None


def generate_master_key() -> str:
    """A fresh 256-bit master key as urlsafe base64, the form the settings accept."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def _decode_key(text: str, where: str) -> bytes:
    # Accept both alphabets and missing padding: keys get pasted from many tools.
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        raw = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        # Never echo the value: it may be a real key with a typo.
        raise ConfigurationError(f"{where} is not valid base64; {_GENERATE_HINT}") from None
    if len(raw) != KEY_BYTES:
        raise ConfigurationError(
            f"{where} must be {KEY_BYTES} bytes (256 bits) of base64, got {len(raw)} bytes; "
            f"{_GENERATE_HINT}"
        )
    return raw


def _parse_version(text: str, where: str) -> int:
    try:
        version = int(text.strip())
    except ValueError:
        raise ConfigurationError(f"{where}: key version must be a whole number") from None
    if version < 1:
        raise ConfigurationError(f"{where}: key versions start at 1, got {version}")
    return version


def _parse_env_keys(value: str) -> dict[int, bytes]:
    where = "FRONTDESK_MASTER_KEY"
    # Base64 never contains ':', so its presence means the versioned form.
    if ":" not in value:
        return {1: _decode_key(value, where)}
    keys: dict[int, bytes] = {}
    for entry in value.split(","):
        if not entry.strip():
            continue
        version_text, sep, key_text = entry.partition(":")
        if not sep:
            raise ConfigurationError(f"{where}: expected '<version>:<base64 key>' entries")
        version = _parse_version(version_text, where)
        if version in keys:
            raise ConfigurationError(f"{where}: key version {version} is given twice")
        keys[version] = _decode_key(key_text, f"{where} version {version}")
    if not keys:
        raise ConfigurationError(f"{where} holds no keys")
    return keys


def _read_keyring_file(path: Path) -> tuple[dict[str, Any], dict[int, bytes]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"master key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"master key file {path} cannot be read: {exc}") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ConfigurationError(
            f'master key file {path} must hold {{"keys": {{"1": "<base64 key>", ...}}}}'
        )
    keys: dict[int, bytes] = {}
    for version_text, key_text in entries.items():
        where = f"master key file {path}"
        version = _parse_version(str(version_text), where)
        if version in keys:
            raise ConfigurationError(f"{where}: key version {version} is given twice")
        if not isinstance(key_text, str):
            raise ConfigurationError(f"{where}: key version {version} must be a base64 string")
        keys[version] = _decode_key(key_text, f"{where} version {version}")
    return document, keys


def _write_keyring_file(path: Path, document: dict[str, Any], *, exclusive: bool = False) -> bool:
    """Write the file atomically, readable by its owner only; False if ``exclusive`` lost a race."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".master-keys-", dir=path.parent)
    try:
        # mkstemp already creates 0600; chmod guards against an unusual platform default.
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        if not exclusive:
            os.replace(tmp_name, path)
            return True
        # link() never overwrites: when two processes start at once, one key
        # wins and both read it, never a half-written file.
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            return False
        return True
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def _encode_keys(keys: Mapping[int, bytes]) -> dict[str, str]:
    return {
        str(version): base64.urlsafe_b64encode(keys[version]).decode("ascii")
        for version in sorted(keys)
    }


def _announce_demo_key(path: Path) -> None:
    message = (
        f"Frontdesk generated a master key into {path}. It sits next to the data it "
        "protects, so it is for the embedded DEMO ONLY: anyone who copies the data folder "
        "can read every contact value. Set FRONTDESK_MASTER_KEY or FRONTDESK_MASTER_KEY_FILE "
        "for real use."
    )
    banner = "!" * 78
    print(f"\n{banner}\n{message}\n{banner}\n", file=sys.stderr, flush=True)
    logger.warning(message)
    warnings.warn(message, DemoMasterKeyWarning, stacklevel=4)


def _load_or_create_embedded(data_dir: Path) -> MasterKeyring:
    path = data_dir / EMBEDDED_KEYRING_FILE
    if not path.exists():
        document = {"keys": _encode_keys({1: os.urandom(KEY_BYTES)})}
        if _write_keyring_file(path, document, exclusive=True):
            _announce_demo_key(path)
    else:
        logger.warning("using the embedded demo master key in %s (demo only)", path)
    _, keys = _read_keyring_file(path)
    return MasterKeyring(keys, source=str(path))


def load_master_keyring(settings: Settings) -> MasterKeyring:
    """The keyring from the environment, else the key file, else the embedded demo file."""
    if settings.master_key.strip():
        return MasterKeyring(
            _parse_env_keys(settings.master_key.strip()), source="FRONTDESK_MASTER_KEY"
        )
    if settings.master_key_file is not None:
        _, keys = _read_keyring_file(settings.master_key_file)
        return MasterKeyring(keys, source=str(settings.master_key_file))
    if settings.embedded:
        return _load_or_create_embedded(settings.data_dir)
    raise ConfigurationError(
        "no master key: set FRONTDESK_MASTER_KEY (base64 of 32 bytes, or "
        "'1:<b64>,2:<b64>' for versions) or FRONTDESK_MASTER_KEY_FILE; "
        f"{_GENERATE_HINT}"
    )


def add_master_key_version(settings: Settings) -> int:
    """Generate a new master key version into the keyring file; returns the new version.

    Processes read the keyring at start-up: restart them all before re-wrapping
    tenant keys under the new version, or the ones still running cannot unwrap them.
    """
    if settings.master_key.strip():
        raise ConfigurationError(
            "the master keys come from FRONTDESK_MASTER_KEY: add the new key there "
            "as '<old keys>,<next version>:<base64 key>' and restart"
        )
    if settings.master_key_file is not None:
        path = settings.master_key_file
    elif settings.embedded:
        _load_or_create_embedded(settings.data_dir)
        path = settings.data_dir / EMBEDDED_KEYRING_FILE
    else:
        raise ConfigurationError("no master key file configured (FRONTDESK_MASTER_KEY_FILE)")
    document, keys = _read_keyring_file(path)
    version = max(keys) + 1
    keys[version] = os.urandom(KEY_BYTES)
    _write_keyring_file(path, {**document, "keys": _encode_keys(keys)})
    logger.info("added master key version %d to %s", version, path)
    return version
