"""A partner's adapter, scaffolded and installed like any package, carries messages to tickets.

Nothing in the core knows the new kind: it is found through its entry point.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import drain, sign_up
from frontdesk.app import create_app
from frontdesk.channels.scaffold import create_adapter_package
from frontdesk.config import Settings
from frontdesk.runtime import Runtime

SECRET = "partner-shared-secret-0123"

# Under pytest-xdist, this file's tests run on one worker: the package is
# pip-installed once (the module fixture), not once per worker.
pytestmark = pytest.mark.xdist_group("scaffolded-adapter")


@pytest.fixture(scope="module")
def installed_adapter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Scaffold ``frontdesk-parcelchat`` and pip-install it into a folder on sys.path."""
    root = tmp_path_factory.mktemp("partner")
    package = create_adapter_package("parcelchat", root)
    site = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(package),
        ],
        check=True,
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        yield "parcelchat"
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m.startswith("frontdesk_parcelchat")]:
            del sys.modules[name]
        importlib.invalidate_caches()


async def test_scaffolded_adapter_messages_reach_tickets(
    installed_adapter: str, settings: Settings
) -> None:
    runtime = Runtime(settings, pool_size=4)
    await runtime.start(worker=True)
    app = create_app(runtime=runtime)
    app.state.runtime = runtime
    transport = httpx.ASGITransport(app=app)
    try:
        assert installed_adapter in runtime.registry.kinds()
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            tenant = await sign_up(client)
            created = await client.post(
                "/api/v1/channels",
                headers=tenant.admin.headers,
                json={
                    "kind": installed_adapter,
                    "name": "parcel app",
                    "config": {"secret": SECRET, "url": "http://127.0.0.1:9/replies"},
                },
            )
            assert created.status_code == 201, created.text
            path = httpx.URL(created.json()["webhook_url"]).path
            body = json.dumps(
                {
                    "id": "p-1",
                    "sender": {"id": "user-42", "name": "Ada"},
                    "text": "Where is parcel 7?",
                    "conversation": "parcel-7",
                }
            ).encode()
            digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            forged = await client.post(path, content=body, headers={"x-signature": "sha256=00"})
            assert forged.status_code == 401
            r = await client.post(path, content=body, headers={"x-signature": f"sha256={digest}"})
            assert r.status_code == 200, r.text
            await drain(runtime)
            tickets = (await client.get("/api/v1/tickets", headers=tenant.admin.headers)).json()[
                "items"
            ]
            assert len(tickets) == 1
            assert tickets[0]["channel"] == installed_adapter
            messages = (
                await client.get(
                    f"/api/v1/tickets/{tickets[0]['id']}/messages", headers=tenant.admin.headers
                )
            ).json()["items"]
            assert [m["body_text"] for m in messages] == ["Where is parcel 7?"]
            customer = (
                await client.get(
                    f"/api/v1/customers/{tickets[0]['customer_id']}",
                    headers=tenant.admin.headers,
                )
            ).json()
            assert customer["display_name"] == "Ada"
            assert customer["contact_points"][0]["kind"] == "im"
            assert customer["contact_points"][0]["provider"] == installed_adapter
    finally:
        await runtime.close()


def test_the_core_does_not_mention_the_partner_kind() -> None:
    core = Path(__file__).resolve().parents[2] / "platform" / "frontdesk"
    for source in core.rglob("*.py"):
        assert "parcelchat" not in source.read_text(), source
