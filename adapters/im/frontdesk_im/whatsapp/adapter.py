"""The WhatsApp channel (Cloud API): webhook notifications in, ``/messages`` out.

The tenant adds the channel's webhook URL and ``verify_token`` to its Meta
app (WhatsApp → Configuration), subscribes to the ``messages`` field, and
gives the phone number id, an access token and the app secret. README.md has
the set-up, and what happens outside WhatsApp's 24-hour customer-service window.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, ClassVar

import httpx
import msgspec

from frontdesk.channels import (
    SECRET,
    TARGET,
    Attachment,
    Capabilities,
    ChannelAdapter,
    ChannelEvent,
    ContactKindName,
    DeliveryReceipt,
    InboundMessage,
    InboundRequest,
    MalformedPayload,
    OutboundMessage,
    Parsed,
    SignatureInvalid,
    ThreadHints,
    WebhookReply,
)
from frontdesk_im import _http
from frontdesk_im._inbound import clean, compact, decode_json, digits_time, name, sender
from frontdesk_im._text import MAX_PARTS, split_text, too_long, utf16_units
from frontdesk_im._version import __version__
from frontdesk_im.whatsapp.wire import (
    ErrorAnswer,
    Media,
    Message,
    Notification,
    SendAnswer,
    Status,
    Value,
)

PROVIDER = "whatsapp"
SIGNATURE_HEADER = "x-hub-signature-256"
#: The Cloud API's limit for a text message's body.
MAX_TEXT = 4096
#: "More than 24 hours have passed since the recipient last replied": only
#: approved templates may be sent until the customer writes again.
OUTSIDE_WINDOW = 131047

_BASE_URL = r"^https?://[^\s/?#]+[^\s?#]*$"
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Graph API codes that mean "not now": throttling (4, 80007, 130429, 131056)
# and temporary errors (1, 2, 131000, 131016, 133004).
_RATE_LIMITED = frozenset({4, 80007, 130429, 131056})
_TEMPORARY = frozenset({1, 2, 131000, 131016, 133004})
# Message types with nothing for an agent: reactions, number changes, a first
# opening of the chat.
_IGNORED = frozenset({"reaction", "system", "request_welcome", "ephemeral"})
Post = Callable[[dict[str, Any]], Awaitable[_http.Answer]]
_MEDIA_DEFAULTS = {
    "image": ("image/jpeg", "[image]"),
    "document": ("application/octet-stream", "[file]"),
    "audio": ("audio/ogg", "[audio]"),
    "video": ("video/mp4", "[video]"),
    "sticker": ("image/webp", "[sticker]"),
}


class WhatsAppConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One WhatsApp business phone number's settings."""

    #: The phone number's id (not the number itself): WhatsApp → API Setup.
    phone_number_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,32}$")]
    #: A system user's access token with ``whatsapp_business_messaging``.
    access_token: Annotated[str, SECRET, msgspec.Meta(min_length=16, max_length=2048)]
    #: The Meta app's App Secret: signs every notification (``X-Hub-Signature-256``).
    app_secret: Annotated[str, SECRET, msgspec.Meta(min_length=16, max_length=256)]
    #: The Verify Token typed into the app's webhook configuration.
    verify_token: Annotated[str, SECRET, msgspec.Meta(pattern=r"^[\x21-\x7e]{16,256}$")]
    #: An approved template sent when a reply is refused outside the 24-hour
    #: window, inviting the customer to write back; ``None`` to send nothing.
    template_name: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]{1,512}$")] | None = None
    #: The template's language code.
    template_language: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")] = "en_US"
    #: Pass the ticket number as the template body's one parameter (``{{1}}``).
    template_ticket_parameter: bool = False
    #: The Graph API, with its version; change it for a new version or a test server.
    api_base_url: Annotated[str, TARGET, msgspec.Meta(pattern=_BASE_URL, max_length=2048)] = (
        "https://graph.facebook.com/v23.0"
    )
    #: Each API request (connect, send, answer) must finish within this.
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0


