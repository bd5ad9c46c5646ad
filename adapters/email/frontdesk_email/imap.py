"""IMAP polling: what arrived in a mailbox since the cursor, read-only, in a worker thread.

imaplib rather than aioimaplib: a poll is one short session (log in, EXAMINE,
UID SEARCH, UID FETCH, log out) every so often, which the standard library
does well in a thread; an asynchronous client pays off for IDLE, a held-open
connection, which this first version does not use (the core polls on a timer).

The cursor is ``"<UIDVALIDITY>:<last UID handed over>"``. UIDs only grow
within one UIDVALIDITY, so ``UID SEARCH UID <last+1>:*`` finds exactly what
is new: a restart neither skips nor repeats. When the server's UIDVALIDITY
changes (the mailbox was rebuilt), old UIDs mean nothing and the mailbox is
read again from ``imap_backfill_days`` back; messages seen before come again
with their Message-IDs and are dropped by the intake as redeliveries.
The mailbox is opened read-only and bodies fetched with ``BODY.PEEK``, so
nothing is marked seen, moved or deleted.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import imaplib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from frontdesk.channels import ChannelError, ConfigInvalid, InboundRequest, PollResult
from frontdesk_email.config import EmailConfig
from frontdesk_email.inbound import (
    IMAP_UID_HEADER,
    OVERSIZED_HEADER,
    SOURCE_HEADER,
    local_request,
)
from frontdesk_email.outbound import Abort, tls_context

_CURSOR = re.compile(r"([0-9]{1,10}):([0-9]{1,10})")
_UID = re.compile(rb"UID ([0-9]+)")
_SIZE = re.compile(rb"RFC822\.SIZE ([0-9]+)")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Cursor:
    uidvalidity: int
    last_uid: int

    def __str__(self) -> str:
        return f"{self.uidvalidity}:{self.last_uid}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        """A cursor from its text; None (start over) for a missing or unreadable one."""
        match = _CURSOR.fullmatch(value or "")
        return cls(int(match[1]), int(match[2])) if match else None


def mailbox_name(name: str) -> str:
    """``name`` as an IMAP quoted string, in modified UTF-7 (RFC 3501 §5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            encoded = base64.b64encode(data).decode().rstrip("=").replace("/", ",")
            out.append(f"&{encoded}-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    text = "".join(out)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _since(days: int, today: dt.date) -> str:
    day = today - dt.timedelta(days=days)
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


class _Session:
    def __init__(self, config: EmailConfig, abort: Abort) -> None:
        assert config.imap_host is not None
        timeout = config.imap_timeout_seconds
        self.client: imaplib.IMAP4
        if config.imap_security == "tls":
            self.client = imaplib.IMAP4_SSL(
                config.imap_host,
                config.imap_port,
                ssl_context=tls_context(config.imap_ca_pem),
                timeout=timeout,
            )
        else:
            self.client = imaplib.IMAP4(config.imap_host, config.imap_port, timeout=timeout)
        abort.attach(self.client.sock)
        if config.imap_security == "starttls":
            self.client.starttls(ssl_context=tls_context(config.imap_ca_pem))
            abort.attach(self.client.sock)

    def check(self, what: str, answer: tuple[str, list[object]]) -> list[object]:
        status, data = answer
        if status != "OK":
            raise ChannelError(f"IMAP {what} failed: {_text(data)}")
        return data


def _text(data: Sequence[object]) -> str:
    parts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data]
    return " ".join(parts)[:200]


def _uids(data: list[object]) -> list[int]:
    line = data[0] if data and isinstance(data[0], bytes) else b""
    return sorted({int(u) for u in line.split() if u.isdigit()})


def poll(
    config: EmailConfig,
    cursor: str | None,
    *,
    channel_id: str,
    url: str,
    abort: Abort,
    today: dt.date | None = None,
) -> PollResult:
    """One poll (blocking: run it in a thread). Raises ``ChannelError`` on failure."""
    assert config.imap_username is not None and config.imap_password is not None
    previous = Cursor.parse(cursor)
    try:
        session = _Session(config, abort)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ChannelError(
            f"could not reach the IMAP server: {type(exc).__name__}: {exc}"
        ) from None
    client = session.client
    try:
        try:
            client.login(config.imap_username, config.imap_password)
        except imaplib.IMAP4.error as exc:
            raise ConfigInvalid(f"IMAP login failed: {str(exc)[:200]}") from None
        status, data = client.select(mailbox_name(config.imap_mailbox), readonly=True)
        if status != "OK":
            raise ConfigInvalid(
                f"IMAP mailbox {config.imap_mailbox!r} cannot be opened: {_text(data)}"
            )
        validity = _response_int(client, "UIDVALIDITY")
        if validity is None:
            raise ChannelError("the IMAP server did not say the mailbox's UIDVALIDITY")
        if previous is not None and previous.uidvalidity == validity:
            found = session.check(
                "UID SEARCH", client.uid("SEARCH", f"UID {previous.last_uid + 1}:*")
            )
            # "n:*" always includes the highest UID, even when it is below n.
            candidates = [u for u in _uids(found) if u > previous.last_uid]
            batch = candidates[: config.imap_batch]
            last = batch[-1] if batch else previous.last_uid
        else:
            highest = _highest(session, client)
            candidates = []
            if config.imap_backfill_days > 0:
                since = _since(config.imap_backfill_days, today or dt.date.today())
                found = session.check("UID SEARCH", client.uid("SEARCH", f"SINCE {since}"))
                candidates = _uids(found)
            batch = candidates[: config.imap_batch]
            # All of the backfill handed over: the cursor moves past the older mail
            # it left out on purpose; otherwise only past what was handed over.
            last = batch[-1] if len(batch) < len(candidates) else max([highest, *batch])
        requests = _fetch(session, config, batch, validity, channel_id=channel_id, url=url)
        return PollResult(requests=requests, cursor=str(Cursor(validity, last)))
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise ChannelError(f"the IMAP connection failed: {type(exc).__name__}: {exc}") from None
    except imaplib.IMAP4.error as exc:
        raise ChannelError(f"IMAP error: {str(exc)[:200]}") from None
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            with contextlib.suppress(OSError):
                client.shutdown()


def _response_int(client: imaplib.IMAP4, code: str) -> int | None:
    _, values = client.response(code)
    for value in values or []:
        text = value.decode() if isinstance(value, bytes) else str(value)
        if text.strip().isdigit():
            return int(text.strip())
    return None


def _highest(session: _Session, client: imaplib.IMAP4) -> int:
    # The baseline for a fresh start: the highest UID now in the mailbox.
    uids = _uids(session.check("UID SEARCH", client.uid("SEARCH", "ALL")))
    return uids[-1] if uids else 0


def _fetch(
    session: _Session,
    config: EmailConfig,
    uids: list[int],
    validity: int,
    *,
    channel_id: str,
    url: str,
) -> list[InboundRequest]:
    if not uids:
        return []
    client = session.client
    sizes: dict[int, int] = {}
    answer = session.check(
        "UID FETCH", client.uid("FETCH", ",".join(map(str, uids)), "(UID RFC822.SIZE)")
    )
    for item in answer:
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes):
            uid_match, size_match = _UID.search(line), _SIZE.search(line)
            if uid_match and size_match:
                sizes[int(uid_match[1])] = int(size_match[1])
    requests = []
    for uid in uids:
        size = sizes.get(uid, 0)
        oversized = size > config.max_message_bytes
        part = "BODY.PEEK[HEADER]" if oversized else "BODY.PEEK[]"
        data = session.check("UID FETCH", client.uid("FETCH", str(uid), f"({part})"))
        body = next(
            (item[1] for item in data if isinstance(item, tuple) and isinstance(item[1], bytes)),
            None,
        )
        if body is None:
            continue  # expunged between SEARCH and FETCH
        headers = {SOURCE_HEADER: "imap", IMAP_UID_HEADER: f"{validity}:{uid}"}
        if oversized:
            headers[OVERSIZED_HEADER] = str(size)
        requests.append(local_request(channel_id=channel_id, url=url, body=body, headers=headers))
    return requests
