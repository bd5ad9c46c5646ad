"""The platform's side of ``ChannelGateway``: adapter routes open channels by public id."""

from __future__ import annotations

from typing import Any

from litestar.di import NamedDependency

from frontdesk.channels import service as channels
from frontdesk.channels.adapter import ChannelAdapter
from frontdesk.channels.errors import ChannelNotFound, MalformedPayload, SignatureInvalid
from frontdesk.channels.intake import receive
from frontdesk.channels.types import InboundRequest, WebhookReply
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import enter_tenant
from frontdesk.errors import InvalidInput, NotFound, RateLimited, Unauthenticated
from frontdesk.runtime import Runtime


class PlatformOpenChannel:
    def __init__(self, runtime: Runtime, adapter: ChannelAdapter[Any], public_id: str) -> None:
        self._runtime = runtime
        self.adapter = adapter
        self.public_id = public_id

    async def submit(self, request: InboundRequest) -> WebhookReply:
        try:
            return await receive(self._runtime, self.public_id, request)
        except Unauthenticated as exc:
            raise SignatureInvalid(exc.detail) from None
        except InvalidInput as exc:
            raise MalformedPayload(exc.detail) from None
        except RateLimited as exc:
            # The SDK has no error of its own for this yet: refused as unreadable
            # is what a live adapter tells its visitor (who may send it again).
            raise MalformedPayload(
                f"too many messages for now; try again in {exc.retry_after} s"
            ) from None
        except NotFound as exc:
            raise ChannelNotFound(exc.detail) from None


class PlatformGateway:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def open(self, kind: str, public_id: str) -> PlatformOpenChannel:
        runtime = self._runtime
        async with runtime.db.sessions() as session, session.begin():
            try:
                endpoint = await channels.find_endpoint(session, public_id)
                await enter_tenant(session, endpoint.tenant_id)
                channel = await channels.get_channel(session, endpoint.channel_id)
            except NotFound:
                raise ChannelNotFound("no such channel") from None
            if not channel.is_active or channel.kind != kind:
                raise ChannelNotFound("no such channel")
            cipher = await load_tenant_cipher(session, runtime.keyring, endpoint.tenant_id)
            adapter = channels.build_adapter(runtime, cipher, channel, public_id)
        return PlatformOpenChannel(runtime, adapter, public_id)


async def provide_gateway(runtime: NamedDependency[Runtime]) -> PlatformGateway:
    return PlatformGateway(runtime)
