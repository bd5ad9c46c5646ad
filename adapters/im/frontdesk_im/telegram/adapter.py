"""The Telegram channel: a bot's webhook updates in, ``sendMessage`` out.

The tenant creates a bot with @BotFather and the channel registers nothing
itself: the admin calls ``setWebhook`` with the channel's webhook URL and the
``secret_token`` of its configuration (README.md has the command).
"""

from __future__ import annotations

import hmac
import re
from typing import Annotated, ClassVar

import httpx
import msgspec

from frontdesk.channels import (
    SECRET,
    TARGET,
    Attachment,
    Capabilities,
    ChannelAdapter,
    ChannelEvent,
    CheckResult,
    CheckStep,
    ContactKindName,
    DeliveryReceipt,
    InboundMessage,
    InboundRequest,
    OutboundMessage,
    Parsed,
    SignatureInvalid,
    ThreadHints,
)
from frontdesk_im import _http
from frontdesk_im._inbound import at, clean, compact, decode_json, name, sender
from frontdesk_im._text import MAX_PARTS, split_text, too_long, utf16_units
from frontdesk_im._version import __version__
from frontdesk_im.telegram.wire import Answer, Chat, File, Message, Update, User

PROVIDER = "telegram"
SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name
#: The Bot API's limit for one message's text, in UTF-16 code units.
MAX_TEXT = 4096

_BASE_URL = r"^https?://[^\s/?#]+[^\s?#]*$"
# "<chat>[/<topic>][@<business connection>]", as conversation_id() writes it.
_CONVERSATION = re.compile(r"(-?[0-9]{1,20})(?:/([0-9]{1,20}))?(?:@(\S{1,128}))?")


class TelegramConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One Telegram bot's settings."""

    #: The bot's token from @BotFather (``123456:ABC-DEF…``).
    bot_token: Annotated[str, SECRET, msgspec.Meta(pattern=r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,200}$")]
    #: The ``secret_token`` given to ``setWebhook``; Telegram sends it back in
    #: ``X-Telegram-Bot-Api-Secret-Token`` with every update.
    secret_token: Annotated[str, SECRET, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{16,256}$")]
    #: The Bot API; change it only for a local Bot API server or a test server.
    api_base_url: Annotated[str, TARGET, msgspec.Meta(pattern=_BASE_URL, max_length=2048)] = (
        "https://api.telegram.org"
    )
    #: Each API request (connect, send, answer) must finish within this.
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0


class TelegramAdapter(ChannelAdapter[TelegramConfig]):
    """Telegram: customers write to the tenant's bot; agents answer as the bot."""

    kind: ClassVar[str] = "telegram"
    display_name: ClassVar[str] = "Telegram"
    version: ClassVar[str] = __version__
    config_type: ClassVar[type[msgspec.Struct]] = TelegramConfig
    contact_kind: ClassVar[ContactKindName] = "im"
    # max_length is the Bot API's per-message limit; longer replies are split.
    capabilities: ClassVar[Capabilities] = Capabilities(threads=True, max_length=MAX_TEXT)
    #: 1.3: ``check`` (the console's connection test) and the ``TARGET`` mark.
    sdk_versions: ClassVar[str] = ">=1.3,<2"

    async def verify(self, request: InboundRequest) -> None:
        given = request.headers.get(SECRET_HEADER)
        if not given:
            raise SignatureInvalid(f"missing {SECRET_HEADER}")
        expected = self.config.secret_token.encode()
        if not hmac.compare_digest(expected, given.encode("utf-8", "surrogatepass")):
            raise SignatureInvalid(f"{SECRET_HEADER} does not match the channel's secret_token")

    async def parse(self, request: InboundRequest) -> Parsed:
        return parse_update(request.body)

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        recipient = message.recipient
        if recipient.provider not in (None, PROVIDER):
            return _http.final(
                f"the recipient is a {recipient.provider} handle, not a Telegram one"
            )
        target = _CONVERSATION.fullmatch(message.thread.conversation_id or "") or (
            _CONVERSATION.fullmatch(recipient.value)
        )
        chat_id: int | str = recipient.value  # a public chat's @username, say
        topic: str | None = None
        business: str | None = None
        if target is not None:
            chat_id, topic, business = int(target[1]), target[2], target[3]
        parts = split_text(message.text, MAX_TEXT, utf16_units)
        if not parts:
            return _http.final("the reply is empty")
        if len(parts) > MAX_PARTS:
            return _http.final(too_long("Telegram", message.text, MAX_TEXT, "UTF-16 units"))
        url = f"{self.config.api_base_url.rstrip('/')}/bot{self.config.bot_token}/sendMessage"
        timeout = self.config.timeout_seconds
        async with _http.client(timeout) as http:

            async def send(part: str) -> DeliveryReceipt:
                payload: dict[str, object] = {"chat_id": chat_id, "text": part}
                if topic is not None:
                    payload["message_thread_id"] = int(topic)
                if business is not None:
                    payload["business_connection_id"] = business
                answer = await _http.call(http, "POST", url, json=payload, time_limit=timeout)
                return _receipt(answer)

            return await _http.send_parts(
                parts,
                send,
                provider="Telegram",
                time_limit=timeout,
                secrets=[self.config.bot_token],
            )

    async def check(self) -> CheckResult:
        """Ask the Bot API who the bot is (``getMe``, SDK 1.3): the token works, and
        which bot it is. Sends nothing to anyone."""
        url = f"{self.config.api_base_url.rstrip('/')}/bot{self.config.bot_token}/getMe"
        what = "Telegram getMe"
        timeout = self.config.timeout_seconds
        try:
            async with _http.client(timeout) as http:
                answer = await _http.call(http, "GET", url, time_limit=timeout)
        except (TimeoutError, httpx.HTTPError) as exc:
            failed = _http.unreachable(exc, "Telegram", timeout, [self.config.bot_token])
            return CheckResult(steps=[CheckStep(what=what, ok=False, detail=failed.error or "")])
        me: Me | None = _http.decode(answer, Me)
        if 200 <= answer.status < 300 and me is not None and me.ok and me.result is not None:
            bot = f"@{me.result.username}" if me.result.username else str(me.result.id)
            return CheckResult(steps=[CheckStep(what=what, ok=True, detail=f"signed in as {bot}")])
        said = f": {clean(me.description)[:200]}" if me and me.description else ""
        detail = f"Telegram answered {answer.status}{said}"
        return CheckResult(steps=[CheckStep(what=what, ok=False, detail=detail)])


class Me(msgspec.Struct, frozen=True):
    """``getMe``'s answer."""

    ok: bool
    result: User | None = None
    description: str | None = None


def _receipt(answer: _http.Answer) -> DeliveryReceipt:
    result: Answer | None = _http.decode(answer, Answer)
    if 200 <= answer.status < 300:
        if result is not None and not result.ok:
            return _http.retry("Telegram answered ok: false to a 2xx; sending again")
        message_id = result.result.message_id if result and result.result else None
        return _http.sent(None if message_id is None else str(message_id))
    # Only Telegram's own description is shown: a short, fixed-format sentence.
    said = f": {clean(result.description)[:200]}" if result and result.description else ""
    error = f"Telegram answered {answer.status}{said}"
    receipt = _http.by_status(answer, error)
    if answer.status == 429 and result and result.parameters and result.parameters.retry_after:
        # The Bot API says how long to wait in the body, not always in a header.
        receipt = msgspec.structs.replace(receipt, retry_after=result.parameters.retry_after)
    return receipt


# --- parsing ------------------------------------------------------------------


def parse_update(body: bytes) -> Parsed:
    """One webhook update into at most one message or event; ``MalformedPayload`` if broken.

    The update's ``update_id`` is the external id: Telegram resends an update
    until it is answered 2xx, always with the same ``update_id``.
    """
    update = decode_json(body, Update, "Telegram update")
    external_id = str(update.update_id)
    for new in (update.message, update.business_message):
        if new is not None:
            message = _message(new, external_id)
            return Parsed(messages=[] if message is None else [message])
    for edited in (update.edited_message, update.edited_business_message):
        if edited is not None and _customer(edited) is not None:
            return Parsed(events=[_edited(edited, external_id)])
    deleted = update.deleted_business_messages
    if deleted is not None:
        event = ChannelEvent(
            external_id=external_id,
            kind="delivery_status",
            thread=ThreadHints(
                conversation_id=_chat_key(deleted.chat, None, deleted.business_connection_id)
            ),
            data={
                "change": "message_deleted",
                "message_ids": [str(i) for i in deleted.message_ids],
            },
        )
        return Parsed(events=[event])
    # Channel posts, callback queries, polls, membership changes: nothing for the inbox.
    return Parsed()


def _customer(message: Message) -> User | None:
    """The person who wrote ``message``, unless it was a bot (ours included)."""
    user = message.from_
    return None if user is None or user.is_bot else user


def _chat_key(chat: Chat, topic: int | None, business: str | None) -> str:
    key = str(chat.id)
    if topic is not None:
        key += f"/{topic}"
    if business is not None:
        key += f"@{business}"
    return key


def _conversation(message: Message) -> ThreadHints:
    topic = message.message_thread_id if message.is_topic_message else None
    return ThreadHints(
        conversation_id=_chat_key(message.chat, topic, message.business_connection_id)
    )


def _message(message: Message, external_id: str) -> InboundMessage | None:
    user = _customer(message)
    if user is None:
        return None
    content = _content(message)
    if content is None:
        return None  # a service message: someone joined, a title changed
    text, attachments, file_ids = content
    return InboundMessage(
        external_id=external_id,
        sender=sender(
            PROVIDER, str(user.id), name(user.first_name, user.last_name) or name(user.username)
        ),
        text=text,
        thread=_conversation(message),
        attachments=attachments,
        sent_at=at(message.date),
        metadata=compact(
            message_id=str(message.message_id),
            chat_type=message.chat.type,
            username=user.username,
            file_ids=file_ids,
        ),
    )


def _edited(message: Message, external_id: str) -> ChannelEvent:
    # The SDK has no "edited" kind, and an event's data is not masked for card
    # numbers as message text is: so the event says which message changed, not how.
    user = _customer(message)
    assert user is not None
    return ChannelEvent(
        external_id=external_id,
        kind="delivery_status",
        sender=sender(PROVIDER, str(user.id), name(user.first_name, user.last_name)),
        thread=_conversation(message),
        occurred_at=at(message.edit_date or message.date),
        data={"change": "message_edited", "message_id": str(message.message_id)},
    )


def _attachment(file: File, default_name: str, default_type: str) -> Attachment:
    return Attachment(
        filename=clean(file.file_name or "").strip()[:255] or default_name,
        content_type=file.mime_type if file.mime_type and "/" in file.mime_type else default_type,
        size=file.file_size or 0,
    )


def _content(m: Message) -> tuple[str, list[Attachment], list[str]] | None:
    """What an agent reads, the files (Telegram ids kept for fetching them
    with ``getFile``), or ``None`` for a message with nothing to show."""
    caption = clean(m.caption or m.text or "").strip()
    attachments: list[Attachment] = []
    file_ids: list[str] = []
    placeholder: str | None = None
    if m.photo:
        largest = max(m.photo, key=lambda p: p.width * p.height)
        attachments.append(
            Attachment(
                filename=f"photo-{largest.file_unique_id or m.message_id}.jpg",
                content_type="image/jpeg",
                size=largest.file_size or 0,
            )
        )
        file_ids.append(largest.file_id)
        placeholder = "[photo]"
    files = (
        (m.document, "file", "application/octet-stream", "[file]"),
        (m.video, "video.mp4", "video/mp4", "[video]"),
        (m.voice, "voice.ogg", "audio/ogg", "[voice message]"),
        (m.audio, "audio.mp3", "audio/mpeg", "[audio]"),
        (m.animation, "animation.mp4", "video/mp4", "[GIF]"),
        (m.video_note, "video-note.mp4", "video/mp4", "[video message]"),
        (m.sticker, "sticker.webp", "image/webp", "[sticker]"),
    )
    for file, default_name, default_type, label in files:
        if file is not None:
            attachments.append(_attachment(file, default_name, default_type))
            file_ids.append(file.file_id)
            placeholder = placeholder or label
            if file is m.document and file.file_name:
                placeholder = f"[file: {attachments[-1].filename}]"
            if file is m.sticker and file.emoji:
                placeholder = f"[sticker {clean(file.emoji)}]"
    if m.location is not None:
        placeholder = f"[location: {m.location.latitude}, {m.location.longitude}]"
    if m.contact is not None:
        who = name(m.contact.first_name, m.contact.last_name) or ""
        placeholder = f"[contact: {who} {clean(m.contact.phone_number)}]".replace("  ", " ")
    text = caption or placeholder
    if text is None:
        return None
    return text, attachments, file_ids
