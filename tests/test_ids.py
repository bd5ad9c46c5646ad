"""Ids sort in the order they were made, and are valid version-7 UUIDs."""

from __future__ import annotations

from frontdesk.ids import _increment, new_id


def test_ids_made_in_a_row_sort_in_that_order() -> None:
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {i.version for i in ids} == {7}
    assert {i.variant for i in ids} == {"specified in RFC 4122"}


def test_increment_carries_past_a_full_random_part() -> None:
    value = new_id().int | ((1 << 62) - 1)
    bumped = _increment(value)
    assert bumped > value
    assert (bumped >> 76) & 0xF == 7 and (bumped >> 62) & 0b11 == 0b10