class WhatsAppAdapter(ChannelAdapter[WhatsAppConfig]):
    """WhatsApp: customers write to the tenant's business number; agents answer from it."""

    kind: ClassVar[str] = "whatsapp"
    sdk_versions: ClassVar[str] = ">=1.3,<2"  # TARGET
    display_name: ClassVar[str] = "WhatsApp"
    version: ClassVar[str] = __version__
    config_type: ClassVar[type[msgspec.Struct]] = WhatsAppConfig
    contact_kind: ClassVar[ContactKindName] = "im"
    # read_receipts: WhatsApp reports when the customer read a reply.
    capabilities: ClassVar[Capabilities] = Capabilities(
        threads=True, read_receipts=True, max_length=MAX_TEXT
    )

    async def verify(self, request: InboundRequest) -> None:
        if request.method == "GET":
            # The subscription handshake carries no signature, only the verify token.
            given = _single(request, "hub.verify_token")
            if given is None:
                raise SignatureInvalid("missing hub.verify_token")
            if not hmac.compare_digest(
                self.config.verify_token.encode(), given.encode("utf-8", "surrogatepass")
            ):
                raise SignatureInvalid("hub.verify_token does not match the channel's")
            return
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            raise SignatureInvalid("missing X-Hub-Signature-256")
        given_digest = _SIGNATURE.fullmatch(header)
        if given_digest is None:
            raise SignatureInvalid("malformed X-Hub-Signature-256: it is sha256= and 64 hex digits")
        expected = hmac.new(self.config.app_secret.encode(), request.body, hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest().encode(), given_digest[1].lower().encode()):
            raise SignatureInvalid("X-Hub-Signature-256 does not match the body")

    async def parse(self, request: InboundRequest) -> Parsed:
        if request.method == "GET":
            mode, challenge = _single(request, "hub.mode"), _single(request, "hub.challenge")
            if mode != "subscribe" or challenge is None or not _CHALLENGE.fullmatch(challenge):
                raise MalformedPayload("a verification needs hub.mode=subscribe and hub.challenge")
            return Parsed(
                reply=WebhookReply(status=200, body=challenge.encode(), content_type="text/plain")
            )
        if request.method != "POST":
            raise MalformedPayload(f"WhatsApp sends GET and POST, not {request.method}")
        return parse_notification(request.body, self.config.phone_number_id)

    # -- outbound ----------------------------------------------------------

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        recipient = message.recipient
        if recipient.provider not in (None, PROVIDER):
            return _http.final(
                f"the recipient is a {recipient.provider} handle, not a WhatsApp one"
            )
        parts = split_text(message.text, MAX_TEXT, utf16_units)
        if not parts:
            return _http.final("the reply is empty")
        if len(parts) > MAX_PARTS:
            return _http.final(too_long("WhatsApp", message.text, MAX_TEXT, "characters"))
        timeout = self.config.timeout_seconds
        window_closed = False
        async with _http.client(timeout) as http:

            async def post(payload: dict[str, Any]) -> _http.Answer:
                return await _http.call(
                    http,
                    "POST",
                    f"{self.config.api_base_url.rstrip('/')}/{self.config.phone_number_id}/messages",
                    json={"messaging_product": "whatsapp", "to": recipient.value, **payload},
                    headers={"Authorization": f"Bearer {self.config.access_token}"},
                    time_limit=timeout,
                )

            async def send(part: str) -> DeliveryReceipt:
                nonlocal window_closed
                answer = await post(
                    {"recipient_type": "individual", "type": "text",
                     "text": {"preview_url": False, "body": part}}
                )  # fmt: skip
                error = _http.decode(answer, ErrorAnswer)
                if error is not None and error.error.code == OUTSIDE_WINDOW:
                    window_closed = True
                return _receipt(answer, error)

            secrets = [self.config.access_token]
            receipt = await _http.send_parts(
                parts, send, provider="WhatsApp", time_limit=timeout, secrets=secrets
            )
            if not window_closed:
                return receipt
            return await self._template_instead(post, message, secrets)

    async def _template_instead(
        self, post: Post, message: OutboundMessage, secrets: list[str]
    ) -> DeliveryReceipt:
        """Outside the 24-hour window: the reply is refused, and the configured
        template goes out instead, inviting the customer to write back."""
        refused = (
            "WhatsApp refused this reply: the customer last wrote more than 24 hours ago, and "
            "outside that window WhatsApp accepts only approved templates (error 131047)"
        )
        name_ = self.config.template_name
        if name_ is None:
            return _http.final(
                f"{refused}. Set template_name on the channel to send a template inviting the "
                "customer to write back, or reach them on another channel."
            )
        template: dict[str, Any] = {
            "name": name_,
            "language": {"code": self.config.template_language},
        }
        if self.config.template_ticket_parameter:
            template["components"] = [
                {"type": "body",
                 "parameters": [{"type": "text", "text": message.ticket_number or "-"}]}
            ]  # fmt: skip
        try:
            answer = await post({"type": "template", "template": template})
        except (TimeoutError, httpx.HTTPError) as exc:
            outcome = _http.unreachable(exc, "WhatsApp", self.config.timeout_seconds, secrets)
        else:
            outcome = _receipt(answer, _http.decode(answer, ErrorAnswer))
        if outcome.status == "sent":
            return DeliveryReceipt(
                status="failed",
                external_id=outcome.external_id,
                error=f"{refused}. The template {name_!r} was sent instead, inviting the customer "
                "to write back: send this reply again once they have.",
            )
        # Retryable if the template's failure is: the next attempt starts over.
        failed_too = _http.scrub(outcome.error or "", secrets)
        return msgspec.structs.replace(
            outcome,
            error=f"{refused}; sending the template {name_!r} instead failed too: {failed_too}",
        )


