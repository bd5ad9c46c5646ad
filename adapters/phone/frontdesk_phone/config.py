"""A phone channel's settings: which provider, its credentials, our number, how calls ring."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from frontdesk.channels import SECRET, TARGET

E164 = r"^\+[1-9][0-9]{6,14}$"
URL = r"^https?://[^\s/?#]+"

DEFAULT_API = {"twilio": "https://api.twilio.com", "vonage": "https://api.nexmo.com"}


class PhoneConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One phone number's channel, at Twilio or at Vonage."""

    #: Whose webhooks and API this channel speaks.
    provider: Literal["twilio", "vonage"] = "twilio"
    #: Twilio: the Account SID (``AC…``). Vonage: the API key.
    account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    #: Twilio: the Auth Token (it signs Twilio's webhooks and authenticates our
    #: API calls). Vonage: the API secret.
    auth_token: Annotated[str, SECRET, msgspec.Meta(min_length=1, max_length=256)]
    #: Vonage only: the signature secret its signed webhooks (JWT, HS256) use.
    signature_secret: Annotated[str, SECRET, msgspec.Meta(min_length=16, max_length=256)] | None = (
        None
    )
    #: The channel's own number, E.164: where customers call and text, and the
    #: sender of the SMS agents' replies go out as.
    phone_number: Annotated[str, msgspec.Meta(pattern=E164)]
    #: The provider's REST API; a test or a relay sets its own. Default: the
    #: provider's (https://api.twilio.com, https://api.nexmo.com).
    api_base_url: Annotated[str, TARGET, msgspec.Meta(pattern=URL, max_length=2048)] | None = None
    #: The scheme and host the provider calls, when a proxy in front of
    #: Frontdesk changes them (Twilio signs the URL it called): the webhook
    #: URL's scheme and host are replaced by these before verifying.
    public_url: Annotated[str, msgspec.Meta(pattern=URL, max_length=2048)] | None = None
    #: Who rings when a customer calls (Twilio: the TwiML answer to the call):
    #: client identities (``client:ada``), SIP URIs (``sip:…``) or numbers.
    #: Empty: the caller goes straight to voicemail.
    dial: list[Annotated[str, msgspec.Meta(min_length=1, max_length=255)]] = []
    #: How long the agents' phones ring before the caller is offered voicemail.
    ring_seconds: Annotated[int, msgspec.Meta(ge=5, le=120)] = 20
    #: What the caller hears before leaving a voicemail.
    voicemail_greeting: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] = (
        "Sorry, nobody can take your call right now. "
        "Please leave a message after the tone and we will call you back."
    )
    #: The provider's identity of an agent (``client:ada``, a number, a SIP URI)
    #: → their Frontdesk email, so the call log names the user who answered.
    agents: dict[str, str] = {}
    #: A reply longer than one SMS goes out as up to this many messages.
    max_sms_parts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 5
    #: The whole API request (connect, send, answer) must finish within this.
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    #: Vonage: how old a signed webhook's token (its ``iat``) may be.
    tolerance_seconds: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 300

    def __post_init__(self) -> None:
        if self.provider == "vonage" and self.signature_secret is None:
            raise ValueError("a Vonage channel needs signature_secret to verify its webhooks")

    @property
    def api_base(self) -> str:
        return (self.api_base_url or DEFAULT_API[self.provider]).rstrip("/")
