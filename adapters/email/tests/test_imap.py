"""poll: IMAP polling against a real IMAP4rev1 server (pymap, in its own process, on 127.0.0.1).

The cursor is what the core saves between polls: a restart (a new adapter
with the saved cursor) must neither skip nor repeat a message.
"""

# (test secrets and reply tokens are fixed strings on purpose)

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from email_corpus import mail
from email_servers import IMAP_PASSWORD, IMAP_USER, ImapServer, free_port
from email_support import make_adapter

from frontdesk.channels import ChannelError, ConfigInvalid, PollResult
from frontdesk_email import EmailAdapter
from frontdesk_email.imap import Cursor, mailbox_name

_names = itertools.count(1)


def message(n: int, size: int = 0) -> bytes:
    return mail(
        f"From: customer{n}@example.com\nTo: support@acme.example\nSubject: question {n}\n"
        f"Message-ID: <imap-{n}@example.com>\nContent-Type: text/plain; charset=utf-8",
        f"question number {n}\n" + ("z" * 76 + "\n") * (size // 77),
    )


@pytest.fixture
def mailbox(imap_server: ImapServer) -> str:
    # Each test its own mailbox on the shared server.
    name = f"Support {next(_names)}"
    imap_server.create(name)
    return name


def poller(imap_server: ImapServer, mailbox: str, **config: Any) -> EmailAdapter:
    fields: dict[str, Any] = {
        "imap_host": "127.0.0.1",
        "imap_port": imap_server.port,
        "imap_security": "none",
        "imap_username": IMAP_USER,
        "imap_password": IMAP_PASSWORD,
        "imap_mailbox": mailbox,
        "imap_timeout_seconds": 5.0,
    }
    fields.update(config)
    return make_adapter(**fields)


async def subjects(adapter: EmailAdapter, result: PollResult) -> list[str | None]:
    out = []
    for request in result.requests:
        await adapter.verify(request)  # sealed in this process
        [parsed] = (await adapter.parse(request)).messages
        out.append(parsed.subject)
    return out


async def test_new_mail_is_read_once_across_restarts(imap_server: ImapServer, mailbox: str) -> None:
    adapter = poller(imap_server, mailbox)
    first = await adapter.poll(None)
    assert first.requests == []
    assert first.cursor is not None

    for n in (1, 2, 3):
        imap_server.append(mailbox, message(n))
    second = await adapter.poll(first.cursor)
    assert await subjects(adapter, second) == ["question 1", "question 2", "question 3"]
    assert second.requests[0].headers["x-frontdesk-email-source"] == "imap"
    assert second.requests[0].body == message(1)

    # Nothing new: nothing again, and the cursor stays.
    third = await adapter.poll(second.cursor)
    assert third.requests == [] and third.cursor == second.cursor

    # A "restart": another adapter instance with the saved cursor.
    imap_server.append(mailbox, message(4))
    restarted = poller(imap_server, mailbox)
    fourth = await restarted.poll(third.cursor)
    assert await subjects(restarted, fourth) == ["question 4"]


async def test_a_crash_before_the_cursor_is_saved_repeats_not_skips(
    imap_server: ImapServer, mailbox: str
) -> None:
    adapter = poller(imap_server, mailbox)
    start = await adapter.poll(None)
    imap_server.append(mailbox, message(5))
    lost = await adapter.poll(start.cursor)  # its cursor is never saved
    again = await adapter.poll(start.cursor)
    assert [r.body for r in again.requests] == [r.body for r in lost.requests]
    assert again.cursor == lost.cursor


async def test_batches(imap_server: ImapServer, mailbox: str) -> None:
    adapter = poller(imap_server, mailbox, imap_batch=2)
    cursor = (await adapter.poll(None)).cursor
    for n in range(10, 15):
        imap_server.append(mailbox, message(n))
    seen: list[str | None] = []
    for _ in range(4):
        result = await adapter.poll(cursor)
        assert len(result.requests) <= 2
        seen += await subjects(adapter, result)
        cursor = result.cursor
    assert seen == [f"question {n}" for n in range(10, 15)]


async def test_the_first_poll_reads_back_as_far_as_configured(
    imap_server: ImapServer, mailbox: str
) -> None:
    now = dt.datetime.now(dt.UTC)
    imap_server.append(mailbox, message(20), when=now - dt.timedelta(days=30))
    imap_server.append(mailbox, message(21), when=now - dt.timedelta(days=1))
    imap_server.append(mailbox, message(22), when=now)
    recent = poller(imap_server, mailbox, imap_backfill_days=3)
    result = await recent.poll(None)
    assert await subjects(recent, result) == ["question 21", "question 22"]
    assert (await recent.poll(result.cursor)).requests == []

    only_new = poller(imap_server, mailbox, imap_backfill_days=0)
    assert (await only_new.poll(None)).requests == []


async def test_a_rebuilt_mailbox_is_read_again(imap_server: ImapServer, mailbox: str) -> None:
    adapter = poller(imap_server, mailbox)
    imap_server.append(mailbox, message(30))
    before = await adapter.poll(None)
    assert len(before.requests) == 1
    old = Cursor.parse(before.cursor)

    imap_server.recreate(mailbox)  # a new UIDVALIDITY: old UIDs mean nothing now
    imap_server.append(mailbox, message(30))
    imap_server.append(mailbox, message(31))
    after = await adapter.poll(before.cursor)
    new = Cursor.parse(after.cursor)
    assert old is not None and new is not None and new.uidvalidity != old.uidvalidity
    # Both come: question 30 again has the same Message-ID, which the intake drops.
    assert await subjects(adapter, after) == ["question 30", "question 31"]


async def test_an_oversized_message_is_read_headers_only(
    imap_server: ImapServer, mailbox: str
) -> None:
    adapter = poller(imap_server, mailbox, max_message_bytes=64 * 1024)
    cursor = (await adapter.poll(None)).cursor
    imap_server.append(mailbox, message(40, size=200_000))
    result = await adapter.poll(cursor)
    [request] = result.requests
    assert len(request.body) < 2000
    await adapter.verify(request)
    [parsed] = (await adapter.parse(request)).messages
    assert parsed.subject == "question 40"
    assert parsed.metadata["oversized"]["limit"] == 64 * 1024
    assert parsed.metadata["oversized"]["size"] > 200_000


async def test_a_mailbox_name_with_spaces_quotes_and_chinese(imap_server: ImapServer) -> None:
    name = 'Kunden "VIP" 客服'
    imap_server.create(name)
    imap_server.append(name, message(50))
    adapter = poller(imap_server, name)
    assert await subjects(adapter, await adapter.poll(None)) == ["question 50"]


async def test_a_wrong_password_is_a_config_error(imap_server: ImapServer, mailbox: str) -> None:
    with pytest.raises(ConfigInvalid, match="login failed"):
        await poller(imap_server, mailbox, imap_password="wrong").poll(None)


async def test_a_missing_mailbox_is_a_config_error(imap_server: ImapServer) -> None:
    with pytest.raises(ConfigInvalid, match="cannot be opened"):
        await poller(imap_server, "No Such Box").poll(None)


async def test_an_unreachable_server_is_a_channel_error() -> None:
    adapter = make_adapter(
        imap_host="127.0.0.1",
        imap_port=free_port(),
        imap_security="none",
        imap_username="u",
        imap_password="p",
    )
    with pytest.raises(ChannelError, match="could not reach"):
        await adapter.poll("1:1")


async def test_without_imap_host_poll_returns_at_once() -> None:
    result = await make_adapter().poll("123:45")
    assert result == PollResult(requests=[], cursor="123:45")


@pytest.mark.parametrize(
    ("text", "cursor"),
    [
        ("7:42", Cursor(7, 42)),
        ("0:0", Cursor(0, 0)),
        (None, None),
        ("", None),
        ("7", None),
        ("a:b", None),
        ("1:2:3", None),
        ("99999999999:1", None),
    ],
)
def test_cursor_text(text: str | None, cursor: Cursor | None) -> None:
    assert Cursor.parse(text) == cursor
    if cursor is not None:
        assert str(cursor) == text


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("INBOX", '"INBOX"'),
        ("Support & Sales", '"Support &- Sales"'),
        ("台北", '"&U,BTFw-"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
    ],
)
def test_mailbox_names_are_quoted_in_modified_utf7(name: str, wire: str) -> None:
    assert mailbox_name(name) == wire