def _receipt(answer: _http.Answer, error: ErrorAnswer | None) -> DeliveryReceipt:
    if 200 <= answer.status < 300:
        sent: SendAnswer | None = _http.decode(answer, SendAnswer)
        return _http.sent(sent.messages[0].id if sent and sent.messages else None)
    if error is None:
        return _http.by_status(answer, f"WhatsApp answered {answer.status}")
    code = error.error.code
    said = clean(error.error.message or "")[:200]
    text = f"WhatsApp refused the reply (error {code}" + (f": {said})" if said else ")")
    wait = _http.retry_after(answer.headers.get("retry-after"))
    if answer.status == 429 or code in _RATE_LIMITED:
        return _http.retry(f"{text}: rate limited, sending later", wait)
    if answer.status >= 500 or code in _TEMPORARY:
        return _http.retry(text, wait)
    return _http.final(text)


def _single(request: InboundRequest, key: str) -> str | None:
    values = request.query.get(key)
    return values[0] if values and len(values) == 1 else None


# --- parsing ------------------------------------------------------------------


def parse_notification(body: bytes, phone_number_id: str) -> Parsed:
    """A webhook notification's messages and statuses for ``phone_number_id``.

    Messages are known by their ``wamid``; a status by the message's id and the
    status (``wamid…:read``). Changes for other phone numbers of the same app
    and fields other than ``messages`` are ignored.
    """
    notification = decode_json(body, Notification, "WhatsApp notification")
    if notification.object != "whatsapp_business_account":
        raise MalformedPayload(f"not a WhatsApp notification: object is {notification.object!r}")
    messages: dict[str, InboundMessage] = {}
    events: dict[str, ChannelEvent] = {}
    for entry in notification.entry:
        for change in entry.changes:
            if change.field != "messages":
                continue
            value = decode_json(change.value, Value, "WhatsApp messages change")
            if value.metadata is None:
                raise MalformedPayload("a messages change without metadata")
            if value.metadata.phone_number_id != phone_number_id:
                continue
            names = {c.wa_id: c.profile.name for c in value.contacts if c.profile}
            for m in value.messages:
                item = _item(m, names.get(m.from_))
                if isinstance(item, InboundMessage):
                    messages.setdefault(item.external_id, item)
                elif item is not None:
                    events.setdefault(item.external_id, item)
            for status in value.statuses:
                event = _status(status)
                events.setdefault(event.external_id, event)
    return Parsed(messages=list(messages.values()), events=list(events.values()))


