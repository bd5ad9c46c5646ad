"""The master keyring: where its keys come from, what it refuses, wrapping and unwrapping."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from frontdesk.config import Settings
from frontdesk.crypto.keyring import (
    DemoMasterKeyWarning,
    MasterKeyring,
    add_master_key_version,
    generate_master_key,
    load_master_keyring,
)
from frontdesk.errors import ConfigurationError, DecryptionError


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def urlsafe(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def write_key_file(path: Path, keys: dict[int, bytes]) -> Path:
    path.write_text(json.dumps({"keys": {str(v): b64(k) for v, k in keys.items()}}))
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- loading ---------------------------------------------------------------


def test_single_key_from_env_is_version_1(tmp_path: Path) -> None:
    raw = os.urandom(32)
    keyring = load_master_keyring(Settings(data_dir=tmp_path, master_key=b64(raw), embedded=False))
    assert keyring.keys == {1: raw}
    assert keyring.current_version == 1


def test_urlsafe_key_without_padding_is_accepted(tmp_path: Path) -> None:
    # Pick a key whose base64 holds both urlsafe-only characters.
    raw = next(k for k in iter(lambda: os.urandom(32), None) if {"-", "_"} <= set(urlsafe(k)))
    text = urlsafe(raw).rstrip("=")
    keyring = load_master_keyring(Settings(data_dir=tmp_path, master_key=text, embedded=False))
    assert keyring.keys == {1: raw}


def test_versioned_env_keys_make_the_highest_current(tmp_path: Path) -> None:
    one, two = os.urandom(32), os.urandom(32)
    settings = Settings(
        data_dir=tmp_path, master_key=f" 2:{urlsafe(two)} , 1:{b64(one)} ", embedded=False
    )
    keyring = load_master_keyring(settings)
    assert keyring.keys == {1: one, 2: two}
    assert keyring.current_version == 2


def test_key_file_is_read(tmp_path: Path) -> None:
    keys = {1: os.urandom(32), 3: os.urandom(32)}
    path = write_key_file(tmp_path / "keys.json", keys)
    keyring = load_master_keyring(Settings(data_dir=tmp_path, master_key_file=path))
    assert keyring.keys == keys
    assert keyring.current_version == 3


def test_env_key_wins_over_file_and_embedded(tmp_path: Path) -> None:
    env_key = os.urandom(32)
    path = write_key_file(tmp_path / "keys.json", {1: os.urandom(32)})
    settings = Settings(data_dir=tmp_path, master_key=b64(env_key), master_key_file=path)
    assert load_master_keyring(settings).keys == {1: env_key}
    assert not (tmp_path / "master-keys.json").exists()


def test_embedded_generates_a_private_demo_key_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, embedded=True)
    with pytest.warns(DemoMasterKeyWarning, match="DEMO ONLY"):
        first = load_master_keyring(settings)
    assert "DEMO ONLY" in capsys.readouterr().err
    path = data_dir / "master-keys.json"
    assert mode(path) == 0o600
    assert first.versions == [1]

    second = load_master_keyring(settings)
    assert second.keys == first.keys
    assert "DEMO ONLY" not in capsys.readouterr().err


def test_no_key_outside_embedded_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="FRONTDESK_MASTER_KEY"):
        load_master_keyring(Settings(data_dir=tmp_path, embedded=False))
    assert not (tmp_path / "master-keys.json").exists()


@pytest.mark.parametrize(
    "value",
    [
        "not base64 at all!",
        b64(os.urandom(31)),
        b64(os.urandom(33)),
        os.urandom(32).hex(),
        "1:" + b64(os.urandom(16)),
        "x:" + b64(os.urandom(32)),
        "0:" + b64(os.urandom(32)),
        f"1:{b64(os.urandom(32))},1:{b64(os.urandom(32))}",
        f"1:{b64(os.urandom(32))},{b64(os.urandom(32))}",
        " , ",
    ],
    ids=[
        "garbage",
        "31-bytes",
        "33-bytes",
        "hex",
        "short-versioned",
        "bad-version",
        "version-0",
        "duplicate-version",
        "entry-without-version",
        "no-entries",
    ],
)
def test_bad_env_keys_are_configuration_errors(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_master_keyring(Settings(data_dir=tmp_path, master_key=value, embedded=False))
    # A near-miss key must not end up in logs through the error message.
    for part in value.replace(",", ":").split(":"):
        if len(part.strip()) > 8:
            assert part.strip() not in str(caught.value)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"keys": {}}),
        json.dumps(["a"]),
        json.dumps({"keys": {"1": b64(os.urandom(20))}}),
        json.dumps({"keys": {"one": b64(os.urandom(32))}}),
        json.dumps({"keys": {"1": 42}}),
    ],
    ids=["bad-json", "empty", "not-an-object", "short-key", "bad-version", "not-a-string"],
)
def test_bad_key_files_are_configuration_errors(tmp_path: Path, content: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError):
        load_master_keyring(Settings(data_dir=tmp_path, master_key_file=path, embedded=False))


def test_missing_key_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_master_keyring(Settings(data_dir=tmp_path, master_key_file=tmp_path / "none.json"))


def test_generated_keys_load_back() -> None:
    text = generate_master_key()
    keyring = load_master_keyring(Settings(master_key=text, embedded=False))
    assert keyring.keys[1] == base64.urlsafe_b64decode(text)


def test_repr_does_not_show_keys() -> None:
    raw = os.urandom(32)
    shown = repr(MasterKeyring({1: raw}))
    assert b64(raw) not in shown and urlsafe(raw) not in shown and raw.hex() not in shown


# --- adding versions -------------------------------------------------------


def test_add_version_to_key_file_keeps_old_keys(tmp_path: Path) -> None:
    old = os.urandom(32)
    path = write_key_file(tmp_path / "keys.json", {1: old})
    settings = Settings(data_dir=tmp_path, master_key_file=path, embedded=False)
    assert add_master_key_version(settings) == 2
    assert add_master_key_version(settings) == 3
    keyring = load_master_keyring(settings)
    assert keyring.versions == [1, 2, 3]
    assert keyring.keys[1] == old
    assert len({keyring.keys[v] for v in keyring.versions}) == 3
    assert keyring.current_version == 3
    assert mode(path) == 0o600


def test_add_version_in_embedded_mode(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedded=True)
    with pytest.warns(DemoMasterKeyWarning):
        first = load_master_keyring(settings)
    assert add_master_key_version(settings) == 2
    keyring = load_master_keyring(settings)
    assert keyring.current_version == 2
    assert keyring.keys[1] == first.keys[1]
    assert mode(tmp_path / "master-keys.json") == 0o600


def test_add_version_refuses_env_keys(tmp_path: Path) -> None:
    path = write_key_file(tmp_path / "keys.json", {1: os.urandom(32)})
    before = path.read_text()
    settings = Settings(data_dir=tmp_path, master_key=generate_master_key(), master_key_file=path)
    with pytest.raises(ConfigurationError, match="FRONTDESK_MASTER_KEY"):
        add_master_key_version(settings)
    assert path.read_text() == before


def test_add_version_without_a_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        add_master_key_version(Settings(data_dir=tmp_path, embedded=False))


# --- wrapping --------------------------------------------------------------


def test_wrap_round_trip_under_the_current_version() -> None:
    keyring = MasterKeyring({1: os.urandom(32), 2: os.urandom(32)})
    data_key = os.urandom(32)
    version, blob = keyring.wrap(data_key, b"aad")
    assert version == 2
    assert data_key not in blob
    assert keyring.unwrap(version, blob, b"aad") == data_key


def test_unwrap_with_other_aad_fails(keyring: MasterKeyring) -> None:
    version, blob = keyring.wrap(os.urandom(32), b"tenant a")
    with pytest.raises(DecryptionError):
        keyring.unwrap(version, blob, b"tenant b")


def test_unwrap_of_tampered_blob_fails(keyring: MasterKeyring) -> None:
    version, blob = keyring.wrap(os.urandom(32), b"aad")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DecryptionError):
        keyring.unwrap(version, tampered, b"aad")
    with pytest.raises(DecryptionError):
        keyring.unwrap(version, blob[:20], b"aad")


def test_unwrap_needs_the_wrapping_version() -> None:
    old = MasterKeyring({1: os.urandom(32)})
    version, blob = old.wrap(os.urandom(32), b"aad")
    with pytest.raises(DecryptionError, match="version 1"):
        MasterKeyring({2: os.urandom(32)}).unwrap(version, blob, b"aad")
    # Same version number, different key: must not unwrap either.
    with pytest.raises(DecryptionError):
        MasterKeyring({1: os.urandom(32)}).unwrap(version, blob, b"aad")


def test_keyring_rejects_wrong_key_length() -> None:
    with pytest.raises(ConfigurationError):
        MasterKeyring({1: os.urandom(16)})
    with pytest.raises(ConfigurationError):
        MasterKeyring({1: os.urandom(32)}, current_version=2)


def test_racing_demo_key_generation_keeps_the_first_key(tmp_path: Path) -> None:
    from frontdesk.crypto.keyring import _write_keyring_file

    path = write_key_file(tmp_path / "master-keys.json", {1: os.urandom(32)})
    before = path.read_text()
    assert not _write_keyring_file(path, {"keys": {"1": generate_master_key()}}, exclusive=True)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["master-keys.json"]
