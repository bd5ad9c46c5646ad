"""The running platform's shared parts, built once per process from the settings.

Controllers, actors and the CLI get what they need from here, so a test or a
deployment swaps one part without touching its callers.
"""

from __future__ import annotations

import hashlib
import hmac

from frontdesk.config import Settings
from frontdesk.crypto.keyring import MasterKeyring, load_master_keyring
from frontdesk.db import Database


class Runtime:
    def __init__(self, settings: Settings, *, pool_size: int = 10) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.keyring: MasterKeyring = load_master_keyring(settings)
        self.db = Database(settings, pool_size=pool_size)
        self.signing_key = self._signing_key()

    def _signing_key(self) -> bytes:
        if self.settings.secret_key:
            return self.settings.secret_key.encode()
        # One key from which the others derive keeps the embedded demo to one
        # secret; production sets FRONTDESK_SECRET_KEY so rotating the master
        # key does not sign everyone out.
        first = self.keyring.keys[min(self.keyring.keys)]
        return hmac.new(first, b"frontdesk access-token signing", hashlib.sha256).digest()

    async def start(self) -> None:
        await self.db.check_app_role()

    async def close(self) -> None:
        await self.db.dispose()