def _item(m: Message, display_name: str | None) -> InboundMessage | ChannelEvent | None:
    who = sender(PROVIDER, m.from_, name(display_name))
    thread = ThreadHints(conversation_id=m.from_)
    sent_at = digits_time(m.timestamp, f"message {m.id} timestamp")
    if m.type in _IGNORED:
        return None
    if m.type in ("edit", "revoke"):
        original = m.edit if m.type == "edit" else m.revoke
        if original is None:
            raise MalformedPayload(f"an {m.type} message without its {m.type} object")
        # No SDK kind for these, and event data is not masked as text is: the
        # event says which message changed, not what it now says.
        return ChannelEvent(
            external_id=m.id,
            kind="delivery_status",
            sender=who,
            thread=thread,
            occurred_at=sent_at,
            data={
                "change": "message_edited" if m.type == "edit" else "message_deleted",
                "message_id": original.original_message_id,
            },
        )
    text, attachments, media_id = _content(m)
    return InboundMessage(
        external_id=m.id,
        sender=who,
        text=text,
        thread=ThreadHints(
            conversation_id=m.from_,
            in_reply_to=[m.context.id] if m.context and m.context.id else [],
        ),
        attachments=attachments,
        sent_at=sent_at,
        metadata=compact(type=m.type, media_id=media_id),
    )


def _content(m: Message) -> tuple[str, list[Attachment], str | None]:
    """What an agent reads, the attachment (by media id, fetched with the
    access token), and the media id."""
    if m.type == "text":
        if m.text is None:
            raise MalformedPayload(f"a text message without text: {m.id}")
        return clean(m.text.body).strip() or "[an empty message]", [], None
    if m.type in _MEDIA_DEFAULTS:
        media: Media | None = getattr(m, m.type)
        if media is None:
            raise MalformedPayload(f"an {m.type} message without its {m.type} object")
        default_type, label = _MEDIA_DEFAULTS[m.type]
        content_type = media.mime_type.split(";")[0].strip() if media.mime_type else ""
        content_type = content_type if "/" in content_type else default_type
        extension = content_type.split("/")[1][:10] if "/" in content_type else "bin"
        filename = (
            clean(media.filename or "").strip()[:255] or f"{m.type}-{media.id[-12:]}.{extension}"
        )
        if m.type == "document" and media.filename:
            label = f"[file: {filename}]"
        text = clean(media.caption or "").strip() or label
        return text, [Attachment(filename=filename, content_type=content_type, size=0)], media.id
    if m.type == "location" and m.location is not None:
        place = name(m.location.name, m.location.address)
        where = f"({m.location.latitude}, {m.location.longitude})"
        return f"[location] {place} {where}" if place else f"[location] {where}", [], None
    if m.type == "button" and m.button is not None:
        return clean(m.button.text).strip() or "[button]", [], None
    if m.type == "interactive" and m.interactive is not None:
        reply = m.interactive.button_reply or m.interactive.list_reply
        return (clean(reply.title).strip() if reply else "") or "[interactive reply]", [], None
    return f"[a message of type {clean(m.type)}, which this channel cannot show]", [], None


def _status(s: Status) -> ChannelEvent:
    digits = s.recipient_id if s.recipient_id and s.recipient_id.isdigit() else None
    return ChannelEvent(
        external_id=f"{s.id}:{s.status}",
        kind="read" if s.status == "read" else "delivery_status",
        thread=ThreadHints(conversation_id=digits[:20] if digits else None),
        occurred_at=digits_time(s.timestamp, f"status {s.id} timestamp"),
        data=compact(
            status=s.status,
            message_id=s.id,
            error_code=s.errors[0].code if s.errors else None,
            error=clean(s.errors[0].title or "")[:200] if s.errors else None,
        ),
    )
