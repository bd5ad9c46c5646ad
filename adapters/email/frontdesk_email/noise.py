"""Loop and noise protection: which inbound mail must never get an automatic answer.

The adapter only marks such mail (``InboundMessage.metadata["auto"]`` names
the first reason found); the core stores it like any other and decides not to
auto-answer it. The reasons, in the order they are checked, are in README.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from frontdesk_email import hints

_PRECEDENCE = {"bulk", "list", "junk"}
_AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-autoreply-from")
_DAEMONS = {"mailer-daemon", "mailer_daemon", "mail-daemon", "maildaemon", "postmaster"}
_NO_REPLY = re.compile(r"^(no-?reply|do-?not-?reply|donotreply|bounces?)([+._-].*)?$", re.I)
# Subjects that only auto-replies start with: Outlook, Gmail, QQ/Foxmail, NetEase.
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|autoreply|out of (the )?office|自动回复|"
    r"自動回覆|自动答复|auto response|automatische antwort|réponse automatique)\s*[:：]",
    re.IGNORECASE,
)

Header = Callable[[str], "str | None"]


def auto_reason(
    header: Header,
    *,
    sender: str | None,
    subject: str | None,
    content_type: str,
    message_id: str | None,
    envelope_from: str | None,
    own_addresses: frozenset[str],
    id_domain: str,
) -> str | None:
    """Why this message must get no automatic answer, or None for a person's mail.

    ``header(name)`` gives a header's first value, unfolded; ``envelope_from``
    is ``""`` for a null reverse-path (``MAIL FROM:<>``) and None when unknown.
    """
    # Our own mail coming back first: the most specific reason, whatever else it carries.
    if message_id is not None and hints.ours(message_id, id_domain):
        return "own-message-id"
    if sender is not None and sender.lower() in own_addresses:
        return "own-address"
    submitted = header("auto-submitted")
    if submitted is not None:
        kind = submitted.split(";", 1)[0].strip().lower()
        if kind and kind != "no":  # RFC 3834: anything but "no" is automatic
            return f"auto-submitted: {kind[:40]}"
    precedence = (header("precedence") or "").strip().lower()
    if precedence in _PRECEDENCE:
        return f"precedence: {precedence}"
    for name in _AUTOREPLY_HEADERS:
        value = header(name)
        if value is not None and value.strip().lower() not in ("no", "false", "0"):
            return name
    if header("x-auto-response-suppress") is not None:
        return "x-auto-response-suppress"
    if header("list-id") is not None or header("list-unsubscribe") is not None:
        return "list"
    if content_type == "multipart/report":
        return "report"
    if sender is not None:
        local = sender.rpartition("@")[0].lower()
        if local in _DAEMONS:
            return "mailer-daemon"
        if _NO_REPLY.match(local):
            return "no-reply"
    return_path = header("return-path")
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "null-sender"
    if return_path is not None and return_path.replace(" ", "") == "<>":
        return "null-sender"
    if subject and _AUTO_SUBJECT.match(subject):
        return "auto-reply-subject"
    return None
