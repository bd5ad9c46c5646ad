"""The platform's side of ``ChannelServices``: pub/sub and transcripts for one channel."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import redis.exceptions

from frontdesk.channels import transcripts
from frontdesk.channels.live import TranscriptEntry
from frontdesk.crypto.service import load_tenant_cipher

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime

MAX_NAME = 200


def _name(kind: str, value: str) -> str:
    if not 0 < len(value) <= MAX_NAME:
        raise ValueError(f"a {kind} is 1–{MAX_NAME} characters")
    return value


class PlatformChannelServices:
    """Scoped to one channel: its topics are ``live:<channel id>:<topic>`` on the
    runtime's pub/sub (Redis or in-process), its transcripts rows of that channel."""

    def __init__(self, runtime: Runtime, tenant_id: uuid.UUID, channel_id: uuid.UUID) -> None:
        self._runtime = runtime
        self._tenant_id = tenant_id
        self._channel_id = channel_id

    def _topic(self, topic: str) -> str:
        return f"live:{self._channel_id}:{_name('topic', topic)}"

    async def publish(self, topic: str, data: bytes) -> None:
        try:
            await self._runtime.pubsub.publish(self._topic(topic), data)
        except redis.exceptions.RedisError as exc:
            # The SDK promises OSError: adapters need not know which backend runs.
            raise ConnectionError(f"pub/sub unavailable: {exc}") from exc

    def subscribe(self, topic: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[bytes]]:
        return self._runtime.pubsub.subscribe(self._topic(topic))

    async def record(self, conversation: str, entry_id: str, data: bytes) -> int:
        async with self._runtime.db.session(self._tenant_id) as session:
            cipher = await load_tenant_cipher(session, self._runtime.keyring, self._tenant_id)
            return await transcripts.record(
                session, cipher, self._channel_id, conversation, entry_id, data
            )

    async def history(
        self, conversation: str, *, after: int = 0, limit: int = 200
    ) -> list[TranscriptEntry]:
        async with self._runtime.db.session(self._tenant_id) as session:
            cipher = await load_tenant_cipher(session, self._runtime.keyring, self._tenant_id)
            return await transcripts.history(
                session, cipher, self._channel_id, conversation, after=after, limit=limit
            )
