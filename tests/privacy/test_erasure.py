"""Personal-data requests: a customer's export holds everything from every channel
(calls with their recording and transcription, survey answers, tasks); after
erasure, a dump of the database (every row as the owner; for SQLite the file and
its WAL, byte for byte) and of the attachment store finds none of their contact
values or words, and their anonymised tickets still count."""

from __future__ import annotations

import base64
import io
import json
import quopri
import re
import uuid
import zipfile
from collections import Counter
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import select

from channels.email_platform import make_email_channel, post_mail
from channels.test_phone_channel import (
    completed,
    make_line,
    nobody_answered,
    ringing,
    transcription,
    voicemail,
)
from channels.test_pipeline import make_channel, payload, post_signed
from conftest import TenantUnderTest, add_user, drain, sign_up
from dumps import dump_database
from followups.support import tick
from frontdesk.attachments.models import StoredAttachment
from frontdesk.audit.models import AuditEntry
from frontdesk.channels import transcripts
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderServer

# Unique to this run: the database is shared with other tests.
TAG = uuid.uuid4().hex[:6]
DIGITS = f"{int(TAG, 16) % 10_000:04d}"
EMAIL = f"li.wei.{TAG}@example.com"
PHONE = f"+86139{DIGITS}5678"
SPACED_PHONE = f"+86 139 {DIGITS} 5678"
NAME = f"Li Wei {TAG}"
ATTACHMENT = f"INVOICE-CONTENT-{TAG} for {EMAIL}".encode()
FILENAME = f"li-wei-{TAG}-invoice.pdf"
CALL_SID = f"CA{TAG}"
VOICEMAIL = f"Voicemail {TAG}: the modem smokes, call me back"
COMMENT = f"The engineer {TAG} never came"
TASK_NOTE = f"Called {TAG} back, she was out"
# Every way Li Wei's values and words could be left behind.
NEEDLES = [
    EMAIL,
    f"li.wei.{TAG}",
    PHONE[1:],
    PHONE[3:],
    SPACED_PHONE[4:],
    NAME.lower(),
    f"my router {TAG} melted on tuesday",
    f"the invoice {TAG} number is wrong",
    f"prefers calls {TAG} after six",
    f"transcript {TAG}: the lights blink red",
    f"handoff {TAG}: replace the router",
    FILENAME,
    f"invoice-content-{TAG}",
    f"voicemail {TAG}: the modem smokes",
    f"recordings/re{CALL_SID}".lower(),
    COMMENT.lower(),
    TASK_NOTE.lower(),
]
CONTROL = f"chen {TAG} keeps this text"


def li_wei_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{NAME} <{EMAIL}>"
    msg["To"] = "support@acme.example"
    msg["Subject"] = f"{NAME}: router"
    msg["Message-ID"] = f"<li.wei.{TAG}.7731@example.com>"
    msg.set_content(f"My router {TAG} melted on Tuesday. Call me on {SPACED_PHONE}.\n-- {NAME}\n")
    msg.add_attachment(ATTACHMENT, maintype="application", subtype="pdf", filename=FILENAME)
    return msg.as_bytes()


async def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def _tickets(client: httpx.AsyncClient, t: TenantUnderTest) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await _ok(await client.get("/api/v1/tickets?limit=100", headers=t.admin.headers))
    )["items"]
    return items


def _counts(tickets: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((t["channel"], t["state"]) for t in tickets)


def b64_forms(value: bytes) -> list[str]:
    """The value base64-encoded at each of the three alignments it may have in a blob."""
    forms = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + value).decode()
        forms.append(encoded[4 if shift else 0 : len(encoded) - 4])
    return [f for f in forms if len(f) >= 8]


def assert_nothing_of_li_wei(dump: str) -> None:
    # Two passes over the dump, each for every form at once (it may be large).
    plain = {needle for needle in NEEDLES} | {
        quopri.encodestring(needle.encode()).decode().lower() for needle in NEEDLES
    }
    encoded = {
        form
        for needle in NEEDLES
        for variant in (needle, needle.upper(), needle.title())
        for form in b64_forms(variant.encode())
    }
    found = re.search("|".join(map(re.escape, sorted(plain))), dump.lower())
    assert found is None, found.group(0) if found else None
    found = re.search("|".join(map(re.escape, sorted(encoded))), dump)
    assert found is None, found.group(0) if found else None


