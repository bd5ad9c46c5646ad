"""Channel instances: a tenant's configured channels, their secrets and webhook URLs."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk import egress
from frontdesk.audit.service import record
from frontdesk.auth.service import Principal, get_team
from frontdesk.channels.adapter import ChannelAdapter, ChannelContext
from frontdesk.channels.errors import ConfigInvalid
from frontdesk.channels.live_services import PlatformChannelServices
from frontdesk.channels.models import (
    ChannelEndpoint,
    ChannelInstance,
    Conversation,
    Delivery,
    InboundRejection,
)
from frontdesk.channels.settings import decode_settings, encode_settings, settings_of
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.db import enter_tenant, session_tenant, utcnow
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.ids import new_id
from frontdesk.runtime import Runtime

MASKED_SECRET = "********"  # noqa: S105 - what secrets are shown as


def secret_fields(config_type: type[msgspec.Struct]) -> set[str]:
    """Config fields marked ``Annotated[..., SECRET]``."""
    info = msgspec.inspect.type_info(config_type)
    assert isinstance(info, msgspec.inspect.StructType)
    out = set()
    for field in info.fields:
        meta = field.type
        if isinstance(meta, msgspec.inspect.Metadata) and (meta.extra or {}).get("secret"):
            out.add(field.encode_name)
    return out


def _split(
    config_type: type[msgspec.Struct], raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        decoded = msgspec.convert(raw, config_type)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"invalid channel configuration: {exc}") from None
    full: dict[str, Any] = msgspec.to_builtins(decoded)
    hidden = secret_fields(config_type)
    return (
        {k: v for k, v in full.items() if k not in hidden},
        {k: v for k, v in full.items() if k in hidden},
    )


def _tenant(session: AsyncSession) -> uuid.UUID:
    tenant_id = session_tenant(session.sync_session)
    assert tenant_id is not None
    return tenant_id


# Bumped by every change to a channel made in this process, so the intake's
# cache of channels drops what it holds at once (other processes within its
# few seconds' lifetime).
_changes = [0]


def changes_generation() -> int:
    return _changes[0]


def _changed() -> None:
    _changes[0] += 1


async def create_channel(
    session: AsyncSession,
    runtime: Runtime,
    cipher: TenantCipher,
    actor: Principal,
    *,
    kind: str,
    name: str,
    config: dict[str, Any],
    team_id: uuid.UUID | None = None,
    settings: dict[str, Any] | None = None,
) -> tuple[ChannelInstance, str]:
    """Create a channel; returns it with its webhook token."""
    adapter = runtime.registry.get(kind)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a channel name is 1–200 characters")
    if await session.scalar(select(ChannelInstance.id).where(ChannelInstance.name == name)):
        raise Conflict(f"a channel named {name!r} exists")
    if team_id is not None:
        await get_team(session, team_id)
    plain, hidden = _split(adapter.config_type, config)
    await egress.check_config(
        adapter.config_type,
        {**plain, **hidden},
        allow_private=runtime.settings.allow_private_targets,
    )
    own = encode_settings(decode_settings(settings or {}))
    channel_id = new_id()
    channel = ChannelInstance(
        id=channel_id,
        kind=kind,
        name=name,
        config=plain,
        secrets_encrypted=_encrypt_secrets(cipher, channel_id, hidden),
        team_id=team_id,
        settings=own,
    )
    session.add(channel)
    await session.flush()
    token = secrets.token_urlsafe(32)
    session.add(ChannelEndpoint(token=token, tenant_id=actor.tenant_id, channel_id=channel.id))
    await session.flush()
    await record(
        session,
        actor_user_id=actor.user_id,
        action="channel.created",
        subject_type="channel",
        subject_id=channel.id,
        kind=kind,
        name=name,
    )
    return channel, token


def _encrypt_secrets(cipher: TenantCipher, channel_id: uuid.UUID, hidden: dict[str, Any]) -> str:
    return cipher.encrypt(
        msgspec.json.encode(hidden).decode(), table="channels", column="secrets", row_id=channel_id
    )


def _decrypt_secrets(cipher: TenantCipher, channel: ChannelInstance) -> dict[str, Any]:
    if not channel.secrets_encrypted:
        return {}
    raw = cipher.decrypt(
        channel.secrets_encrypted, table="channels", column="secrets", row_id=channel.id
    )
    decoded: dict[str, Any] = msgspec.json.decode(raw)
    return decoded


async def update_channel(
    session: AsyncSession,
    runtime: Runtime,
    cipher: TenantCipher,
    actor: Principal,
    channel: ChannelInstance,
    *,
    name: str | None,
    config: dict[str, Any] | None,
    is_active: bool | None,
    team_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET,
    settings: dict[str, Any] | None = None,
) -> ChannelInstance:
    """A config update may omit secret fields (or send the mask) to keep them;
    a settings update changes only the settings it names."""
    adapter = runtime.registry.get(channel.kind)
    changes: list[str] = []
    if name is not None and name.strip() != channel.name:
        channel.name = name.strip()
        changes.append("name")
    if config is not None:
        current = {**channel.config, **_decrypt_secrets(cipher, channel)}
        merged = {**current, **{k: v for k, v in config.items() if v != MASKED_SECRET}}
        plain, hidden = _split(adapter.config_type, merged)
        await egress.check_config(
            adapter.config_type,
            {**plain, **hidden},
            allow_private=runtime.settings.allow_private_targets,
        )
        channel.config = plain
        channel.secrets_encrypted = _encrypt_secrets(cipher, channel.id, hidden)
        changes.append("config")
    if settings is not None:
        merged_settings = {**encode_settings(settings_of(channel.settings)), **settings}
        channel.settings = encode_settings(decode_settings(merged_settings))
        changes.append("settings")
    if is_active is not None and is_active != channel.is_active:
        channel.is_active = is_active
        changes.append("is_active")
    if not isinstance(team_id, msgspec.UnsetType) and team_id != channel.team_id:
        if team_id is not None:
            await get_team(session, team_id)
        channel.team_id = team_id
        changes.append("team_id")
    if changes:
        channel.updated_at = utcnow()
        await session.flush()
        _changed()
        await record(
            session,
            actor_user_id=actor.user_id,
            action="channel.updated",
            subject_type="channel",
            subject_id=channel.id,
            changed=changes,
        )
    return channel


async def get_channel(session: AsyncSession, channel_id: uuid.UUID) -> ChannelInstance:
    channel = await session.get(ChannelInstance, (_tenant(session), channel_id))
    if channel is None:
        raise NotFound("no such channel")
    return channel


async def get_channels(session: AsyncSession, channel_ids: set[uuid.UUID]) -> list[ChannelInstance]:
    stmt = select(ChannelInstance).where(ChannelInstance.id.in_(sorted(channel_ids)))
    return list((await session.scalars(stmt)).all())


async def list_channels(session: AsyncSession) -> list[ChannelInstance]:
    stmt = select(ChannelInstance).order_by(ChannelInstance.name)
    return list((await session.scalars(stmt)).all())


async def list_rejections(
    session: AsyncSession, channel_id: uuid.UUID, *, limit: int, after: uuid.UUID | None
) -> list[InboundRejection]:
    """What the channel refused, newest first."""
    stmt = select(InboundRejection).where(InboundRejection.channel_id == channel_id)
    if after is not None:
        stmt = stmt.where(InboundRejection.id < after)
    stmt = stmt.order_by(InboundRejection.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def endpoint_token(session: AsyncSession, channel_id: uuid.UUID) -> str:
    token = await session.scalar(
        select(ChannelEndpoint.token).where(
            ChannelEndpoint.channel_id == channel_id,
            ChannelEndpoint.tenant_id == _tenant(session),
        )
    )
    if token is None:
        raise NotFound("this channel has no endpoint")
    return token


async def find_endpoint(session: AsyncSession, token: str) -> ChannelEndpoint:
    if not 20 <= len(token) <= 64:
        raise NotFound("no such channel")
    endpoint = await session.get(ChannelEndpoint, token)
    if endpoint is None:
        raise NotFound("no such channel")
    return endpoint


async def body_limit(runtime: Runtime, token: str) -> int:
    """The largest webhook body this endpoint's channel accepts."""
    async with runtime.db.sessions() as session, session.begin():
        endpoint = await find_endpoint(session, token)
        await enter_tenant(session, endpoint.tenant_id)
        channel = await get_channel(session, endpoint.channel_id)
    declared = runtime.registry.get(channel.kind).max_body_bytes or 0
    return max(runtime.settings.max_body_bytes, declared)


