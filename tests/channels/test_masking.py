"""Card and identity numbers are masked; look-alikes are not."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.channels.masking import cn_id_valid, luhn_valid, mask_sensitive_numbers

VISA = "4111111111111111"  # a well-known test number that passes Luhn
CN_ID = "11010519491231002X"  # the standard's worked example


def test_card_numbers_are_masked_in_any_grouping() -> None:
    for written in (VISA, "4111 1111 1111 1111", "4111-1111-1111-1111"):
        out = mask_sensitive_numbers(f"my card is {written}, please refund")
        assert "4111" not in out.replace("[card ****1111]", "")
        assert "[card ****1111]" in out


def test_numbers_failing_luhn_stay() -> None:
    order = "4111111111111112"
    assert mask_sensitive_numbers(f"order {order}") == f"order {order}"


def test_chinese_resident_id_is_masked_only_with_a_valid_check_character() -> None:
    assert mask_sensitive_numbers(f"身份证号 {CN_ID} 谢谢") == "身份证号 [ID ****002X] 谢谢"
    wrong = CN_ID[:-1] + "1"
    assert mask_sensitive_numbers(f"身份证号 {wrong}") == f"身份证号 {wrong}"


def test_short_numbers_and_phone_numbers_stay() -> None:
    text = "call +86 138 1234 5678 about order 2026-000042"
    assert mask_sensitive_numbers(text) == text


@given(st.text())
def test_masking_never_grows_a_valid_number_back(text: str) -> None:
    once = mask_sensitive_numbers(text)
    assert mask_sensitive_numbers(once) == once


@given(st.from_regex(r"\A[0-9]{13,19}\Z"))
def test_every_luhn_valid_number_is_masked(digits: str) -> None:
    out = mask_sensitive_numbers(f"x {digits} y")
    if luhn_valid(digits) and not (len(digits) == 18 and cn_id_valid(digits)):
        assert digits not in out
    elif not luhn_valid(digits) and not (len(digits) == 18 and cn_id_valid(digits)):
        assert digits in out


def test_a_phone_number_in_e164_is_not_a_card() -> None:
    text = "call me on +8613812345678 or +14155550123"
    assert mask_sensitive_numbers(text) == text
