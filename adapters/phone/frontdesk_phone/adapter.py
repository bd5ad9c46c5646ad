"""The phone channel: calls, missed calls, voicemail and SMS, at Twilio or at Vonage."""

from __future__ import annotations

import asyncio
import base64
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx
import msgspec

from frontdesk.channels import (
    CallRequest,
    Capabilities,
    ChannelAdapter,
    ChannelContext,
    ContactKindName,
    DeliveryReceipt,
    InboundRequest,
    OutboundMessage,
    Parsed,
)
from frontdesk_phone import twilio, vonage
from frontdesk_phone._version import __version__
from frontdesk_phone.config import PhoneConfig
from frontdesk_phone.sms import MAX_BODY, split_sms

# Besides 429 and 5xx, the 4xx answers that mean "not now" rather than "never".
_RETRYABLE_4XX = {408, 425, 429}


class PhoneAdapter(ChannelAdapter[PhoneConfig]):
    """One phone number: its calls become call logs on tickets, its SMS messages."""

    kind: ClassVar[str] = "phone"
    display_name: ClassVar[str] = "Phone (calls, voicemail, SMS)"
    version: ClassVar[str] = __version__
    sdk_versions: ClassVar[str] = ">=1.3,<2"
    config_type: ClassVar[type[msgspec.Struct]] = PhoneConfig
    contact_kind: ClassVar[ContactKindName] = "phone"
    # No threads: one running conversation per caller, calls and texts alike.
    # Longer replies are split into several SMS (up to max_sms_parts).
    capabilities: ClassVar[Capabilities] = Capabilities(attachments=True)

    def __init__(self, config: PhoneConfig, context: ChannelContext) -> None:
        super().__init__(config, context)
        self.dialect: twilio.TwilioDialect | vonage.VonageDialect
        if config.provider == "twilio":
            self.dialect = twilio.TwilioDialect(config, context.webhook_url)
        else:
            self.dialect = vonage.VonageDialect(config, context.webhook_url)

    async def verify(self, request: InboundRequest) -> None:
        if self.config.provider == "twilio":
            twilio.verify(
                self.config.auth_token,
                twilio.with_public_base(request.url, self.config.public_url),
                request.headers,
                request.body,
                request.headers.get("content-type", ""),
            )
        else:
            assert self.config.signature_secret is not None
            vonage.verify(
                self.config.signature_secret,
                request.headers.get("authorization"),
                request.body,
                tolerance=self.config.tolerance_seconds,
            )

    async def parse(self, request: InboundRequest) -> Parsed:
        return self.dialect.parse(request.url, request.body)

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        limit = MAX_BODY[self.config.provider]
        parts = split_sms(message.text, limit)
        if not parts:
            return DeliveryReceipt(status="failed", error="the reply is empty")
        if len(parts) > self.config.max_sms_parts:
            return DeliveryReceipt(
                status="failed",
                error=(
                    f"the reply needs {len(parts)} SMS of at most {limit} characters; this "
                    f"channel sends at most {self.config.max_sms_parts} (max_sms_parts)"
                ),
            )
        timeout = self.config.timeout_seconds
        sent: list[str] = []
        try:
            async with (
                asyncio.timeout(timeout),
                httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
            ):
                for n, part in enumerate(parts):
                    # A retry resends only the parts not sent yet (their ids are kept per attempt).
                    receipt = await self._send(client, message, part, n)
                    if receipt.status != "sent":
                        return receipt
                    if receipt.external_id:
                        sent.append(receipt.external_id)
        except TimeoutError:
            return _retry(f"the provider did not answer within {timeout:g} s")
        except httpx.TimeoutException:
            return _retry(f"the provider did not answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            return _retry(f"could not reach the provider: {type(exc).__name__}: {exc}")
        return DeliveryReceipt(status="sent", external_id=sent[0] if sent else None)

    async def place_call(self, request: CallRequest) -> DeliveryReceipt:
        """Call the customer from the channel's number; once they answer, ring the agent."""
        config = self.config
        if config.provider != "twilio":
            return DeliveryReceipt(
                status="failed",
                error="placing calls is not supported with Vonage yet (its Voice API "
                "authenticates with an application's private key)",
            )
        identity = next((i for i, email in config.agents.items() if email == request.agent), None)
        if identity is None:
            return DeliveryReceipt(
                status="failed",
                error="the agent has no identity at the provider: add them to the channel's agents",
            )
        form = [
            ("To", request.recipient.value),
            ("From", config.phone_number),
            ("Twiml", twilio.connect_twiml(identity)),
            ("StatusCallback", self.context.webhook_url),
            ("StatusCallbackMethod", "POST"),
            *(
                ("StatusCallbackEvent", e)
                for e in ("initiated", "ringing", "answered", "completed")
            ),
        ]
        timeout = config.timeout_seconds
        try:
            async with (
                asyncio.timeout(timeout),
                httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
            ):
                response = await client.post(
                    config.api_base + twilio.calls_path(config.account_id),
                    content=urlencode(form).encode(),
                    headers={**self._auth(), "Content-Type": "application/x-www-form-urlencoded"},
                )
        except (TimeoutError, httpx.TimeoutException):
            return _retry(f"the provider did not answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            return _retry(f"could not reach the provider: {type(exc).__name__}: {exc}")
        return _receipt(response, "sid")

    def _auth(self) -> dict[str, str]:
        config = self.config
        credentials = base64.b64encode(f"{config.account_id}:{config.auth_token}".encode())
        return {
            "Authorization": f"Basic {credentials.decode()}",
            "User-Agent": f"frontdesk-phone/{__version__}",
        }

    async def _send(
        self, client: httpx.AsyncClient, message: OutboundMessage, text: str, n: int
    ) -> DeliveryReceipt:
        config = self.config
        headers = self._auth()
        if config.provider == "twilio":
            response = await client.post(
                config.api_base + twilio.messages_path(config.account_id),
                data={"To": message.recipient.value, "From": config.phone_number, "Body": text},
                headers=headers,
            )
            id_field = "sid"
        else:
            response = await client.post(
                config.api_base + vonage.MESSAGES_PATH,
                json={
                    "message_type": "text",
                    "channel": "sms",
                    "to": message.recipient.value.lstrip("+"),
                    "from": config.phone_number.lstrip("+"),
                    "text": text,
                    "client_ref": f"{message.id}:{n}"[:100],
                },
                headers=headers,
            )
            id_field = "message_uuid"
        return _receipt(response, id_field)


def _receipt(response: httpx.Response, id_field: str) -> DeliveryReceipt:
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryReceipt(status="sent", external_id=_id(response, id_field))
    error = f"the provider answered {status} {response.reason_phrase}".rstrip()
    detail = _detail(response)
    if detail:
        error += f": {detail}"
    if status >= 500 or status in _RETRYABLE_4XX:
        return _retry(error, _retry_after(response.headers.get("retry-after")))
    return DeliveryReceipt(status="failed", error=error)


def _retry(error: str, after: float | None = None) -> DeliveryReceipt:
    return DeliveryReceipt(status="failed", error=error, retryable=True, retry_after=after)


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isascii() and value.strip().isdigit():
        return float(value.strip())
    return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(response.content[:65536])
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _id(response: httpx.Response, field: str) -> str | None:
    value = _json(response).get(field)
    return str(value) if isinstance(value, str | int) else None


def _detail(response: httpx.Response) -> str:
    """The provider's own words for a refusal (Twilio: message and code; Vonage: title)."""
    data = _json(response)
    parts = [str(data[k])[:200] for k in ("code", "message", "title", "detail") if k in data]
    return " ".join(parts)
