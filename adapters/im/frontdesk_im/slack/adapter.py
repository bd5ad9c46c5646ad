"""The Slack channel: Events API callbacks in, ``chat.postMessage`` out.

A tenant creates a Slack app, subscribes it to message events (``message.im``
for direct messages, ``message.channels``/``message.groups`` for Slack
Connect channels shared with customers), sets the Request URL to the
channel's webhook URL, and installs it for a bot token. README.md has the set-up.
"""

from __future__ import annotations

import datetime as dt
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
    MalformedPayload,
    OutboundMessage,
    Parsed,
    ThreadHints,
    WebhookReply,
)
from frontdesk_im import _http
from frontdesk_im._inbound import clean, compact, decode_json, name, sender
from frontdesk_im._text import MAX_PARTS, split_text, too_long
from frontdesk_im._version import __version__
from frontdesk_im.slack.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TOLERANCE_SECONDS,
    verify_signature,
)
from frontdesk_im.slack.wire import Envelope, EventType, Inner, MessageEvent, PostAnswer

PROVIDER = "slack"
#: Slack truncates a message's text after 40,000 characters and recommends
#: at most 4,000; replies are split at the recommendation.
MAX_TEXT = 4000

_BASE_URL = r"^https?://[^\s/?#]+[^\s?#]*$"
# A customer's own messages; everything else (joins, topic changes, bot posts) is not.
_MESSAGE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})
# chat.postMessage errors that may pass; any other error will happen again.
_RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# "<channel>" or "<channel>:<thread ts>", as _conversation() writes it.
_CONVERSATION = re.compile(r"([A-Z0-9]{1,32})(?::([0-9]{1,12}\.[0-9]{1,9}))?")
# Slack's markup for links and mentions: <target> or <target|label>.
_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


class SlackConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One Slack app's settings."""

    #: The app's Signing Secret (Basic Information → App Credentials).
    signing_secret: Annotated[str, SECRET, msgspec.Meta(min_length=16, max_length=256)]
    #: The Bot User OAuth Token (``xoxb-…``) of the installation.
    bot_token: Annotated[str, SECRET, msgspec.Meta(pattern=r"^xox[bpa]-[A-Za-z0-9-]{8,250}$")]
    #: Slack's Web API; change it only for a proxy or a test server.
    api_base_url: Annotated[str, TARGET, msgspec.Meta(pattern=_BASE_URL, max_length=2048)] = (
        "https://slack.com/api"
    )
    #: Each API request (connect, send, answer) must finish within this.
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    #: How far a request's timestamp may be from now, either way.
    tolerance_seconds: Annotated[int, msgspec.Meta(ge=1, le=3600)] = TOLERANCE_SECONDS


