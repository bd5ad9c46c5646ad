"""An adapter's own routes are served under /channels/{kind}/, with the core's dependencies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import httpx
import msgspec
from litestar import get

from frontdesk.app import create_app
from frontdesk.channels import (
    ChannelAdapter,
    DeliveryReceipt,
    InboundRequest,
    OutboundMessage,
    Parsed,
    hookimpl,
)
from frontdesk.channels.registry import registry_with
from frontdesk.config import Settings
from frontdesk.runtime import Runtime


class WidgetConfig(msgspec.Struct, frozen=True):
    greeting: str = "hi"


@get("/widget.js", media_type="application/javascript", sync_to_thread=False)
def widget_script() -> str:
    return "console.log('widget');"


@get("/kinds")
async def kinds(runtime: Any) -> list[str]:
    registry = runtime.registry
    return list(registry.kinds())


class WidgetAdapter(ChannelAdapter[WidgetConfig]):
    kind: ClassVar[str] = "widgetchat"
    display_name: ClassVar[str] = "Widget chat"
    version: ClassVar[str] = "0.0.1"
    config_type: ClassVar[type[msgspec.Struct]] = WidgetConfig
    contact_kind: ClassVar[Any] = "webchat"

    async def verify(self, request: InboundRequest) -> None:
        return None

    async def parse(self, request: InboundRequest) -> Parsed:
        return Parsed()

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        return DeliveryReceipt(status="sent")

    @classmethod
    def routes(cls) -> Sequence[Any]:
        return [widget_script, kinds]


class Plugin:
    @hookimpl
    def frontdesk_channel_adapters(self) -> list[type[ChannelAdapter[Any]]]:
        return [WidgetAdapter]


async def test_adapter_routes_are_mounted_under_their_kind(settings: Settings) -> None:
    runtime = Runtime(settings, pool_size=2, registry=registry_with(Plugin()))
    app = create_app(runtime=runtime)
    app.state.runtime = runtime
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            script = await client.get("/channels/widgetchat/widget.js")
            assert script.status_code == 200
            assert script.text == "console.log('widget');"
            assert (await client.get("/channels/widgetchat/kinds")).json() == ["widgetchat"]
            assert (await client.get("/channels/webhook/widget.js")).status_code == 404
    finally:
        await runtime.close()
