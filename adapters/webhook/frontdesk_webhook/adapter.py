"""The webhook channel: signed JSON in from a customer's own system, signed JSON replies out."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
import uuid
from typing import Annotated, Any, ClassVar

import httpx
import msgspec

from frontdesk.channels import (
    SECRET,
    TARGET,
    Capabilities,
    ChannelAdapter,
    ChannelEvent,
    CheckResult,
    CheckStep,
    ContactKindName,
    ContactRef,
    DeliveryReceipt,
    InboundMessage,
    InboundRequest,
    MalformedPayload,
    OutboundMessage,
    Parsed,
    ThreadHints,
    sanitise_html,
)
from frontdesk_webhook._version import __version__
from frontdesk_webhook.signing import SIGNATURE_HEADER, sign, verify_signature
from frontdesk_webhook.wire import Ack, BatchIn, Contact, EventIn, MessageIn, ReplyOut

# A callback's answer is read only for its "id"; more than this is not read at all.
MAX_ACK_BYTES = 64 * 1024

#: Says what a POST to the callback is: ``reply`` (an agent's reply) or ``ping``
#: (the console's connection test, SDK 1.3).
EVENT_HEADER = "X-Frontdesk-Event"

# Besides 429 and 5xx, the two 4xx answers that mean "not now" rather than "never".
_RETRYABLE_4XX = {408, 425, 429}


class WebhookConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One webhook channel's settings."""

    #: The HMAC key shared with the customer's system; signs both directions.
    secret: Annotated[str, SECRET, msgspec.Meta(min_length=16, max_length=512)]
    #: Where agents' replies are POSTed; without it the channel is inbound only.
    callback_url: (
        Annotated[str, TARGET, msgspec.Meta(pattern=r"^https?://[^\s/?#]+", max_length=2048)] | None
    ) = None
    #: The whole delivery request (connect, send, answer) must finish within this.
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    #: How far a signature's timestamp may be from now, either way.
    tolerance_seconds: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 300