async def test_export_then_erasure_leaves_nothing_and_tickets_still_count(
    client: httpx.AsyncClient, worker: Runtime
) -> None:
    runtime = worker
    t = await sign_up(client)
    await add_user(client, t, "agent", teams=["front-line"])  # the phone line's agent
    # Admins are told of every emailed ticket: the notification copies its subject.
    await _ok(
        await client.put(
            "/api/v1/routing-rules",
            headers=t.admin.headers,
            json={
                "rules": [
                    {
                        "name": "Admins hear of mail",
                        "conditions": {"channels": ["email"]},
                        "actions": {"notify": ["admins"]},
                    }
                ]
            },
        )
    )
    mail = await make_email_channel(client, t)
    hook = await make_channel(client, t)
    await _ok(await post_mail(client, mail, li_wei_mail()))
    phone_sender = {"kind": "phone", "value": SPACED_PHONE, "name": NAME}
    words = f"The invoice {TAG} number is wrong"
    await _ok(
        await post_signed(
            client,
            hook,
            payload(f"w-{TAG}", words, sender=phone_sender, conversation_id=f"conv-{TAG}"),
        )
    )
    chen = {"kind": "email", "value": "chen.jie@example.com", "name": "Chen Jie"}
    await _ok(await post_signed(client, hook, payload(f"c-{TAG}", CONTROL.title(), sender=chen)))
    await drain(runtime)

    tickets = await _tickets(client, t)
    assert len(tickets) == 3
    names = {
        x["id"]: (
            await _ok(
                await client.get(f"/api/v1/customers/{x['customer_id']}", headers=t.admin.headers)
            )
        )["display_name"]
        for x in tickets
    }
    [emailed] = [x for x in tickets if x["channel"] == "email"]
    [phoned] = [x for x in tickets if x["channel"] == "webhook" and names[x["id"]] == NAME]
    li_wei, li_wei_phone = emailed["customer_id"], phoned["customer_id"]
    # The phone customer is the same person: merged, so the request covers both.
    await _ok(
        await client.post(
            f"/api/v1/customers/{li_wei}/merge",
            headers=t.admin.headers,
            json={"source_customer_id": li_wei_phone},
        ),
        201,
    )
    await _ok(
        await client.post(
            f"/api/v1/tickets/{emailed['id']}/messages",
            headers=t.admin.headers,
            json={"kind": "note", "body": f"{NAME} prefers calls {TAG} after six"},
        ),
        201,
    )
    await _ok(
        await client.patch(
            f"/api/v1/tickets/{emailed['id']}",
            headers=t.admin.headers,
            json={"subject": f"{NAME} router {TAG} melted on Tuesday"},
        )
    )
    # A hand-off to engineering describing the case (its words also land in ticket events).
    await _ok(
        await client.post(
            f"/api/v1/tickets/{emailed['id']}/handoffs",
            headers=t.admin.headers,
            json={
                "team_id": str(t.teams["engineering"]),
                "description": f"{NAME} handoff {TAG}: replace the router",
                "due_minutes": 60,
            },
        ),
        201,
    )
    # A live chat's transcript on the phone ticket's conversation, as an adapter keeps it.
    async with runtime.db.session(t.id) as session:
        cipher = await load_tenant_cipher(session, runtime.keyring, t.id)
        await transcripts.record(
            session, cipher, uuid.UUID(hook.id), f"conv-{TAG}", "e-1",
            json.dumps({"text": f"Transcript {TAG}: the lights blink red"}).encode(),
        )  # fmt: skip
    # A voicemail from Li Wei's number on the phone line, transcribed; the callback
    # task it opens is closed with a note.
    with ProviderServer() as provider:
        line = await make_line(client, t, provider)
        sender = {"From": PHONE}
        steps = [ringing(CALL_SID), nobody_answered(CALL_SID), voicemail(CALL_SID)]
        steps += [completed(CALL_SID, 60, 60), transcription(CALL_SID, VOICEMAIL)]
        await line.send(*(({**params, **sender}, event) for params, event in steps))
        await drain(runtime)
    [called] = [x for x in await _tickets(client, t) if x["channel"] == "phone"]
    assert called["customer_id"] == li_wei
    [task] = await _ok(
        await client.get(f"/api/v1/tickets/{called['id']}/tasks", headers=t.admin.headers)
    )
    await _ok(
        await client.post(
            f"/api/v1/tasks/{task['id']}/done", headers=t.admin.headers, json={"note": TASK_NOTE}
        )
    )
    # The webhook ticket resolved: its survey goes out, and Li Wei answers it.
    await _ok(
        await client.post(
            f"/api/v1/tickets/{phoned['id']}/state",
            headers=t.admin.headers,
            json={"state": "resolved"},
        )
    )
    await tick(runtime, t)
    sent = await _ok(
        await client.get(f"/api/v1/tickets/{phoned['id']}/messages", headers=t.admin.headers)
    )
    [token] = [
        found[1]
        for m in sent["items"]
        if (found := re.search(r"/surveys/([A-Za-z0-9_-]{43})", m["body_text"]))
    ]
    await _ok(await client.post(f"/surveys/{token}", json={"score": 2, "comment": COMMENT}), 201)
    [told] = (await _ok(await client.get("/api/v1/notifications", headers=t.admin.headers)))[
        "items"
    ]
    assert NAME in told["payload"]["subject"]

    before = _counts(await _tickets(client, t))
    assert f"li.wei.{TAG}" in (await dump_database(runtime.settings)).lower()  # it is there

    # The export: everything, from both channels, with the attachment's bytes.
    r = await client.post(f"/api/v1/customers/{li_wei}/export", headers=t.admin.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    document = json.loads(archive.read("customer.json"))
    assert {p["value"] for p in document["contact_points"]} == {EMAIL, PHONE}
    assert {c["id"] for c in document["customers"]} == {li_wei, li_wei_phone}
    bodies = [m["body_text"] for x in document["tickets"] for m in x["messages"]]
    assert any(f"My router {TAG} melted on Tuesday" in b for b in bodies)
    assert words in bodies and f"{NAME} prefers calls {TAG} after six" in bodies
    assert CONTROL.title() not in bodies  # another customer's words are not theirs
    [listed] = [a for x in document["tickets"] for m in x["messages"] for a in m["attachments"]]
    assert listed["filename"] == FILENAME
    assert archive.read(listed["file"]) == ATTACHMENT
    assert document["live_chat_transcripts"][0]["entries"] == [
        {"text": f"Transcript {TAG}: the lights blink red"}
    ]
    [logged] = document["calls"]
    assert logged["transcription"] == VOICEMAIL and logged["voicemail"]
    assert logged["recording_url"].endswith(f"/Recordings/RE{CALL_SID}")
    assert [(s["score"], s["comment"]) for s in document["surveys"]] == [(2, COMMENT)]
    assert [x["note"] for x in document["tasks"]] == [TASK_NOTE]

    async with runtime.db.session(t.id) as session:
        [stored] = (await session.scalars(select(StoredAttachment))).all()
    attachment_file = runtime.settings.data_dir / "attachments" / str(t.id)
    assert any(attachment_file.rglob(str(stored.id)))

    # The erasure.
    erased = await _ok(
        await client.post(f"/api/v1/customers/{li_wei}/erase", headers=t.admin.headers)
    )
    assert erased["customers"] == 2 and erased["contact_points"] == 2 and erased["tickets"] == 3
    assert erased["calls"] == 1 and erased["survey_comments"] == 1 and erased["task_notes"] == 1
    assert erased["notifications"] == 1
    assert erased["attachments"] == 1 and erased["transcript_entries"] == 1

    # Reports count the same tickets, by channel and state.
    after = await _tickets(client, t)
    assert _counts(after) == before
    assert {x["subject"] for x in after if x["customer_id"] == li_wei} == {"(erased)"}
    customer = await _ok(await client.get(f"/api/v1/customers/{li_wei}", headers=t.admin.headers))
    assert customer["display_name"] == "Erased customer"
    assert customer["contact_points"] == []
    # The call still counts, without the customer's voice or words; the score still counts.
    [log] = await _ok(
        await client.get(f"/api/v1/tickets/{called['id']}/calls", headers=t.admin.headers)
    )
    assert (log["status"], log["voicemail"]) == ("missed", True)
    assert log["recording_url"] is None and log["transcription"] is None
    [survey] = await _ok(
        await client.get(f"/api/v1/tickets/{phoned['id']}/surveys", headers=t.admin.headers)
    )
    assert (survey["score"], survey["comment"]) == (2, None)
    # The attachment's file is gone, and nothing in the store holds their data.
    assert not any(attachment_file.rglob(str(stored.id)))
    for file in (runtime.settings.data_dir / "attachments").rglob("*"):
        if file.is_file():
            assert_nothing_of_li_wei(file.read_bytes().decode("latin-1"))

    dump = await dump_database(runtime.settings)
    assert_nothing_of_li_wei(dump)
    assert CONTROL in dump.lower()  # the dump is real: the other customer's words are in it
    # Both requests are audited, by id and counts only.
    async with runtime.db.session(t.id) as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.subject_id == uuid.UUID(li_wei))
            )
        ).all()
    assert {"customer.exported", "customer.erased"} <= set(actions)


