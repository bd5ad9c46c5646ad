"""HTTP API: channel instances for admins, and the providers' webhook URLs."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post, route
from litestar.enums import HttpMethod
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.api.deps import Actor, Cipher, Db, Rt, needs
from frontdesk.api.pagination import Page, check_limit, decode_cursor, next_cursor
from frontdesk.auth.permissions import Permission as P
from frontdesk.channels import delivery
from frontdesk.channels import schemas as s
from frontdesk.channels import service as channels
from frontdesk.channels.models import ChannelInstance
from frontdesk.channels.registry import Registry
from frontdesk.channels.settings import encode_settings, settings_of
from frontdesk.channels.submission import submit
from frontdesk.channels.types import InboundRequest
from frontdesk.config import Settings
from frontdesk.runtime import Runtime
from frontdesk.tickets import service as tickets


async def _out(
    db: AsyncSession, runtime: Runtime, channel: ChannelInstance, token: str | None = None
) -> s.ChannelOut:
    token = token or await channels.endpoint_token(db, channel.id)
    return s.ChannelOut(
        id=channel.id,
        kind=channel.kind,
        name=channel.name,
        config=channels.masked_config(runtime, channel),
        settings=encode_settings(settings_of(channel.settings)),
        team_id=channel.team_id,
        is_active=channel.is_active,
        webhook_url=channels.webhook_url(runtime, token),
        created_at=channel.created_at,
    )


class ChannelController(Controller):
    path = "/api/v1/channels"
    tags = ["channels"]

    @get("/adapters", opt=needs(P.CHANNELS_MANAGE))
    async def list_adapters(self, runtime: Rt, principal: Actor) -> list[s.AdapterOut]:
        out = []
        for kind in runtime.registry.kinds():
            cls = runtime.registry.get(kind)
            out.append(
                s.AdapterOut(
                    kind=kind,
                    display_name=cls.display_name,
                    version=cls.version,
                    contact_kind=cls.contact_kind,
                    capabilities=msgspec.to_builtins(cls.capabilities),
                    secret_fields=sorted(channels.secret_fields(cls.config_type)),
                    config_schema=msgspec.json.schema(cls.config_type),
                )
            )
        return out

    @get("/", opt=needs(P.CHANNELS_MANAGE))
    async def list_channels(self, db: Db, runtime: Rt, principal: Actor) -> list[s.ChannelOut]:
        return [await _out(db, runtime, c) for c in await channels.list_channels(db)]

    @post("/", opt=needs(P.CHANNELS_MANAGE))
    async def create_channel(
        self, data: JSONBody[s.ChannelIn], db: Db, runtime: Rt, cipher: Cipher, principal: Actor
    ) -> s.ChannelOut:
        channel, token = await channels.create_channel(
            db,
            runtime,
            cipher,
            principal,
            kind=data.kind,
            name=data.name,
            config=data.config,
            team_id=data.team_id,
            settings=data.settings,
        )
        return await _out(db, runtime, channel, token)

    @get("/{channel_id:uuid}", opt=needs(P.CHANNELS_MANAGE))
    async def get_channel(
        self, channel_id: FromPath[uuid.UUID], db: Db, runtime: Rt, principal: Actor
    ) -> s.ChannelOut:
        return await _out(db, runtime, await channels.get_channel(db, channel_id))

    @patch("/{channel_id:uuid}", opt=needs(P.CHANNELS_MANAGE))
    async def update_channel(
        self,
        channel_id: FromPath[uuid.UUID],
        data: JSONBody[s.ChannelPatch],
        db: Db,
        runtime: Rt,
        cipher: Cipher,
        principal: Actor,
    ) -> s.ChannelOut:
        channel = await channels.get_channel(db, channel_id)
        await channels.update_channel(
            db,
            runtime,
            cipher,
            principal,
            channel,
            name=data.name,
            config=data.config,
            is_active=data.is_active,
            team_id=data.team_id,
            settings=data.settings,
        )
        return await _out(db, runtime, channel)

    @get("/{channel_id:uuid}/rejections", opt=needs(P.CHANNELS_MANAGE))
    async def list_rejections(
        self,
        channel_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> Page[s.RejectionOut]:
        """What the channel received and could not read (malformed mail), newest first."""
        check_limit(limit)
        channel = await channels.get_channel(db, channel_id)
        rows = await channels.list_rejections(
            db, channel.id, limit=limit + 1, after=decode_cursor(cursor)
        )
        return Page(
            items=[
                s.RejectionOut(
                    id=r.id,
                    channel_id=r.channel_id,
                    source=r.source,
                    reason=r.reason,
                    size=r.size,
                    received_at=r.received_at,
                )
                for r in rows[:limit]
            ],
            next_cursor=next_cursor([r.id for r in rows], limit),
        )


class DeliveryController(Controller):
    path = "/api/v1/tickets/{ticket_id:uuid}/deliveries"
    tags = ["tickets"]

    @get("/", opt=needs(P.TICKETS_READ))
    async def list_deliveries(
        self, ticket_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> list[s.DeliveryOut]:
        ticket = await tickets.get_ticket(db, principal, ticket_id)
        return [
            s.DeliveryOut(
                id=d.id,
                message_id=d.message_id,
                channel_id=d.channel_id,
                status=d.status,
                attempts=list(d.attempts),
                last_error=d.last_error,
                external_id=d.external_id,
                next_attempt_at=d.next_attempt_at if d.status == "queued" else None,
            )
            for d in await delivery.list_deliveries(db, ticket.id)
        ]


def webhook_handler(settings: Settings, registry: Registry) -> Any:
    """The providers' webhook route, accepting bodies up to the largest limit an
    installed adapter declares (``max_body_bytes``: raw email with attachments);
    a body over the platform's own limit is then allowed only for a channel of
    such an adapter."""
    ceiling = max(
        [settings.max_body_bytes] + [registry.get(k).max_body_bytes or 0 for k in registry.kinds()]
    )

    @route(
        "/hooks/{token:str}",
        http_method=[HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT],
        tags=["webhooks"],
        summary="A provider's webhook URL for one channel instance",
        request_max_body_size=ceiling,
    )
    async def webhook(
        token: FromPath[str], request: Request[Any, Any, Any], runtime: Rt
    ) -> Response[bytes]:
        """Providers post here. Verified by the channel's adapter before anything is stored."""
        body = await request.body()
        if len(body) > runtime.settings.max_body_bytes:
            limit = await channels.body_limit(runtime, token)
            if len(body) > limit:
                raise HTTPException(
                    status_code=413, detail=f"this channel accepts at most {limit} bytes"
                )
        query = {key: request.query_params.getall(key) for key in request.query_params}
        url = runtime.settings.public_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        inbound = InboundRequest(
            method=request.method,
            url=url,
            headers={k.lower(): v for k, v in request.headers.items()},
            query=query,
            body=body,
        )
        reply = await submit(runtime, token, inbound, source="webhook")
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)

    return webhook


CONTROLLERS: list[Any] = [ChannelController, DeliveryController]