class WebhookAdapter(ChannelAdapter[WebhookConfig]):
    """A generic signed-JSON webhook: the channel for systems a tenant runs itself."""

    kind: ClassVar[str] = "webhook"
    display_name: ClassVar[str] = "Signed JSON webhook"
    version: ClassVar[str] = __version__
    config_type: ClassVar[type[msgspec.Struct]] = WebhookConfig
    # Each sender says its own kind in the payload; "im" (a handle namespaced
    # by "provider") is the usual one, for a system's own users.
    contact_kind: ClassVar[ContactKindName] = "im"
    contact_kinds: ClassVar[frozenset[ContactKindName]] = frozenset(
        {"email", "phone", "webchat", "im"}
    )
    capabilities: ClassVar[Capabilities] = Capabilities(
        threads=True, typing=True, read_receipts=True, rich_text=True
    )
    #: 1.3: ``check`` (the console's connection test) and the ``TARGET`` mark.
    sdk_versions: ClassVar[str] = ">=1.3,<2"

    async def verify(self, request: InboundRequest) -> None:
        verify_signature(
            self.config.secret,
            request.body,
            request.headers.get(SIGNATURE_HEADER.lower()),
            tolerance_seconds=self.config.tolerance_seconds,
        )

    async def parse(self, request: InboundRequest) -> Parsed:
        return parse_body(request.body)

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        if self.config.callback_url is None:
            return DeliveryReceipt(
                status="failed",
                error="this webhook channel has no callback_url, so it cannot send replies",
            )
        body = msgspec.json.encode(_reply(message))
        return await self._send(self.config.callback_url, body, message.id)

    async def check(self) -> CheckResult:
        """POST a signed ping to ``callback_url`` (SDK 1.3): ``{"type": "ping", "id": …}``
        with ``X-Frontdesk-Event: ping``. The customer's system answers it 2xx and
        does nothing else. Without ``callback_url`` there is nothing to check.
        """
        url = self.config.callback_url
        if url is None:
            return CheckResult()
        ping_id = f"ping-{uuid.uuid4().hex}"
        body = msgspec.json.encode({"type": "ping", "id": ping_id})
        receipt = await self._send(url, body, ping_id, event="ping")
        if receipt.status == "sent":
            return CheckResult(steps=[CheckStep(what=url, ok=True, detail="answered 2xx")])
        return CheckResult(steps=[CheckStep(what=url, ok=False, detail=receipt.error or "")])

    async def _send(
        self, url: str, body: bytes, idempotency_key: str, *, event: str = "reply"
    ) -> DeliveryReceipt:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"frontdesk-webhook/{__version__}",
            "Idempotency-Key": idempotency_key,
            EVENT_HEADER: event,
            SIGNATURE_HEADER: sign(self.config.secret, body, int(time.time())),
        }
        timeout = self.config.timeout_seconds
        try:
            # httpx's timeout applies to each phase; the outer one bounds the total,
            # so a callback trickling its answer cannot hold a worker indefinitely.
            async with asyncio.timeout(timeout):
                return await self._post(url, body, headers)
        except TimeoutError:
            return _retry(f"the callback did not answer within {timeout:g} s")
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return DeliveryReceipt(status="failed", error=f"callback_url is unusable: {exc}")
        except httpx.TimeoutException:
            return _retry(f"the callback did not answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            return _retry(f"could not reach the callback: {type(exc).__name__}: {exc}")

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> DeliveryReceipt:
        timeout = self.config.timeout_seconds
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            status = response.status_code
            if 200 <= status < 300:
                return DeliveryReceipt(status="sent", external_id=await _ack_id(response))
            # The answer's body is left out of the error on purpose: callback_url is
            # set by a tenant, and echoing what an internal address answered onto a
            # ticket would make the platform a window into its own network.
            error = f"the callback answered {status} {response.reason_phrase}".rstrip()
            if status >= 500 or status in _RETRYABLE_4XX:
                return _retry(error, retry_after(response.headers.get("retry-after")))
            if 300 <= status < 400:
                error += "; redirects are not followed, set callback_url to the final address"
            return DeliveryReceipt(status="failed", error=error)


def _retry(error: str, after: float | None = None) -> DeliveryReceipt:
    return DeliveryReceipt(status="failed", error=error, retryable=True, retry_after=after)


async def _ack_id(response: httpx.Response) -> str | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ACK_BYTES:
            return None
        chunks.append(chunk)
    try:
        ack = msgspec.json.decode(b"".join(chunks), type=Ack)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        # The reply was accepted (2xx); an answer we cannot read only loses its id.
        return None
    return None if ack.id is None else str(ack.id)


def retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = dt.datetime.now(dt.UTC) if now is None else now
    return max(0.0, (when - current).total_seconds())


def _reply(message: OutboundMessage) -> ReplyOut:
    recipient = message.recipient
    return ReplyOut(
        id=message.id,
        ticket_number=message.ticket_number,
        conversation_id=message.thread.conversation_id,
        in_reply_to=list(message.thread.in_reply_to),
        recipient=Contact(
            kind=recipient.kind,
            value=recipient.value,
            provider=recipient.provider,
            name=recipient.display_name,
        ),
        subject=message.subject,
        text=message.text,
        html=message.html,
        attempt=message.attempt,
    )


# --- parsing ------------------------------------------------------------------


def parse_body(body: bytes) -> Parsed:
    """Decode a request body into messages and events, or raise ``MalformedPayload``.

    Deterministic: the same body always gives the same result.
    """
    try:
        top = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
        if "messages" in top:
            batch = msgspec.json.decode(body, type=BatchIn)
            messages, events, where = batch.messages, batch.events, "$.messages"
        else:
            single = msgspec.json.decode(body, type=MessageIn)
            messages, events, where = [single], single.events, "$"
    except msgspec.ValidationError as exc:
        raise MalformedPayload(f"invalid webhook payload: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"the body is not JSON (UTF-8): {exc}") from None
    except RecursionError:
        raise MalformedPayload("the body is nested too deeply") from None

    seen: dict[str, str] = {}
    out_messages = []
    for i, message in enumerate(messages):
        path = where if where == "$" else f"{where}[{i}]"
        _check_unique(seen, message.id, path)
        out_messages.append(_message(message, path))
    out_events = []
    events_path = "$.events"
    for i, event in enumerate(events):
        path = f"{events_path}[{i}]"
        _check_unique(seen, event.id, path)
        out_events.append(_event(event, path))
    return Parsed(messages=out_messages, events=out_events)


def _check_unique(seen: dict[str, str], external_id: str, path: str) -> None:
    # Ids are how redeliveries are recognised: two different things under one id
    # in one request would have one of them silently dropped.
    if external_id in seen:
        raise MalformedPayload(f"{path}.id {external_id!r} repeats {seen[external_id]}.id")
    seen[external_id] = path


def _message(message: MessageIn, path: str) -> InboundMessage:
    if not message.text.strip():
        raise MalformedPayload(f"{path}.text is blank")
    fields = msgspec.to_builtins(message)
    del fields["events"]  # checked as events, each with its own path
    _refuse_nul(fields, path)
    return InboundMessage(
        external_id=message.id,
        sender=_contact(message.sender, f"{path}.sender"),
        text=message.text,
        subject=message.subject,
        html=sanitise_html(message.html),
        thread=ThreadHints(
            conversation_id=message.conversation_id,
            ticket_number=message.ticket_number,
            in_reply_to=[] if message.in_reply_to is None else [message.in_reply_to],
        ),
        sent_at=message.sent_at,
        metadata=dict(message.metadata),
    )


def _event(event: EventIn, path: str) -> ChannelEvent:
    _refuse_nul(msgspec.to_builtins(event), path)
    return ChannelEvent(
        external_id=event.id,
        kind=event.kind,
        sender=None if event.sender is None else _contact(event.sender, f"{path}.sender"),
        thread=ThreadHints(conversation_id=event.conversation_id),
        occurred_at=event.occurred_at,
        data=dict(event.data),
    )


def _contact(contact: Contact, path: str) -> ContactRef:
    if not contact.value.strip():
        raise MalformedPayload(f"{path}.value is blank")
    if contact.kind == "im" and contact.provider is None:
        raise MalformedPayload(
            f'{path}.provider is required when kind is "im": the network the handle '
            'belongs to, such as "telegram" or your system\'s own name'
        )
    return ContactRef(
        kind=contact.kind, value=contact.value, provider=contact.provider, display_name=contact.name
    )


def _refuse_nul(value: Any, where: str) -> None:
    """Raise if any string in ``value`` (a message or event as builtins) holds NUL.

    NUL is valid JSON (``"\\u0000"``) but PostgreSQL's text and jsonb columns
    refuse it; refusing it here is a clear 400 instead of a failed ingest later.
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise MalformedPayload(f"{where} contains a NUL character (\\u0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, f"{where} (a key)")
            step = f".{key}" if key.isidentifier() and key.isascii() else f"[{key!r}]"
            _refuse_nul(item, where + step)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_nul(item, f"{where}[{i}]")