class SlackAdapter(ChannelAdapter[SlackConfig]):
    """Slack: customers write to the tenant's app, directly or in shared channels."""

    kind: ClassVar[str] = "slack"
    display_name: ClassVar[str] = "Slack"
    version: ClassVar[str] = __version__
    config_type: ClassVar[type[msgspec.Struct]] = SlackConfig
    contact_kind: ClassVar[ContactKindName] = "im"
    capabilities: ClassVar[Capabilities] = Capabilities(threads=True, max_length=MAX_TEXT)
    #: 1.3: ``check`` (the console's connection test) and the ``TARGET`` mark.
    sdk_versions: ClassVar[str] = ">=1.3,<2"

    async def verify(self, request: InboundRequest) -> None:
        verify_signature(
            self.config.signing_secret,
            request.body,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(TIMESTAMP_HEADER),
            tolerance_seconds=self.config.tolerance_seconds,
        )

    async def parse(self, request: InboundRequest) -> Parsed:
        return parse_callback(request.body)

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        recipient = message.recipient
        if recipient.provider not in (None, PROVIDER):
            return _http.final(f"the recipient is a {recipient.provider} handle, not a Slack one")
        target = _CONVERSATION.fullmatch(message.thread.conversation_id or "")
        # Without a conversation, a user id as the channel is a direct message from the app.
        channel, thread_ts = (target[1], target[2]) if target else (recipient.value, None)
        parts = split_text(message.text, MAX_TEXT, lambda s: len(escape(s)))
        if not parts:
            return _http.final("the reply is empty")
        if len(parts) > MAX_PARTS:
            return _http.final(too_long("Slack", message.text, MAX_TEXT, "characters"))
        url = f"{self.config.api_base_url.rstrip('/')}/chat.postMessage"
        headers = {"Authorization": f"Bearer {self.config.bot_token}"}
        timeout = self.config.timeout_seconds
        async with _http.client(timeout) as http:

            async def send(part: str) -> DeliveryReceipt:
                payload = {"channel": channel, "text": escape(part), "unfurl_links": False}
                if thread_ts is not None:
                    payload["thread_ts"] = thread_ts
                answer = await _http.call(
                    http, "POST", url, json=payload, headers=headers, time_limit=timeout
                )
                return _receipt(answer)

            return await _http.send_parts(
                parts, send, provider="Slack", time_limit=timeout, secrets=[self.config.bot_token]
            )

    async def check(self) -> CheckResult:
        """``auth.test`` with the bot token (SDK 1.3): the token works, for which
        workspace and bot user. Posts nothing."""
        url = f"{self.config.api_base_url.rstrip('/')}/auth.test"
        headers = {"Authorization": f"Bearer {self.config.bot_token}"}
        what = "Slack auth.test"
        timeout = self.config.timeout_seconds
        try:
            async with _http.client(timeout) as http:
                answer = await _http.call(http, "POST", url, headers=headers, time_limit=timeout)
        except (TimeoutError, httpx.HTTPError) as exc:
            failed = _http.unreachable(exc, "Slack", timeout, [self.config.bot_token])
            return CheckResult(steps=[CheckStep(what=what, ok=False, detail=failed.error or "")])
        found: AuthTest | None = _http.decode(answer, AuthTest)
        if 200 <= answer.status < 300 and found is not None and found.ok:
            detail = (
                f"signed in as {clean(found.user or '')[:80]} in {clean(found.team or '')[:80]}"
            )
            return CheckResult(steps=[CheckStep(what=what, ok=True, detail=detail)])
        said = f": {clean(found.error)[:100]}" if found and found.error else ""
        detail = f"Slack answered {answer.status}{said}"
        return CheckResult(steps=[CheckStep(what=what, ok=False, detail=detail)])


class AuthTest(msgspec.Struct, frozen=True):
    """``auth.test``'s answer."""

    ok: bool
    user: str | None = None
    team: str | None = None
    error: str | None = None


