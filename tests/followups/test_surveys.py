"""Satisfaction surveys: sent on the channel the customer used when a ticket is
resolved, answered once on a public page, the answer kept on the ticket.

The customers' first messages go through the real intake storage and
ingestion (as each channel's webhook leaves them), and the survey through
each real adapter to a server on localhost: an SMTP server, a Telegram Bot
API, a webhook receiver and Twilio's Messages API (SMS) stand in for the
providers; the web chat's survey is read back from its own transcript.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from channels.email_platform import SmtpServer, make_email_channel
from channels.test_pipeline import make_channel
from channels.webchat.live import make_webchat_channel
from conftest import TenantUnderTest, drain
from followups.support import arrive, tick
from followups.support import ok as _ok
from frontdesk.channels import ContactRef, InboundMessage, ThreadHints
from frontdesk.channels.models import Conversation
from frontdesk.channels.transcripts import history
from frontdesk.clock import Clock
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderServer

TELEGRAM_TOKEN = "123456:survey-test-bot-token"
TWILIO_ACCOUNT = "AC00000000000000000000000000000077"
TWILIO_MESSAGES = f"/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Messages.json"
SMS_CUSTOMER = "+14155550177"
SURVEY_URL = re.compile(r"http://[^\s]+/surveys/([A-Za-z0-9_-]{43})")


async def test_a_survey_goes_out_on_each_channel_and_is_answered_once(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    with ProviderServer() as provider:
        smtp = SmtpServer()
        try:
            await _survey_on_each_channel(client, tenant, worker, provider, smtp)
        finally:
            smtp.close()


async def _survey_on_each_channel(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    runtime: Runtime,
    provider: ProviderServer,
    smtp: SmtpServer,
) -> None:
    h = tenant.admin.headers
    provider.accept(b'{"ok": true, "result": {"message_id": 91}}')
    email = await make_email_channel(
        client, tenant, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none"
    )
    webchat = await make_webchat_channel(client, tenant)
    webhook = await make_channel(client, tenant, callback_url=f"{provider.url}/callback")
    telegram = await _ok(
        await client.post(
            "/api/v1/channels",
            headers=h,
            json={
                "kind": "telegram",
                "name": "bot",
                "config": {
                    "bot_token": TELEGRAM_TOKEN,
                    "secret_token": "survey-test-secret",
                    "api_base_url": provider.url,
                },
            },
        ),
        201,
    )
    phone = await _ok(
        await client.post(
            "/api/v1/channels",
            headers=h,
            json={
                "kind": "phone",
                "name": "SMS line",
                "config": {
                    "account_id": TWILIO_ACCOUNT,
                    "auth_token": "survey-test-twilio-token",
                    "phone_number": "+14155550100",
                    "api_base_url": provider.url,
                },
            },
        ),
        201,
    )
    conversation = f"v.{uuid.uuid4().hex}"
    arrivals = {
        "email": (
            email.id,
            InboundMessage(
                external_id=f"<{uuid.uuid4().hex}@mail.example.com>",
                sender=ContactRef(kind="email", value="li.wei@example.com"),
                subject="Invoice missing",
                text="Where is my invoice?",
            ),
        ),
        "webchat": (
            webchat.id,
            InboundMessage(
                external_id=f"{conversation}:1",
                sender=ContactRef(kind="webchat", value=conversation),
                text="Is the shop open on Sunday?",
                thread=ThreadHints(conversation_id=conversation),
            ),
        ),
        "telegram": (
            telegram["id"],
            InboundMessage(
                external_id="tg-1",
                sender=ContactRef(kind="im", value="4455667788", provider="telegram"),
                text="My parcel is late",
            ),
        ),
        "phone": (
            phone["id"],
            InboundMessage(
                external_id="SM-survey-1",
                sender=ContactRef(kind="phone", value=SMS_CUSTOMER),
                text="My refund has not arrived",
            ),
        ),
        "webhook": (
            webhook.id,
            InboundMessage(
                external_id="shop-1",
                sender=ContactRef(kind="email", value="chen.jie@example.com"),
                text="The discount code fails",
            ),
        ),
    }
    for channel_id, message in arrivals.values():
        await arrive(runtime, tenant.id, channel_id, message)
    await drain(runtime)
    listed = await _ok(await client.get("/api/v1/tickets", headers=h))
    by_channel = {t["channel"]: t for t in listed["items"]}
    assert set(by_channel) == set(arrivals)

    for ticket in by_channel.values():
        await _ok(
            await client.post(
                f"/api/v1/tickets/{ticket['id']}/state", headers=h, json={"state": "resolved"}
            )
        )
    await tick(runtime, tenant)

    tokens: dict[str, str] = {}
    for kind, ticket in by_channel.items():
        surveys = await _ok(await client.get(f"/api/v1/tickets/{ticket['id']}/surveys", headers=h))
        assert [(s["channel"], s["status"]) for s in surveys] == [(kind, "sent")], kind
        messages = await _ok(
            await client.get(f"/api/v1/tickets/{ticket['id']}/messages", headers=h)
        )
        [survey_message] = [m for m in messages["items"] if "/surveys/" in m["body_text"]]
        assert survey_message["direction"] == "outbound"
        found = SURVEY_URL.search(survey_message["body_text"])
        assert found is not None, survey_message["body_text"]
        tokens[kind] = found[1]
        deliveries = await _ok(
            await client.get(f"/api/v1/tickets/{ticket['id']}/deliveries", headers=h)
        )
        assert [d["status"] for d in deliveries if d["message_id"] == survey_message["id"]] == [
            "sent"
        ], (kind, deliveries)

    # What each customer was sent, where they are.
    [mail] = smtp.messages
    assert tokens["email"].encode() in mail.data
    assert mail.rcpt_tos == ["li.wei@example.com"]
    posted = [r for r in provider.requests if r.method == "POST"]
    sent = {r.path: r.json() for r in posted if r.path != TWILIO_MESSAGES}
    [sms] = [parse_qs(r.body.decode()) for r in posted if r.path == TWILIO_MESSAGES]
    assert sms["To"] == [SMS_CUSTOMER] and tokens["phone"] in sms["Body"][0]
    assert tokens["telegram"] in sent[f"/bot{TELEGRAM_TOKEN}/sendMessage"]["text"]
    assert sent[f"/bot{TELEGRAM_TOKEN}/sendMessage"]["chat_id"] == 4455667788
    assert tokens["webhook"] in str(sent["/callback"])
    async with runtime.db.session(tenant.id) as session:
        cipher = await load_tenant_cipher(session, runtime.keyring, tenant.id)
        assert await session.scalar(
            select(Conversation.id).where(Conversation.conversation_key == conversation)
        )
        entries = await history(
            session, cipher, uuid.UUID(webchat.id), conversation, after=0, limit=50
        )
    assert any(tokens["webchat"] in e.data.decode() for e in entries)

    # The page shows the form and changes nothing.
    page = await client.get(f"/surveys/{tokens['email']}")
    assert page.status_code == 200 and 'name="score"' in page.text
    assert by_channel["email"]["number"] in page.text
    email_ticket = by_channel["email"]["id"]
    surveys = await _ok(await client.get(f"/api/v1/tickets/{email_ticket}/surveys", headers=h))
    assert surveys[0]["status"] == "sent" and surveys[0]["score"] is None

    # Bad input is refused with nothing stored.
    for bad in ({"score": 9}, {"score": 0}, {"score": "5"}, {"comment": "no score"}):
        r = await client.post(f"/surveys/{tokens['email']}", json=bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(f"/surveys/{tokens['email']}", data={"score": "six"})
    assert r.status_code == 400

    answer = {"score": 4, "comment": "Quick, thank you."}
    stored = await _ok(await client.post(f"/surveys/{tokens['email']}", json=answer), 201)
    assert stored["score"] == 4 and stored["status"] == "answered"
    r = await client.post(f"/surveys/{tokens['email']}", json={"score": 1, "comment": "changed"})
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(f"/surveys/{tokens['email']}", data={"score": "1"})
    assert r.status_code == 409
    [kept] = await _ok(await client.get(f"/api/v1/tickets/{email_ticket}/surveys", headers=h))
    assert (kept["score"], kept["comment"], kept["status"]) == (4, "Quick, thank you.", "answered")
    events = await _ok(await client.get(f"/api/v1/tickets/{email_ticket}/events", headers=h))
    answered = [e for e in events["items"] if e["kind"] == "survey_answered"]
    assert len(answered) == 1 and answered[0]["data"]["score"] == 4
    page = await client.get(f"/surveys/{tokens['email']}")
    assert page.status_code == 200 and 'name="score"' not in page.text

    # The browser's form works the same way.
    r = await client.post(f"/surveys/{tokens['webchat']}", data={"score": "5", "comment": ""})
    assert r.status_code == 201 and "Thank you" in r.text
    [chat] = await _ok(
        await client.get(f"/api/v1/tickets/{by_channel['webchat']['id']}/surveys", headers=h)
    )
    assert (chat["score"], chat["comment"]) == (5, None)

    # Unknown and malformed tokens find nothing.
    telegram_token = tokens["telegram"]
    for token in ("x" * 43, "short", telegram_token[:-1] + "!", telegram_token + "%0A"):
        assert (await client.get(f"/surveys/{token}")).status_code == 404
        r = await client.post(f"/surveys/{token}", json={"score": 3})
        assert r.status_code == 404, token
    [still] = await _ok(
        await client.get(f"/api/v1/tickets/{by_channel['telegram']['id']}/surveys", headers=h)
    )
    assert still["status"] == "sent"

    # Whatever a browser or script sends: refused as bad input, or taken once.
    bodies = draw_answers()
    taken: list[dict[str, Any]] = []
    for body in bodies:
        r = await client.post(f"/surveys/{tokens['webhook']}", json=body)
        assert r.status_code in (201, 400, 409), (body, r.text)
        assert r.headers["content-type"].startswith("application/"), body
        if r.status_code == 201:
            taken.append(body)
        elif r.status_code == 409:
            assert taken, body
    [survey] = await _ok(
        await client.get(f"/api/v1/tickets/{by_channel['webhook']['id']}/surveys", headers=h)
    )
    if taken:
        assert len(taken) == 1 and survey["score"] == taken[0]["score"]
    else:
        assert survey["status"] == "sent"


ANSWERS = st.fixed_dictionaries(
    {},
    optional={
        "score": st.integers(min_value=-2, max_value=8)
        | st.none()
        | st.text(max_size=3)
        | st.floats(allow_nan=False, allow_infinity=False),
        "comment": st.none() | st.text(max_size=30) | st.integers() | st.text(min_size=2001),
        "tenant_id": st.uuids().map(str),
    },
)


def draw_answers() -> list[Any]:
    """Bodies drawn by hypothesis (a synchronous test); the caller's loop sends them."""
    drawn: list[Any] = []

    @settings(max_examples=40, deadline=None, database=None)
    @given(body=ANSWERS)
    def draw(body: dict[str, Any]) -> None:
        drawn.append(body)

    draw()
    return drawn
