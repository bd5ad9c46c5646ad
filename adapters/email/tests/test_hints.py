"""Threading hints: Message-IDs, reply tokens (plus-addresses, our Message-IDs), ticket numbers."""

# (test secrets and reply tokens are fixed strings on purpose)

from __future__ import annotations

import pytest
from email_corpus import mail
from email_support import make_adapter, raw_request
from hypothesis import given
from hypothesis import strategies as st

from frontdesk_email import hints

DOMAIN = "acme.example"
OWN = frozenset({"support@acme.example", "help@acme.example"})


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("<a@B.Example>", ["<a@b.example>"]),
        ("  <a@b>  <c@d>\r\n\t<a@b>", ["<a@b>", "<c@d>"]),
        ('Your message of "Mon" <x@y.example>', ["<x@y.example>"]),
        ("bare@example.com", ["<bare@example.com>"]),
        ("<no-at-sign>", ["<no-at-sign>"]),
        ("", []),
        (None, []),
        ("<>", []),
        ("no brackets and spaces", []),
        ("<" + "a" * 300 + "@b>", []),
    ],
)
def test_message_ids(value: str | None, ids: list[str]) -> None:
    assert hints.message_ids(value, limit=10) == ids


def test_message_ids_keep_the_newest() -> None:
    value = " ".join(f"<{i}@x>" for i in range(60))
    assert hints.message_ids(value, limit=50) == [f"<{i}@x>" for i in range(10, 60)]


def test_our_message_ids_round_trip() -> None:
    with_token = hints.make_message_id(delivery_id="d-1", reply_token="tok_1-A", domain=DOMAIN)
    without = hints.make_message_id(delivery_id="d.with.dots", reply_token=None, domain=DOMAIN)
    assert hints.token_from_ids([with_token], DOMAIN) == "tok_1-A"
    assert hints.token_from_ids([without], DOMAIN) is None  # an id is never read as a token
    assert hints.ours(without, DOMAIN) is not None
    assert hints.ours(with_token, "other.example") is None
    # Case-changing mail systems do not hide our domain.
    assert hints.token_from_ids([with_token.replace("acme", "ACME")], DOMAIN) == "tok_1-A"
    assert hints.make_message_id(delivery_id="d-1", reply_token="tok_1-A", domain=DOMAIN) == (
        with_token
    )


@given(
    delivery_id=st.text(min_size=1, max_size=300),
    token=st.from_regex(hints.REPLY_TOKEN, fullmatch=True) | st.none(),
)
def test_any_delivery_id_makes_a_valid_message_id(delivery_id: str, token: str | None) -> None:
    message_id = hints.make_message_id(delivery_id=delivery_id, reply_token=token, domain=DOMAIN)
    assert message_id.isascii() and " " not in message_id and len(message_id) <= 255
    assert hints.message_ids(message_id, limit=1) == [message_id]
    assert hints.token_from_ids([message_id], DOMAIN) == token


@pytest.mark.parametrize(
    ("addresses", "token"),
    [
        (["support+abc@acme.example"], "abc"),
        (["SUPPORT+abc@ACME.EXAMPLE"], "abc"),
        (["help+x_1-y@acme.example"], "x_1-y"),
        (["someone+abc@example.com", "support+def@acme.example"], "def"),
        (["support@acme.example"], None),
        (["support+@acme.example"], None),
        (["support+bad token@acme.example"], None),
        (["support+a+b@acme.example"], None),
        (["evil+abc@acme.example"], None),
        (["support+abc@evil.example"], None),
    ],
)
def test_plus_address_tokens(addresses: list[str], token: str | None) -> None:
    assert hints.token_from_addresses(addresses, OWN) == token


@pytest.mark.parametrize(
    ("prefixes", "subject", "number"),
    [
        ([], "Re: Order [CS-2026-000042]", "CS-2026-000042"),
        ([], "Re: Order [ cs-2026-000042 ]", "CS-2026-000042"),
        ([], "[ACME2-2025-1234] earlier", "ACME2-2025-1234"),
        ([], "AW: [CS-2026-000042] and [CS-2026-000043]", "CS-2026-000042"),
        ([], "CS-2026-000042 without brackets", None),
        ([], "[CS-26-000042]", None),
        (["CS"], "[HR-2026-000042]", None),
        (["CS", "HR"], "[HR-2026-000042]", "HR-2026-000042"),
        ([], None, None),
    ],
)
def test_ticket_numbers(prefixes: list[str], subject: str | None, number: str | None) -> None:
    assert hints.ticket_number(subject, hints.ticket_pattern(prefixes)) == number


async def test_ticket_prefixes_come_from_the_config() -> None:
    raw = mail("From: a@example.com\nSubject: Re: [HR-2026-000001] and [CS-2026-000002]")
    [message] = (await make_adapter(ticket_prefixes=["CS"]).parse(raw_request(raw))).messages
    assert message.thread.ticket_number == "CS-2026-000002"


async def test_the_token_in_the_address_wins_over_the_message_id() -> None:
    ours = hints.make_message_id(delivery_id="x", reply_token="fromid", domain=DOMAIN)
    raw = mail(
        f"From: a@example.com\nTo: support+fromaddress@acme.example\nIn-Reply-To: {ours}\n"
        "Subject: x"
    )
    [message] = (await make_adapter().parse(raw_request(raw))).messages
    assert message.thread.reply_token == "fromaddress"
    raw = mail(f"From: a@example.com\nTo: support@acme.example\nReferences: {ours} <other@x>")
    [message] = (await make_adapter().parse(raw_request(raw))).messages
    assert message.thread.reply_token == "fromid"


async def test_a_delivered_to_header_carries_the_token() -> None:
    raw = mail(
        "Delivered-To: support+tok7@acme.example\nFrom: a@example.com\n"
        "To: undisclosed-recipients:;\nSubject: bcc'd"
    )
    [message] = (await make_adapter().parse(raw_request(raw))).messages
    assert message.thread.reply_token == "tok7"