def escape(text: str) -> str:
    """Plain text as Slack expects it: ``&``, ``<`` and ``>`` escaped, so nothing an
    agent writes becomes a mention or a link by accident."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _receipt(answer: _http.Answer) -> DeliveryReceipt:
    if not 200 <= answer.status < 300:
        return _http.by_status(answer, f"Slack answered {answer.status}")
    result: PostAnswer | None = _http.decode(answer, PostAnswer)
    if result is None:
        return _http.retry("Slack's answer to chat.postMessage could not be read")
    if result.ok:
        return _http.sent(result.ts)
    error = clean(result.error or "unknown_error")[:100]
    if error in _RETRYABLE_ERRORS:
        return _http.retry(f"Slack could not take the reply now ({error})")
    return _http.final(f"Slack refused the reply: {error}")


# --- parsing ------------------------------------------------------------------


def parse_callback(body: bytes) -> Parsed:
    """One Events API request: a URL verification, or a message event, or nothing.

    The envelope's ``event_id`` is the external id: Slack retries a callback
    not answered within 3 s (``X-Slack-Retry-Num``) with the same ``event_id``.
    """
    envelope = decode_json(body, Envelope, "Slack callback")
    if envelope.type == "url_verification":
        challenge = envelope.challenge
        if challenge is None or not _CHALLENGE.fullmatch(challenge):
            raise MalformedPayload("a url_verification needs a challenge of letters and digits")
        return Parsed(
            reply=WebhookReply(status=200, body=challenge.encode(), content_type="text/plain")
        )
    if envelope.type != "event_callback":
        return Parsed()  # app_rate_limited, and types Slack adds later
    if envelope.event_id is None or len(envelope.event) == 0:
        raise MalformedPayload("an event_callback needs event_id and event")
    kind = decode_json(envelope.event, EventType, "Slack event")
    if kind.type != "message":
        return Parsed()
    event = decode_json(envelope.event, MessageEvent, "Slack message event")
    external_id = envelope.event_id
    if kind.subtype in _MESSAGE_SUBTYPES:
        message = _message(event, external_id)
        return Parsed(messages=[] if message is None else [message])
    if kind.subtype == "message_changed" and event.message is not None:
        return _change(event, event.message, external_id, "message_edited", event.message.ts)
    if kind.subtype == "message_deleted" and event.previous_message is not None:
        return _change(
            event, event.previous_message, external_id, "message_deleted", event.deleted_ts
        )
    return Parsed()


def _conversation(event: MessageEvent, thread_ts: str | None, ts: str | None) -> ThreadHints:
    # A direct message is one running conversation; in a shared channel each
    # thread is one (a customer's top-level message starts it), and replies go there.
    if event.channel_type == "im" or (thread_ts or ts) is None:
        return ThreadHints(conversation_id=event.channel)
    return ThreadHints(conversation_id=f"{event.channel}:{thread_ts or ts}")


def _message(event: MessageEvent, external_id: str) -> InboundMessage | None:
    if event.bot_id is not None or event.user is None:
        return None  # our own replies come back as events too
    if event.ts is None:
        raise MalformedPayload("a message event needs ts")
    text = plain(clean(event.text or "")).strip()
    attachments = [
        Attachment(
            filename=clean(f.name or f.title or "").strip()[:255] or f.id,
            content_type=f.mimetype
            if f.mimetype and "/" in f.mimetype
            else "application/octet-stream",
            size=f.size,
            # Fetching it takes the bot token (Authorization: Bearer).
            url=f.url_private if f.url_private and f.url_private.startswith("https://") else None,
        )
        for f in event.files
    ]
    if not text and not attachments:
        return None
    if not text:
        text = "[file: " + ", ".join(a.filename for a in attachments) + "]"
    profile = event.user_profile
    return InboundMessage(
        external_id=external_id,
        sender=sender(
            PROVIDER,
            event.user,
            name(profile.display_name) or name(profile.real_name) if profile else None,
        ),
        text=text,
        thread=_conversation(event, event.thread_ts, event.ts),
        attachments=attachments,
        sent_at=_time(event.ts),
        metadata=compact(
            channel=event.channel,
            channel_type=event.channel_type,
            ts=event.ts,
            file_ids=[f.id for f in event.files],
        ),
    )


def _change(
    event: MessageEvent, inner: Inner, external_id: str, change: str, ts: str | None
) -> Parsed:
    # The SDK has no "edited"/"deleted" kinds, and an event's data is not masked
    # for card numbers as message text is: the event says which message changed.
    if inner.bot_id is not None or inner.user is None:
        return Parsed()
    return Parsed(
        events=[
            ChannelEvent(
                external_id=external_id,
                kind="delivery_status",
                sender=sender(PROVIDER, inner.user),
                thread=_conversation(event, inner.thread_ts, inner.ts),
                occurred_at=_time(event.ts) if event.ts else None,
                data=compact(change=change, message_id=ts),
            )
        ]
    )


def _time(ts: str) -> dt.datetime:
    """A message ts as a time, to the microsecond (a float would round some)."""
    seconds, _, fraction = ts.partition(".")
    micro = int(fraction[:6].ljust(6, "0"))
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC) + dt.timedelta(microseconds=micro)


def plain(text: str) -> str:
    """Slack's markup as plain text: ``<https://x|site>`` → ``site (https://x)``,
    ``<@U123>`` → ``@U123``, ``&amp;`` → ``&``."""

    def replace(match: re.Match[str]) -> str:
        target, label = match[1], match[2]
        if target[:1] in ("@", "#"):
            return target[0] + (label or target[1:])
        if target.startswith("!"):
            return label if label and label.startswith("@") else "@" + target[1:].split("^")[0]
        shown = target.removeprefix("mailto:")
        return f"{label} ({shown})" if label and label != shown else shown

    text = _MARKUP.sub(replace, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
