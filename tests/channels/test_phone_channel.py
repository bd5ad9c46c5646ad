"""The phone channel (frontdesk-phone, Twilio's dialect) through the platform, end to end.

Whole call flows are replayed as Twilio sends them, signed here from Twilio's
documentation (HMAC-SHA1 with hashlib, not the adapter's code), posted to the
channel's webhook URL, redelivered and reordered; jobs run on the in-process
broker; a real HTTP server on 127.0.0.1 stands in for Twilio's REST API.
Each flow must end with exactly one correct call log and the right tasks.
"""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from channels.email_platform import SUPPORT, mail, make_email_channel, new_id, post_mail
from conftest import TenantUnderTest, add_user, drain, sign_up
from frontdesk.clock import Clock
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderServer
from frontdesk.timers.service import run_due

TOKEN = "twilio-auth-token-platform-0123"
ACCOUNT = "AC00000000000000000000000000000042"
NUMBER = "+14155550100"
CALLER = "+14155550123"
T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
CALLBACK_MINUTES = 30


def at(seconds: float) -> str:
    return email.utils.format_datetime(T0 + dt.timedelta(seconds=seconds))


#: One webhook request: its form parameters and the ``event`` query value.
Step = tuple[dict[str, str], str | None]


class Line:
    """A Twilio phone number pointed at a channel's webhook URL."""

    def __init__(self, client: httpx.AsyncClient, webhook_url: str) -> None:
        self.client = client
        self.webhook_url = webhook_url

    def sign(self, url: str, params: dict[str, str]) -> str:
        data = url + "".join(k + params[k] for k in sorted(params))
        digest = hmac.new(TOKEN.encode(), data.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    async def post(
        self, params: dict[str, str], event: str | None = None, *, signature: str | None = None
    ) -> httpx.Response:
        url = self.webhook_url + (f"?event={event}" if event else "")
        target = httpx.URL(url)
        return await self.client.post(
            target.raw_path.decode(),
            content=urlencode(params).encode(),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "x-twilio-signature": signature or self.sign(url, params),
            },
        )

    async def send(self, *steps: Step) -> None:
        for params, event in steps:
            r = await self.post(params, event)
            assert r.status_code == 200, r.text


# --- Twilio's requests, by the parameters its documentation lists ---------------------


def call(sid: str, status: str, when: float | None = None, **extra: str) -> dict[str, str]:
    params = {
        "CallSid": sid,
        "AccountSid": ACCOUNT,
        "From": CALLER,
        "To": NUMBER,
        "CallStatus": status,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        **extra,
    }
    if when is not None:
        params["Timestamp"] = at(when)
    return params


def ringing(sid: str, when: float = 0) -> Step:
    return call(sid, "ringing", when), None


def agent_answers(sid: str, when: float) -> Step:
    leg = call(sid + "L", "in-progress", when, ParentCallSid=sid, Direction="outbound-dial")
    leg["To"] = "client:ada"
    return leg, "agent"


def completed(sid: str, when: float, duration: int) -> Step:
    return call(sid, "completed", when, CallDuration=str(duration)), None


def nobody_answered(sid: str) -> Step:
    return call(sid, "in-progress", DialCallStatus="no-answer", DialCallDuration="0"), "dial"


def voicemail(sid: str) -> Step:
    return call(
        sid,
        "completed",
        RecordingSid="RE" + sid,
        RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{sid}",
        RecordingStatus="completed",
        RecordingDuration="14",
        RecordingSource="RecordVerb",
    ), "voicemail"


def transcription(sid: str, text: str) -> Step:
    return call(
        sid,
        "completed",
        TranscriptionSid="TR" + sid,
        TranscriptionText=text,
        TranscriptionStatus="completed",
        RecordingSid="RE" + sid,
        RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{sid}",
    ), "transcription"


def answered_call(sid: str, answered: float, ended: float, duration: int) -> list[Step]:
    """A call an agent answered ``answered`` seconds after it rang, in order."""
    return [ringing(sid), agent_answers(sid, answered), completed(sid, ended, duration)]


def voicemail_call(sid: str, ended: float, text: str) -> list[Step]:
    """A call nobody answered, a voicemail left, its transcription minutes later."""
    return [
        ringing(sid),
        nobody_answered(sid),
        voicemail(sid),
        completed(sid, ended, ended),
        transcription(sid, text),
    ]


