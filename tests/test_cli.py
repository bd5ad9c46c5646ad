"""The ``frontdesk`` command as an operator uses it: demo, db upgrade, keys rotate, adapters."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from frontdesk.channels import SDK_VERSION
from frontdesk.cli import main
from frontdesk.demo import DEMO_PASSWORD

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env["FRONTDESK_DATA_DIR"] = str(data_dir)
    return env


def test_demo_serves_the_api_and_prints_working_logins(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "frontdesk"), "demo", "--port", str(port)],
        env=embedded_env(tmp_path / "data"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and not ready:
            if proc.poll() is not None:
                break
            try:
                ready = httpx.get(f"{base}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.2)
        assert ready, "the demo did not become ready"
        login = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"tenant": "demo", "email": "agent@demo.example.com", "password": DEMO_PASSWORD},
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        tickets = httpx.get(f"{base}/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
        assert tickets.status_code == 200
        assert len(tickets.json()["items"]) >= 3
        assert httpx.get(f"{base}/schema/openapi.json").json()["info"]["title"] == "Frontdesk API"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        output.append(out)
    text = "".join(output)
    assert f"http://127.0.0.1:{port}" in text
    assert "agent@demo.example.com" in text and DEMO_PASSWORD in text
    # The generated master key is announced loudly, and kept in the data folder.
    assert "demo" in text.lower() and "master key" in text.lower()
    assert (tmp_path / "data" / "master-keys.json").exists()


def test_db_upgrade_is_idempotent_and_bad_urls_get_a_message(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"FRONTDESK_DATA_DIR": str(tmp_path / "d")}
    first = runner.invoke(main, ["db", "upgrade"], env=env)
    assert first.exit_code == 0, first.output
    assert re.search(r"revision \d{4}", first.output)
    again = runner.invoke(main, ["db", "upgrade"], env=env)
    assert again.exit_code == 0 and again.output == first.output
    bad = runner.invoke(main, ["db", "upgrade"], env={"FRONTDESK_DATABASE_URL": "mysql://x"})
    assert bad.exit_code != 0
    assert "FRONTDESK_DATABASE_URL" in bad.output and "Traceback" not in bad.output


def test_keys_rotate_adds_a_version_and_rewraps(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "d"
    env = {"FRONTDESK_DATA_DIR": str(data)}
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    import asyncio

    from frontdesk.config import load_settings
    from frontdesk.demo import seed_demo

    asyncio.run(seed_demo(load_settings({"FRONTDESK_DATA_DIR": str(data)})))
    r = runner.invoke(main, ["keys", "rotate"], env=env)
    assert r.exit_code == 0, r.output
    assert "added master key version 2" in r.output
    assert "re-wrapped 2 key(s) of 1 tenant(s)" in r.output
    keys = json.loads((data / "master-keys.json").read_text())["keys"]
    assert sorted(keys) == ["1", "2"]
    # With keys from the environment, a new version must be added there first.
    env_key = runner.invoke(
        main, ["keys", "rotate"], env={**env, "FRONTDESK_MASTER_KEY": keys["1"]}
    )
    assert env_key.exit_code != 0 and "FRONTDESK_MASTER_KEY" in env_key.output


def test_adapters_list_shows_installed_adapters() -> None:
    r = CliRunner().invoke(main, ["adapters", "list"])
    assert r.exit_code == 0, r.output
    assert f"channel SDK {SDK_VERSION}" in r.output
    assert re.search(r"^webhook\s+\S+\s+Signed JSON webhook", r.output, re.M)


def test_worker_without_redis_explains_itself(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["worker"], env={"FRONTDESK_DATA_DIR": str(tmp_path)})
    assert r.exit_code != 0 and "FRONTDESK_REDIS_URL" in r.output


@pytest.fixture(autouse=True)
def _logging_left_as_it_was() -> Iterator[None]:
    """Commands run in this process (``worker``) configure logging for a process
    of their own: the root logger at INFO, writing to the stderr CliRunner
    swapped in and closes. Left so, every later test of this pytest process
    would log (and fail to write) each request's lines."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    try:
        yield
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


@pytest.fixture(autouse=True)
def _no_frontdesk_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("FRONTDESK_") and key != "FRONTDESK_INSECURE_FAST_PASSWORD_HASHING":
            monkeypatch.delenv(key)