def webhook_url(runtime: Runtime, token: str) -> str:
    return f"{runtime.settings.public_url.rstrip('/')}/hooks/{token}"


def masked_config(runtime: Runtime, channel: ChannelInstance) -> dict[str, Any]:
    adapter = runtime.registry.get(channel.kind)
    return {**channel.config, **dict.fromkeys(secret_fields(adapter.config_type), MASKED_SECRET)}


def full_config(runtime: Runtime, cipher: TenantCipher, channel: ChannelInstance) -> dict[str, Any]:
    """The channel's whole configuration, secrets decrypted, as its adapter reads it."""
    cls = runtime.registry.get(channel.kind)
    raw = {**channel.config, **_decrypt_secrets(cipher, channel)}
    try:
        out: dict[str, Any] = msgspec.to_builtins(msgspec.convert(raw, cls.config_type))
    except msgspec.ValidationError as exc:
        raise ConfigInvalid(f"stored configuration no longer valid: {exc}") from None
    return out


def build_adapter(
    runtime: Runtime, cipher: TenantCipher, channel: ChannelInstance, token: str
) -> ChannelAdapter[Any]:
    """An adapter instance for this channel, with its secrets decrypted."""
    cls = runtime.registry.get(channel.kind)
    raw = {**channel.config, **_decrypt_secrets(cipher, channel)}
    try:
        config = msgspec.convert(raw, cls.config_type)
    except msgspec.ValidationError as exc:
        raise ConfigInvalid(f"stored configuration no longer valid: {exc}") from None
    context = ChannelContext(
        channel_id=str(channel.id),
        webhook_url=webhook_url(runtime, token),
        public_url=runtime.settings.public_url,
        services=PlatformChannelServices(runtime, channel.tenant_id, channel.id),
    )
    return cls(config, context)


async def move_ticket_threads(
    session: AsyncSession, *, from_ticket_id: uuid.UUID, to_ticket_id: uuid.UUID
) -> None:
    """A ticket merge: the merged ticket's provider conversations (a chat, a call)
    and its replies' deliveries belong to the surviving ticket from now on."""
    for model in (Conversation, Delivery):
        await session.execute(
            update(model)
            .where(model.ticket_id == from_ticket_id)
            .values(ticket_id=to_ticket_id)
            .execution_options(synchronize_session=False)
        )