def callback(sid: str, status: str, when: float, **extra: str) -> Step:
    params = call(sid, status, when, Direction="outbound-api", **extra)
    params["From"], params["To"] = NUMBER, CALLER
    return params, None


# --- the platform's side ------------------------------------------------------------


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> TenantUnderTest:
    """A tenant with its admin and one front-line agent (the callers' agent, "ada")."""
    t = await sign_up(client)
    await add_user(client, t, "agent", teams=["front-line"])
    return t


async def make_line(
    client: httpx.AsyncClient, tenant: TenantUnderTest, provider: ProviderServer
) -> Line:
    r = await client.post(
        "/api/v1/channels",
        headers=tenant.admin.headers,
        json={
            "kind": "phone",
            "name": "Support line",
            "config": {
                "account_id": ACCOUNT,
                "auth_token": TOKEN,
                "phone_number": NUMBER,
                "api_base_url": provider.url,
                "dial": ["client:ada"],
                "agents": {"client:ada": tenant.users["agent"].email},
                "timeout_seconds": 5,
            },
            "settings": {"callback_due_minutes": CALLBACK_MINUTES},
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["config"]["auth_token"] == "********"
    return Line(client, r.json()["webhook_url"])


async def get(client: httpx.AsyncClient, tenant: TenantUnderTest, path: str) -> Any:
    r = await client.get(path, headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def only_ticket(client: httpx.AsyncClient, tenant: TenantUnderTest) -> dict[str, Any]:
    tickets = (await get(client, tenant, "/api/v1/tickets"))["items"]
    assert len(tickets) == 1, tickets
    ticket: dict[str, Any] = tickets[0]
    return ticket


async def calls_of(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str
) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = await get(client, tenant, f"/api/v1/tickets/{ticket_id}/calls")
    return calls


async def tasks_of(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str
) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = await get(client, tenant, f"/api/v1/tickets/{ticket_id}/tasks")
    return tasks


async def timeline(client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str) -> list[str]:
    events = (await get(client, tenant, f"/api/v1/tickets/{ticket_id}/events"))["items"]
    return [e["kind"] for e in events if e["kind"].startswith(("call_", "voicemail", "task_"))]


def when(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


# --- call flows -----------------------------------------------------------------------


async def test_an_answered_call_redelivered_then_an_sms_and_a_reply_out_as_sms(
    client: httpx.AsyncClient,
    worker: Runtime,
    tenant: TenantUnderTest,
    provider: ProviderServer,
    clock: Clock,
) -> None:
    line = await make_line(client, tenant, provider)
    # Forged or tampered first: refused with a problem, and nothing stored.
    params, _ = ringing("CA1")
    genuine = line.sign(line.webhook_url, params)
    for request in [
        line.post({**params, "From": "+14155550999"}, signature=genuine),
        line.post(params, "agent", signature=genuine),
        line.post(params, signature="bm90IGEgc2lnbmF0dXJl"),
    ]:
        r = await request
        assert r.status_code == 401, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    # Signed but not something Twilio sends: a 400 problem, nothing stored either.
    r = await line.post({**params, "CallStatus": "teleported"})
    assert r.status_code == 400 and "teleported" in r.json()["detail"]
    await drain(worker)
    assert (await get(client, tenant, "/api/v1/tickets"))["items"] == []

    flow = answered_call("CA1", 8, 50, 42)
    await line.send(*flow, *flow)  # Twilio retries: every webhook twice
    await drain(worker)

    ticket = await only_ticket(client, tenant)
    assert ticket["channel"] == "phone"
    [log] = await calls_of(client, tenant, ticket["id"])
    assert log["provider_call_id"] == "CA1"
    assert log["direction"] == "inbound"
    assert log["status"] == "completed"
    assert when(log["started_at"]) == T0
    assert when(log["answered_at"]) == T0 + dt.timedelta(seconds=8)
    assert when(log["ended_at"]) == T0 + dt.timedelta(seconds=50)
    assert log["wait_seconds"] == 8
    assert log["answered_within_target"] is True
    assert log["duration_seconds"] == 42
    assert log["agent_user_id"] == str(tenant.users["agent"].user_id)
    assert log["agent"] is None  # a user is named by id; their email stays encrypted
    assert log["callback_task_id"] is None
    assert await tasks_of(client, tenant, ticket["id"]) == []
    assert await timeline(client, tenant, ticket["id"]) == [
        "call_started",
        "call_answered",
        "call_ended",
    ]
    day = "since=2026-11-27T00:00:00Z&until=2026-11-28T00:00:00Z"
    report = await get(client, tenant, f"/api/v1/calls/answer-times?{day}")
    assert (report["calls"], report["answered"], report["answered_within_target"]) == (1, 1, 1)
    assert report["share_within_target"] == 1.0 and report["average_wait_seconds"] == 8
    strict = await get(client, tenant, f"/api/v1/calls/answer-times?{day}&target_seconds=5")
    assert strict["answered_within_target"] == 0

    # The caller texts: the SMS joins the call's ticket; a long reply goes out as two SMS.
    sms = {"MessageSid": "SM8", "AccountSid": ACCOUNT, "From": CALLER, "To": NUMBER}
    await line.send(({**sms, "Body": "I just called, call me back please", "NumMedia": "0"}, None))
    await drain(worker)
    assert (await only_ticket(client, tenant))["id"] == ticket["id"]
    messages = (await get(client, tenant, f"/api/v1/tickets/{ticket['id']}/messages"))["items"]
    assert [m["body_text"] for m in messages] == ["I just called, call me back please"]

    provider.accept(b'{"sid": "SMout", "status": "queued"}')
    reply = ("We are looking into it. " * 80).strip()  # 1,919 characters: two SMS
    r = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        headers=tenant.users["agent"].headers,
        json={"kind": "reply", "body": reply},
    )
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 20
    while len(provider.requests) < 2 and time.monotonic() < deadline:
        await drain(worker)
        await asyncio.sleep(0.05)
    sent = [parse_qs(q.body.decode()) for q in provider.requests]
    assert [q.path for q in provider.requests] == [
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    ] * 2
    assert all(s["To"] == [CALLER] and s["From"] == [NUMBER] for s in sent)
    assert all(len(s["Body"][0]) <= 1600 for s in sent)
    assert " ".join(s["Body"][0] for s in sent) == reply
    auth = base64.b64decode(provider.requests[0].headers["authorization"].split()[1]).decode()
    assert auth == f"{ACCOUNT}:{TOKEN}"


async def test_a_missed_call_opens_a_callback_task_that_calling_back_closes(
    client: httpx.AsyncClient,
    worker: Runtime,
    tenant: TenantUnderTest,
    provider: ProviderServer,
    clock: Clock,
) -> None:
    line = await make_line(client, tenant, provider)
    # The answer to the incoming call is TwiML ringing the agents, then the
    # <Dial> action's answer offers voicemail.
    r = await line.post(*ringing("CA2"))
    assert r.headers["content-type"].startswith("application/xml")
    assert "<Client" in r.text and "ada</Client>" in r.text and 'timeout="20"' in r.text
    r = await line.post(*nobody_answered("CA2"))
    assert "<Record" in r.text and 'transcribe="true"' in r.text
    await line.send(nobody_answered("CA2"), completed("CA2", 25, 25))
    await drain(worker)

    ticket = await only_ticket(client, tenant)
    [log] = await calls_of(client, tenant, ticket["id"])
    assert log["status"] == "missed"
    assert log["missed_reason"] == "no-answer"
    assert log["answered_at"] is None and log["wait_seconds"] is None
    [task] = await tasks_of(client, tenant, ticket["id"])
    assert task["id"] == log["callback_task_id"]
    assert task["kind"] == "callback" and task["status"] == "open"
    assert task["priority"] == "high"
    assert when(task["due_at"]) == clock.now() + dt.timedelta(minutes=CALLBACK_MINUTES)
    # Assigned where routing put the ticket.
    assert task["team_id"] == ticket["team_id"] is not None
    assert task["assignee_id"] == ticket["assignee_id"]

    # The agent calls back from the ticket: Twilio's API is asked to call the
    # customer and ring the agent; the customer answers; the call ends: done.
    provider.accept(b'{"sid": "CA3", "status": "queued"}')
    clock.set(T0 + dt.timedelta(seconds=600))
    r = await client.post(
        f"/api/v1/tickets/{ticket['id']}/calls", headers=tenant.users["agent"].headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["provider_call_id"] == "CA3" and r.json()["direction"] == "outbound"
    [placed] = provider.requests
    assert placed.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    form = parse_qs(placed.body.decode())
    assert form["To"] == [CALLER] and form["From"] == [NUMBER]
    assert form["Twiml"] == ["<Response><Dial><Client>ada</Client></Dial></Response>"]
    assert form["StatusCallback"] == [line.webhook_url]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    await line.send(
        callback("CA3", "ringing", 600),
        callback("CA3", "in-progress", 606),
        callback("CA3", "completed", 700, CallDuration="94"),
    )
    await drain(worker)
    assert (await only_ticket(client, tenant))["id"] == ticket["id"]
    missed, called_back = await calls_of(client, tenant, ticket["id"])
    assert missed["provider_call_id"] == "CA2"
    assert called_back["direction"] == "outbound" and called_back["status"] == "completed"
    assert called_back["agent_user_id"] == str(tenant.users["agent"].user_id)
    assert called_back["wait_seconds"] == 6
    [task] = await tasks_of(client, tenant, ticket["id"])
    assert task["status"] == "done" and task["note"] == "called back"
    assert await timeline(client, tenant, ticket["id"]) == [
        "call_started",
        "call_missed",
        "task_opened",
        "call_ended",
        "call_placed",
        "call_answered",
        "call_ended",
        "task_done",
    ]

    report = await get(
        client,
        tenant,
        "/api/v1/calls/answer-times?since=2026-11-27T00:00:00Z&until=2026-11-28T00:00:00Z",
    )
    assert report["calls"] == 1 and report["missed"] == 1
    assert report["answered_within_target"] == 0 and report["target_seconds"] == 15


async def test_a_voicemail_transcribed_after_the_call_ended_and_webhooks_out_of_order(
    client: httpx.AsyncClient,
    worker: Runtime,
    tenant: TenantUnderTest,
    provider: ProviderServer,
    clock: Clock,
) -> None:
    line = await make_line(client, tenant, provider)
    text = "Hi, my card 4111 1111 1111 1111 was charged twice, please call me back."
    # In order, the transcription minutes after the call ended.
    await line.send(*voicemail_call("CA4", 60, text))
    # A second call, every webhook out of order and some twice: answered in 20 s.
    await line.send(
        completed("CA5", 90, 70),
        agent_answers("CA5", 20),
        completed("CA5", 90, 70),
        ringing("CA5"),
        agent_answers("CA5", 20),
    )
    await drain(worker)

    ticket = await only_ticket(client, tenant)
    voicemail_log, late_log = await calls_of(client, tenant, ticket["id"])
    assert voicemail_log["status"] == "missed" and voicemail_log["voicemail"] is True
    assert voicemail_log["recording_url"].endswith("/Recordings/RECA4")
    assert "4111 1111 1111 1111" not in voicemail_log["transcription"]
    assert voicemail_log["transcription"].endswith("was charged twice, please call me back.")
    assert late_log["status"] == "completed"
    assert late_log["wait_seconds"] == 20 and late_log["answered_within_target"] is False
    assert late_log["duration_seconds"] == 70
    assert late_log["agent_user_id"] == str(tenant.users["agent"].user_id)

    # One callback owed: the voicemail's. The second call's end came before its
    # answer, so for a moment it was a missed call too, on the same open task;
    # once answered it owes nothing.
    [task] = await tasks_of(client, tenant, ticket["id"])
    assert task["id"] == voicemail_log["callback_task_id"]
    assert task["status"] == "open" and task["title"] == "Call back: voicemail"
    assert late_log["callback_task_id"] is None

    # Its own clock: past due it is marked overdue once; an agent may close it by hand.
    clock.advance(dt.timedelta(minutes=CALLBACK_MINUTES + 1))
    await run_due(worker, tenant_ids=[tenant.id])
    await drain(worker)
    [task] = await tasks_of(client, tenant, ticket["id"])
    assert task["overdue"] is True and task["status"] == "open"
    done = f"/api/v1/tasks/{task['id']}/done"
    agent = tenant.users["agent"].headers
    r = await client.post(done, headers=agent, json={"note": "called from my mobile"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done" and r.json()["note"] == "called from my mobile"
    assert (await client.post(done, headers=agent, json={})).status_code == 409

    kinds = await timeline(client, tenant, ticket["id"])
    assert kinds.count("task_overdue") == 1 and kinds.count("task_done") == 1
    assert kinds.count("call_started") == 2
    assert kinds.count("voicemail_received") == 1 and kinds.count("voicemail_transcribed") == 1
    assert kinds.count("call_answered") == 1 and kinds.count("call_ended") == 2


async def test_a_customer_who_calls_then_emails_has_one_timeline_with_both(
    client: httpx.AsyncClient,
    worker: Runtime,
    tenant: TenantUnderTest,
    provider: ProviderServer,
    clock: Clock,
) -> None:
    r = await client.post(
        "/api/v1/customers",
        headers=tenant.admin.headers,
        json={
            "display_name": "Ada Customer",
            "contacts": [
                {"kind": "phone", "value": "+1 (415) 555-0123"},
                {"kind": "email", "value": "ada@customer.example"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    customer_id = r.json()["id"]
    line = await make_line(client, tenant, provider)
    mailbox = await make_email_channel(client, tenant)
    await line.send(*answered_call("CA7", 4, 64, 60))
    await drain(worker)
    raw = mail(
        f"From: Ada <ada@customer.example>\nTo: {SUPPORT}\nSubject: After my call\n"
        f"Message-ID: {new_id()}",
        "As discussed on the phone, here is my order number.\n",
    )
    assert (await post_mail(client, mailbox, raw)).status_code == 200
    await drain(worker)

    customers = (await get(client, tenant, "/api/v1/customers"))["items"]
    assert [c["id"] for c in customers] == [customer_id]
    entries = (await get(client, tenant, f"/api/v1/customers/{customer_id}/timeline"))["items"]
    by_channel = {e["ticket"]["channel"]: e for e in entries}
    assert set(by_channel) == {"phone", "email"}
    [log] = by_channel["phone"]["calls"]
    assert log["provider_call_id"] == "CA7" and log["duration_seconds"] == 60
    assert by_channel["email"]["messages"][0]["subject"] == "After my call"


# --- Vonage -----------------------------------------------------------------------------

VONAGE_SECRET = "vonage-signature-secret-platform"


def vonage_token(body: bytes) -> str:
    def enc(part: dict[str, Any]) -> str:
        raw = json.dumps(part).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    claims = {"iat": int(time.time()), "payload_hash": hashlib.sha256(body).hexdigest()}
    head = enc({"alg": "HS256", "typ": "JWT"}) + "." + enc(claims)
    mac = hmac.new(VONAGE_SECRET.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


async def test_a_vonage_voicemail_whose_recording_names_no_number_reaches_its_call(
    client: httpx.AsyncClient,
    worker: Runtime,
    tenant: TenantUnderTest,
    provider: ProviderServer,
    clock: Clock,
) -> None:
    r = await client.post(
        "/api/v1/channels",
        headers=tenant.admin.headers,
        json={
            "kind": "phone",
            "name": "Vonage line",
            "config": {
                "provider": "vonage",
                "account_id": "abcd1234",
                "auth_token": "vonage-api-secret",
                "signature_secret": VONAGE_SECRET,
                "phone_number": NUMBER,
                "api_base_url": provider.url,
            },
        },
    )
    assert r.status_code == 201, r.text
    webhook = httpx.URL(r.json()["webhook_url"])

    async def send(body: dict[str, Any], event: str = "") -> httpx.Response:
        raw = json.dumps(body).encode()
        path = webhook.path + (f"?event={event}" if event else "")
        return await client.post(
            path,
            content=raw,
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {vonage_token(raw)}",
            },
        )

    leg = {"conversation_uuid": "CON-9", "uuid": "leg-9", "from": CALLER[1:], "to": NUMBER[1:]}
    answer = await send(leg)
    assert answer.status_code == 200 and answer.json()[1]["action"] == "record"
    recording = {
        "conversation_uuid": "CON-9",
        "recording_uuid": "rec-9",
        "recording_url": "https://api.nexmo.com/v1/files/rec-9",
        "end_time": "2026-11-27T09:01:00Z",
    }
    for body, event in [
        (
            {
                **leg,
                "status": "started",
                "direction": "inbound",
                "timestamp": "2026-11-27T09:00:00Z",
            },
            "",
        ),
        (
            {
                **leg,
                "status": "completed",
                "direction": "inbound",
                "duration": "60",
                "timestamp": "2026-11-27T09:01:00Z",
            },
            "",
        ),
        (recording, "voicemail"),
        (recording, "voicemail"),
    ]:
        assert (await send(body, event)).status_code == 200
    await drain(worker)

    ticket = await only_ticket(client, tenant)
    [log] = await calls_of(client, tenant, ticket["id"])
    assert log["provider_call_id"] == "CON-9" and log["status"] == "missed"
    assert log["voicemail"] is True and log["recording_url"].endswith("/rec-9")
    [task] = await tasks_of(client, tenant, ticket["id"])
    assert task["title"] == "Call back: voicemail" and task["status"] == "open"
