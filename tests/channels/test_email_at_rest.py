"""Email leaves no address in the clear: every row of every table (and the SQLite file)
after mail in, a reply out, an attachment, a bounce and a refused message."""

from __future__ import annotations

import base64

import httpx

from channels.email_platform import (
    SUPPORT,
    SmtpServer,
    dsn,
    mail,
    make_email_channel,
    new_id,
    post_mail,
    reply,
    tickets_of,
)
from conftest import TenantUnderTest, drain, sign_up
from crypto.test_contacts_at_rest import _dump_everything
from frontdesk.app import create_app
from frontdesk.config import Settings
from frontdesk.runtime import Runtime

ADDRESS = "chen.jie@example.com"
NEEDLES = [ADDRESS, "chen.jie"]


async def test_email_traffic_leaves_no_address_in_the_clear(fresh_settings: Settings) -> None:
    own_runtime = Runtime(fresh_settings, pool_size=4)
    await own_runtime.start(worker=False)
    own_runtime.jobs.start_worker(threads=2)
    smtp = SmtpServer()
    app = create_app(runtime=own_runtime)
    app.state.runtime = own_runtime
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            tenant: TenantUnderTest = await sign_up(client)
            channel = await make_email_channel(
                client, tenant, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none"
            )
            first = new_id("first")
            attachment = base64.encodebytes(b"router log: all fine\n" * 50).decode()
            raw = mail(
                f"From: Chen Jie <{ADDRESS}>\nTo: {SUPPORT}\nSubject: Router log\n"
                f"Message-ID: {first}\nMIME-Version: 1.0\n"
                'Content-Type: multipart/mixed; boundary="b"',
                "--b\nContent-Type: text/plain\n\nThe log is attached.\n"
                '--b\nContent-Type: text/plain; name="router.log"\n'
                'Content-Disposition: attachment; filename="router.log"\n'
                f"Content-Transfer-Encoding: base64\n\n{attachment}\n--b--\n",
            )
            assert (await post_mail(client, channel, raw)).status_code == 200
            await drain(own_runtime)
            [ticket] = await tickets_of(client, tenant)
            await reply(client, tenant, ticket["id"], "Thanks, looking at it.")
            await drain(own_runtime)
            deliveries = await client.get(
                f"/api/v1/tickets/{ticket['id']}/deliveries", headers=tenant.admin.headers
            )
            ours = deliveries.json()[0]["external_id"]
            answer = mail(
                f"From: Chen Jie <{ADDRESS}>\nTo: {SUPPORT}\nSubject: Re: Router log\n"
                f"Message-ID: {new_id('answer')}\nIn-Reply-To: {ours}\n"
                f"References: {first} {ours}\n",
                "Any news?\n",
            )
            assert (await post_mail(client, channel, answer)).status_code == 200
            await drain(own_runtime)  # the bounce after the answer, not racing it
            bounce = dsn((ADDRESS, "failed", "5.1.1"), original=ours)
            assert (await post_mail(client, channel, bounce)).status_code == 200
            refused = f"a body with no header, from {ADDRESS}\r\n".encode()
            assert (await post_mail(client, channel, refused)).status_code == 400
            await drain(own_runtime)
            assert len(await tickets_of(client, tenant)) == 1
            customer = await client.get(
                f"/api/v1/customers/{ticket['customer_id']}", headers=tenant.admin.headers
            )
            assert customer.json()["contact_points"][0]["status"] == "failing"
    finally:
        smtp.close()
        await own_runtime.close()
    dump = await _dump_everything(fresh_settings)
    for needle in NEEDLES:
        assert needle not in dump, needle
    assert "router log" in dump  # the dump is real: the subject is in it
    # Attachments on disk are sealed too.
    stored = list((fresh_settings.data_dir / "attachments").rglob("*"))
    files = [p for p in stored if p.is_file()]
    assert files
    for path in files:
        assert b"router log" not in path.read_bytes()
