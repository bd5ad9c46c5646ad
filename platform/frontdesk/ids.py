"""Row ids: UUIDv7, so ids sort by creation time and index well."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0


def new_id() -> uuid.UUID:
    """A RFC 9562 version 7 UUID: 48 bits of Unix milliseconds, then randomness.

    Within this process each id is larger than the one before, even within
    one millisecond (RFC 9562's "monotonic random" method), so rows written in
    one request list in the order they were written.
    """
    global _last
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    with _lock:
        if value <= _last:
            # Same millisecond (or the clock stepped back): count up from the
            # last id, keeping the version and variant bits intact.
            value = _increment(_last)
        _last = value
    return uuid.UUID(int=value)


def _increment(value: int) -> int:
    rand_b = (value & ((1 << 62) - 1)) + 1
    if rand_b >> 62:
        # rand_b overflowed: carry into rand_a and the timestamp.
        high = (value >> 64) + 1
        return (high << 64) | (0b10 << 62)
    return (value & ~((1 << 62) - 1)) | rand_b
