"""Envelope encryption of personal data: master keyring, per-tenant keys, field cipher.

The master keyring wraps each tenant's data and index keys; a ``TenantCipher``
encrypts contact values bound to their row and computes blind indexes.
"""

from __future__ import annotations

from frontdesk.crypto.cipher import TenantCipher
from frontdesk.crypto.keyring import (
    MasterKeyring,
    add_master_key_version,
    generate_master_key,
    load_master_keyring,
)

__all__ = [
    "MasterKeyring",
    "TenantCipher",
    "add_master_key_version",
    "generate_master_key",
    "load_master_keyring",
]
