"""verify: the secret token Telegram sends with every update (``setWebhook``'s ``secret_token``)."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.channels import SignatureInvalid
from frontdesk_im.telegram import TelegramAdapter

Tg = Any  # conftest builders


async def test_the_right_secret_token_is_accepted(
    telegram_adapter: TelegramAdapter, tg: Tg
) -> None:
    await telegram_adapter.verify(tg.signed(tg.update()))


@pytest.mark.parametrize(
    "secret",
    [
        "frontdesk-telegram-secret-2025",
        "frontdesk-telegram-secret-2026 ",
        "frontdesk-telegram-secret",
        "Frontdesk-Telegram-Secret-2026",
        "ÿ" * 30,  # a latin-1 header value: refused, not a TypeError
    ],
)
async def test_a_wrong_secret_token_is_refused(
    telegram_adapter: TelegramAdapter, tg: Tg, secret: str
) -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        await telegram_adapter.verify(tg.signed(tg.update(), secret=secret))


@pytest.mark.parametrize("secret", [None, ""])
async def test_a_missing_secret_token_is_refused(
    telegram_adapter: TelegramAdapter, tg: Tg, secret: str | None
) -> None:
    with pytest.raises(SignatureInvalid, match="missing"):
        await telegram_adapter.verify(tg.signed(tg.update(), secret=secret))


async def test_the_body_is_not_what_is_checked(telegram_adapter: TelegramAdapter, tg: Tg) -> None:
    # Telegram signs nothing: the secret token only proves the sender knows it.
    # A changed body with the right token passes; its update_id still dedupes it.
    await telegram_adapter.verify(tg.signed(tg.update(text="changed")))