async def test_personal_data_requests_need_the_permission_and_stay_in_their_tenant(
    client: httpx.AsyncClient, tenant: TenantUnderTest, other_tenant: TenantUnderTest
) -> None:
    made = await _ok(
        await client.post(
            "/api/v1/customers",
            headers=tenant.admin.headers,
            json={
                "display_name": "Ana",
                "contacts": [{"kind": "email", "value": "ana@example.com"}],
            },
        ),
        201,
    )
    merged = await _ok(
        await client.post(
            "/api/v1/customers", headers=tenant.admin.headers, json={"display_name": "Ana B"}
        ),
        201,
    )
    await _ok(
        await client.post(
            f"/api/v1/customers/{made['id']}/merge",
            headers=tenant.admin.headers,
            json={"source_customer_id": merged["id"]},
        ),
        201,
    )
    for action in ("export", "erase"):
        url = f"/api/v1/customers/{made['id']}/{action}"
        r = await client.post(url, headers=tenant.users["agent"].headers)
        assert r.status_code == 403, r.text
        r = await client.post(url, headers=other_tenant.admin.headers)
        assert r.status_code == 404, r.text
        r = await client.post(
            f"/api/v1/customers/{merged['id']}/{action}", headers=tenant.admin.headers
        )
        assert r.status_code == 409, r.text
    r = await client.post(f"/api/v1/customers/{made['id']}/erase", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/customers/{made['id']}/erase", headers=tenant.admin.headers)
    assert r.status_code == 409, r.text
    r = await client.get(f"/api/v1/customers/{made['id']}", headers=tenant.admin.headers)
    assert r.json()["display_name"] == "Erased customer"
