"""deliver: replies sent through WeCom's API (gettoken, message/send) to a real HTTP
server on 127.0.0.1 standing in for qyapi.weixin.qq.com; httpx is not mocked."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from frontdesk.channels import ContactRef, DeliveryReceipt, OutboundMessage, ThreadHints
from frontdesk.testing import ProviderResponse, ProviderServer
from frontdesk_im.wecom import WeComAdapter

AdapterFor = Callable[..., WeComAdapter]

REPLY = OutboundMessage(
    id="out-1",
    recipient=ContactRef(kind="im", provider="wecom", value="LiWei"),
    text="您好，您的订单已发出。",
    ticket_number="CS-2026-000042",
    thread=ThreadHints(conversation_id="LiWei"),
)
TOKEN = ProviderResponse(
    body=b'{"errcode": 0, "errmsg": "ok", "access_token": "AT-1", "expires_in": 7200}'
)


def sent(msgid: str = "msg-1") -> ProviderResponse:
    return ProviderResponse(
        body=json.dumps({"errcode": 0, "errmsg": "ok", "msgid": msgid}).encode()
    )


def errcode(code: int, message: str = "error") -> ProviderResponse:
    return ProviderResponse(body=json.dumps({"errcode": code, "errmsg": message}).encode())


@pytest.fixture
def wired(adapter_for: AdapterFor, provider: ProviderServer) -> WeComAdapter:
    return adapter_for(api_base_url=provider.url)


async def test_a_reply_fetches_a_token_and_sends_a_text_message(
    wired: WeComAdapter, provider: ProviderServer
) -> None:
    provider.queue(TOKEN, sent("msg-77"))
    assert await wired.deliver(REPLY) == DeliveryReceipt(status="sent", external_id="msg-77")
    gettoken, send = provider.requests
    assert (gettoken.method, gettoken.path) == ("GET", "/cgi-bin/gettoken")
    assert gettoken.query == {
        "corpid": ["ww0123456789abcdef"],
        "corpsecret": ["corp-secret-for-tests-0123456789"],
    }
    assert (send.method, send.path, send.query) == (
        "POST",
        "/cgi-bin/message/send",
        {"access_token": ["AT-1"]},
    )
    assert send.json() == {
        "touser": "LiWei",
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "您好，您的订单已发出。"},
    }
    assert send.headers["user-agent"].startswith("frontdesk-im/")


async def test_the_access_token_is_reused(wired: WeComAdapter, provider: ProviderServer) -> None:
    provider.queue(TOKEN, sent("a"), sent("b"))
    await wired.deliver(REPLY)
    await wired.deliver(REPLY)
    assert [r.path for r in provider.requests] == [
        "/cgi-bin/gettoken",
        "/cgi-bin/message/send",
        "/cgi-bin/message/send",
    ]


@pytest.mark.parametrize("code", [40014, 42001])
async def test_an_expired_token_is_renewed_once(
    wired: WeComAdapter, provider: ProviderServer, code: int
) -> None:
    renewed = ProviderResponse(
        body=b'{"errcode": 0, "errmsg": "ok", "access_token": "AT-2", "expires_in": 7200}'
    )
    provider.queue(TOKEN, errcode(code, "access_token expired"), renewed, sent("msg-2"))
    assert await wired.deliver(REPLY) == DeliveryReceipt(status="sent", external_id="msg-2")
    assert [r.query.get("access_token") for r in provider.requests] == [
        None,
        ["AT-1"],
        None,
        ["AT-2"],
    ]


async def test_a_token_refused_twice_is_retried_later(
    wired: WeComAdapter, provider: ProviderServer
) -> None:
    provider.queue(TOKEN, errcode(42001), TOKEN, errcode(42001))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert provider.received == 4


async def test_a_rate_limit_is_retried_after_a_minute(
    wired: WeComAdapter, provider: ProviderServer
) -> None:
    provider.queue(TOKEN, errcode(45009, "api freq out of limit"))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable, receipt.retry_after) == ("failed", True, 60.0)
    assert receipt.error is not None and "45009" in receipt.error


async def test_a_429_says_when_to_retry(wired: WeComAdapter, provider: ProviderServer) -> None:
    provider.queue(TOKEN, ProviderResponse(status=429, headers={"Retry-After": "12"}))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable, receipt.retry_after) == ("failed", True, 12.0)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_is_retryable(
    wired: WeComAdapter, provider: ProviderServer, status: int
) -> None:
    provider.queue(TOKEN, ProviderResponse(status=status, body=b"<html>busy</html>"))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error == f"WeCom answered {status}"


async def test_system_busy_is_retryable(wired: WeComAdapter, provider: ProviderServer) -> None:
    provider.queue(TOKEN, errcode(-1, "system busy"))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (81013, "user & party & tag all invalid, hint: [1700000000_1_abc], from ip: 1.2.3.4"),
        (60020, "not allow to access from your ip"),
        (301002, "not allow operate another agent with this accesstoken."),
    ],
)
async def test_other_errcodes_are_final_and_say_what_wecom_said(
    wired: WeComAdapter, provider: ProviderServer, code: int, message: str
) -> None:
    provider.queue(TOKEN, errcode(code, message))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and str(code) in receipt.error
    assert "hint" not in receipt.error  # WeCom's trailer is noise on a ticket


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_other_4xx_are_final(
    wired: WeComAdapter, provider: ProviderServer, status: int
) -> None:
    provider.queue(TOKEN, ProviderResponse(status=status))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)


async def test_an_unreachable_member_is_final(
    wired: WeComAdapter, provider: ProviderServer
) -> None:
    provider.queue(
        TOKEN, ProviderResponse(body=b'{"errcode": 0, "errmsg": "ok", "invaliduser": "LiWei"}')
    )
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and "not a member this app can reach" in receipt.error


async def test_a_wrong_corp_secret_is_final_and_the_secret_is_not_shown(
    wired: WeComAdapter, provider: ProviderServer
) -> None:
    provider.queue(errcode(40001, "invalid credential, hint: [x]"))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and "check corp_id and corp_secret" in receipt.error
    assert "corp-secret-for-tests" not in receipt.error
    assert provider.received == 1


async def test_an_unreadable_answer_is_retryable(
    wired: WeComAdapter, provider: ProviderServer
) -> None:
    provider.queue(TOKEN, ProviderResponse(body=b"<html>gateway</html>"))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)


async def test_a_provider_that_does_not_answer_is_retryable(
    adapter_for: AdapterFor, provider: ProviderServer
) -> None:
    provider.stall(5)
    adapter = adapter_for(api_base_url=provider.url, timeout_seconds=0.3)
    started = time.monotonic()
    receipt = await adapter.deliver(REPLY)
    assert time.monotonic() - started < 2
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error == "WeCom did not answer within 0.3 s"


async def test_a_closed_port_is_retryable_and_shows_no_secret(
    adapter_for: AdapterFor, closed_port: int
) -> None:
    receipt = await adapter_for(api_base_url=f"http://127.0.0.1:{closed_port}").deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error is not None and receipt.error.startswith("could not reach WeCom")
    assert "corp-secret-for-tests" not in receipt.error


async def test_long_text_is_sent_in_parts_of_at_most_2048_bytes(
    wired: WeComAdapter, provider: ProviderServer
) -> None:
    # 1,000 Chinese characters are 3,000 bytes: two messages.
    text = "订单已发出，请注意查收。" * 84
    provider.queue(TOKEN, sent("m-1"), sent("m-2"))
    receipt = await wired.deliver(OutboundMessage(id="o", recipient=REPLY.recipient, text=text))
    assert receipt == DeliveryReceipt(status="sent", external_id="m-1")
    parts = [r.json()["text"]["content"] for r in provider.requests[1:]]
    assert len(parts) == 2
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(parts) == text


async def test_a_failure_after_some_parts_says_so(
    wired: WeComAdapter, provider: ProviderServer
) -> None:
    provider.queue(TOKEN, sent("m-1"), ProviderResponse(status=503))
    receipt = await wired.deliver(
        OutboundMessage(id="o", recipient=REPLY.recipient, text="好" * 1000)
    )
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error is not None and "after 1 of 2 parts" in receipt.error


async def test_a_reply_too_long_for_ten_messages_is_refused_unsent(
    wired: WeComAdapter, provider: ProviderServer
) -> None:
    receipt = await wired.deliver(
        OutboundMessage(id="o", recipient=REPLY.recipient, text="好" * 7000)
    )
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and "too long for WeCom" in receipt.error
    assert provider.received == 0


async def test_an_empty_reply_or_another_networks_handle_is_refused_unsent(
    wired: WeComAdapter, provider: ProviderServer
) -> None:
    empty = await wired.deliver(OutboundMessage(id="o", recipient=REPLY.recipient, text="  \n"))
    assert (empty.status, empty.retryable, empty.error) == ("failed", False, "the reply is empty")
    telegram = ContactRef(kind="im", provider="telegram", value="42")
    other = await wired.deliver(OutboundMessage(id="o", recipient=telegram, text="hi"))
    assert (other.status, other.retryable) == ("failed", False)
    assert provider.received == 0
