"""Session tokens, identity hashes and intake signatures: what passes and what does not."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from frontdesk_webchat import signing

SECRET = "webchat-test-secret-0123456789"


def test_a_session_token_names_its_visitor_and_only_under_its_secret() -> None:
    visitor = signing.new_visitor_id()
    token = signing.session_token(SECRET, visitor)
    assert signing.visitor_of(SECRET, token) == visitor
    assert signing.visitor_of("another-channels-secret-00", token) is None
    other = signing.new_visitor_id()
    forged = token.replace(visitor, other)
    assert signing.visitor_of(SECRET, forged) is None


@given(st.text(max_size=120))
def test_any_string_is_a_token_or_none_never_an_error(value: str) -> None:
    assert signing.visitor_of(SECRET, value) in (
        None,
        *([value.split(".")[1]] if "." in value else []),
    )


def test_identity_hash_binds_user_and_email() -> None:
    good = signing.identity_hash("host-secret", "user-1", "ada@example.com")
    assert signing.identity_valid("host-secret", "user-1", "ada@example.com", good)
    assert signing.identity_valid("host-secret", "user-1", "ada@example.com", good.upper())
    assert not signing.identity_valid("host-secret", "user-1", "eve@example.com", good)
    assert not signing.identity_valid("host-secret", "user-2", "ada@example.com", good)
    assert not signing.identity_valid("", "user-1", "ada@example.com", good)  # none configured
    assert not signing.identity_valid("host-secret", "user-1", "ada@example.com", "é" * 64)


def test_conversation_keys_name_no_one() -> None:
    key = signing.conversation_key(SECRET, user_id="ada@example.com")
    assert key.startswith("u.") and "ada" not in key
    assert key == signing.conversation_key(SECRET, user_id="ada@example.com")
    assert signing.conversation_key(SECRET, visitor_id="abc") == "v.abc"


def test_intake_signatures_expire() -> None:
    body = b'{"id":"m1"}'
    now = int(time.time())
    assert signing.body_signature_valid(SECRET, body, signing.sign_body(SECRET, body, now))
    old = signing.sign_body(SECRET, body, now - signing.MAX_AGE_S - 10)
    assert not signing.body_signature_valid(SECRET, body, old)
    assert not signing.body_signature_valid(SECRET, body + b" ", signing.sign_body(SECRET, body))
