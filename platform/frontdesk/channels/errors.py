"""The errors adapters raise (public SDK); the intake maps each to one answer."""

from __future__ import annotations


class ChannelError(Exception):
    """Base of the SDK's errors."""


class SignatureInvalid(ChannelError):
    """The request is not from the provider: answered 401, nothing stored."""


class MalformedPayload(ChannelError):
    """The request is from the provider but cannot be understood: answered 400."""


class ConfigInvalid(ChannelError):
    """A channel's configuration is unusable (checked when an admin saves it)."""


class ChannelNotFound(ChannelError):
    """No active channel of this kind has that public id (SDK 1.1: from ``ChannelGateway``)."""
