"""The tenant cipher: ciphertexts bound to tenant, table, column and row; blind indexes."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.crypto.cipher import TenantCipher
from frontdesk.errors import DecryptionError
from frontdesk.ids import new_id

TENANT = new_id()
ROW = new_id()
PLACE = {"table": "contact_points", "column": "value", "row_id": ROW}


def make_cipher(
    tenant_id: uuid.UUID = TENANT,
    *,
    data_keys: dict[int, bytes] | None = None,
    index_key: bytes | None = None,
) -> TenantCipher:
    keys = data_keys or {1: os.urandom(32)}
    return TenantCipher(tenant_id, keys, max(keys), index_key or os.urandom(32))


# Built once: hypothesis re-runs the test body many times per fixture call.
CIPHER = make_cipher()


def test_round_trip_and_token_shape() -> None:
    token = CIPHER.encrypt("ana@example.com", **PLACE)
    assert token.startswith("fd1.1.")
    assert "ana" not in token
    assert CIPHER.decrypt(token, **PLACE) == "ana@example.com"


def test_same_value_encrypts_differently_each_time() -> None:
    assert CIPHER.encrypt("+34600000000", **PLACE) != CIPHER.encrypt("+34600000000", **PLACE)


@pytest.mark.parametrize(
    "moved_to",
    [
        {"row_id": new_id()},
        {"column": "display_name"},
        {"table": "users"},
    ],
    ids=["other-row", "other-column", "other-table"],
)
def test_ciphertext_copied_elsewhere_does_not_decrypt(moved_to: dict[str, object]) -> None:
    token = CIPHER.encrypt("ana@example.com", **PLACE)
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(token, **{**PLACE, **moved_to})  # type: ignore[arg-type]


def test_ciphertext_copied_to_another_tenant_does_not_decrypt() -> None:
    # Even with the very same data key, the tenant id in the associated data differs.
    key = os.urandom(32)
    ours = make_cipher(new_id(), data_keys={1: key})
    theirs = make_cipher(new_id(), data_keys={1: key})
    token = ours.encrypt("ana@example.com", **PLACE)
    with pytest.raises(DecryptionError):
        theirs.decrypt(token, **PLACE)


def test_table_and_column_boundary_is_unambiguous() -> None:
    token = CIPHER.encrypt("x", table="ab", column="c", row_id=ROW)
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(token, table="a", column="bc", row_id=ROW)


def _flip_payload_bit(token: str, index: int) -> str:
    prefix, version, payload = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[index] ^= 0x01
    return f"{prefix}.{version}.{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"


@pytest.mark.parametrize("index", [0, 12, -1], ids=["nonce", "ciphertext", "tag"])
def test_tampered_token_does_not_decrypt(index: int) -> None:
    token = CIPHER.encrypt("ana@example.com", **PLACE)
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(_flip_payload_bit(token, index), **PLACE)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace("fd1.", "fd2.", 1),
        lambda t: t.replace("fd1.1.", "fd1.7.", 1),
        lambda t: t.replace("fd1.1.", "fd1.01.", 1),
        lambda t: t.replace("fd1.1.", "fd1.", 1),
        lambda t: t + ".x",
        lambda t: t[:20],
        lambda t: t[:-1] + "!",
        lambda t: "",
    ],
    ids=[
        "format",
        "unknown-version",
        "non-canonical-version",
        "no-version",
        "extra-part",
        "truncated",
        "bad-alphabet",
        "empty",
    ],
)
def test_malformed_token_is_a_decryption_error(mangle: object) -> None:
    token = CIPHER.encrypt("ana@example.com", **PLACE)
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(mangle(token), **PLACE)  # type: ignore[operator]


def test_token_claiming_another_known_version_does_not_decrypt() -> None:
    cipher = make_cipher(data_keys={1: os.urandom(32), 2: os.urandom(32)})
    token = cipher.encrypt("ana@example.com", **PLACE)
    assert token.startswith("fd1.2.")
    with pytest.raises(DecryptionError):
        cipher.decrypt(token.replace("fd1.2.", "fd1.1.", 1), **PLACE)


def test_newer_data_key_still_reads_old_ciphertexts() -> None:
    index_key, first = os.urandom(32), os.urandom(32)
    before = make_cipher(data_keys={1: first}, index_key=index_key)
    old_token = before.encrypt("ana@example.com", **PLACE)
    after = make_cipher(data_keys={1: first, 2: os.urandom(32)}, index_key=index_key)
    assert after.encrypt("ana@example.com", **PLACE).startswith("fd1.2.")
    assert after.decrypt(old_token, **PLACE) == "ana@example.com"
    assert after.blind_index("email", "ana@example.com") == before.blind_index(
        "email", "ana@example.com"
    )


def test_blind_index_is_deterministic_and_per_tenant() -> None:
    other = make_cipher(new_id())
    value = "ana@example.com"
    ours = CIPHER.blind_index("email", value)
    assert ours == CIPHER.blind_index("email", value)
    assert len(ours) == 64 and int(ours, 16) >= 0
    assert other.blind_index("email", value) != ours
    assert CIPHER.blind_index("email", "bob@example.com") != ours


def test_blind_index_separates_kinds() -> None:
    assert CIPHER.blind_index("email", "+34600000000") != CIPHER.blind_index(
        "phone", "+34600000000"
    )
    # "kind\x1fvalue" must not be forgeable by moving the separator.
    with pytest.raises(ValueError):
        CIPHER.blind_index("email\x1fa", "b")


def test_repr_does_not_show_keys() -> None:
    key, index_key = os.urandom(32), os.urandom(32)
    shown = repr(make_cipher(data_keys={1: key}, index_key=index_key))
    assert key.hex() not in shown and index_key.hex() not in shown


@given(
    plaintext=st.text(),
    table=st.text(min_size=1, max_size=40),
    column=st.text(min_size=1, max_size=40),
    row=st.uuids(),
)
def test_round_trip_any_text(plaintext: str, table: str, column: str, row: uuid.UUID) -> None:
    token = CIPHER.encrypt(plaintext, table=table, column=column, row_id=row)
    assert token.isascii()
    assert CIPHER.decrypt(token, table=table, column=column, row_id=row) == plaintext
