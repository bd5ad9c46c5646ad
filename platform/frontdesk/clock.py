"""The clock timers and SLA maths read: real time, unless a test sets it.

One process-wide clock rather than a context variable: timers fire on worker
threads and dramatiq's event-loop thread, which a context variable set in a
test would not reach. Row timestamps (``db.utcnow``) keep real time.
"""

from __future__ import annotations

import datetime as dt
import threading


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fixed: dt.datetime | None = None

    def now(self) -> dt.datetime:
        with self._lock:
            fixed = self._fixed
        return fixed if fixed is not None else dt.datetime.now(dt.UTC)

    def set(self, when: dt.datetime) -> None:
        """Stop the clock at ``when`` (aware); it stays there until moved or reset."""
        if when.tzinfo is None:
            raise ValueError("the clock is set with an aware datetime")
        with self._lock:
            self._fixed = when.astimezone(dt.UTC)

    def advance(self, by: dt.timedelta) -> dt.datetime:
        with self._lock:
            if self._fixed is None:
                raise RuntimeError("advance a set clock only (clock.set first)")
            self._fixed += by
            return self._fixed

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._fixed = None


clock = Clock()


def now() -> dt.datetime:
    return clock.now()
