"""Phone traffic leaves no caller's number in the clear: every row of every table (and
the SQLite file) after calls, a voicemail, an SMS in, a reply out and a call back."""

from __future__ import annotations

import httpx
import pytest

from channels.test_phone_channel import (
    CALLER,
    Line,
    answered_call,
    make_line,
    voicemail_call,
)
from conftest import add_user, drain, sign_up
from crypto.test_contacts_at_rest import _dump_everything
from frontdesk.app import create_app
from frontdesk.config import Settings
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderServer

# The caller's number as E.164 and as people write it.
NEEDLES = [CALLER, CALLER[2:], "415-555-0123", "(415) 555-0123"]


# SQLite only: there the dump also reads the database file's bytes, the stricter
# check; PostgreSQL stores the same rows from the same statements (and creating
# and dropping a database of its own would cost the suite seconds for nothing new).
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_phone_traffic_leaves_no_number_in_the_clear(fresh_settings: Settings) -> None:
    runtime = Runtime(fresh_settings, pool_size=4)
    await runtime.start(worker=False)
    runtime.jobs.start_worker(threads=2)
    app = create_app(runtime=runtime)
    app.state.runtime = runtime
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        with ProviderServer() as provider:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                tenant = await sign_up(client)
                agent = await add_user(client, tenant, "agent", teams=["front-line"])
                line: Line = await make_line(client, tenant, provider)
                await line.send(
                    *voicemail_call("CA1", 60, "It is about my router, call me back"),
                    *answered_call("CA2", 5, 65, 60),
                )
                sms = {"MessageSid": "SM1", "From": CALLER, "To": "+14155550100", "Body": "hi"}
                await line.send((sms, None))
                await drain(runtime)
                tickets = (await client.get("/api/v1/tickets", headers=agent.headers)).json()
                [ticket] = tickets["items"]
                provider.accept(b'{"sid": "SM9"}')
                r = await client.post(
                    f"/api/v1/tickets/{ticket['id']}/messages",
                    headers=agent.headers,
                    json={"kind": "reply", "body": "We will call you back today."},
                )
                assert r.status_code == 201, r.text
                await drain(runtime)
                provider.accept(b'{"sid": "CA3"}')
                r = await client.post(
                    f"/api/v1/tickets/{ticket['id']}/calls", headers=agent.headers
                )
                assert r.status_code == 201, r.text
                await drain(runtime)
                # The provider got the number (it has to); nothing kept it.
                assert len(provider.requests) == 2
    finally:
        await runtime.close()
    dump = await _dump_everything(fresh_settings)
    for needle in NEEDLES:
        assert needle.lower() not in dump, needle
    assert "it is about my router" in dump  # the dump is real: the transcription is in it
