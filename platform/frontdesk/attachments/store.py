"""Where attachment bytes live: files under the data folder, each sealed with the tenant's key.

A service looked up through the runtime (``runtime.attachments``), so a
deployment can swap in another store (an object store) without touching
callers. Several app processes need the same folder (a shared volume).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Protocol


class AttachmentStore(Protocol):
    def write(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID, blob: bytes) -> None: ...

    def read(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> bytes: ...

    def delete(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> None: ...

    def delete_tenant(self, tenant_id: uuid.UUID) -> None:
        """Every file of the tenant (it is being deleted)."""
        ...


class FileAttachmentStore:
    """``<root>/<tenant>/<first two hex digits>/<attachment id>``; writes are atomic."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> Path:
        return self.root / str(tenant_id) / attachment_id.hex[:2] / str(attachment_id)

    def write(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID, blob: bytes) -> None:
        target = self.path(tenant_id, attachment_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> bytes:
        return self.path(tenant_id, attachment_id).read_bytes()

    def delete(self, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> None:
        self.path(tenant_id, attachment_id).unlink(missing_ok=True)

    def delete_tenant(self, tenant_id: uuid.UUID) -> None:
        shutil.rmtree(self.root / str(tenant_id), ignore_errors=True)
