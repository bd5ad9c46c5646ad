"""Token buckets for abuse limits: per visitor, per IP address, per socket.

In-process: each app process counts its own sockets' traffic. A visitor's
socket lives on one process, so their limit holds exactly; an address's
limit holds per process (behind a load balancer, at most the number of
processes times it).
"""

from __future__ import annotations

import time
from collections import OrderedDict


class Bucket:
    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self.tokens = burst
        self.at = time.monotonic()

    def take(self) -> float | None:
        """None when taken; else seconds until a token will be there."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


class Buckets:
    """Buckets by key, the least recently used forgotten beyond ``max_keys``."""

    def __init__(self, max_keys: int = 50_000) -> None:
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()
        self._max_keys = max_keys

    def take(self, key: str, *, per_minute: int) -> float | None:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.burst != per_minute:
            bucket = self._buckets[key] = Bucket(per_minute / 60, per_minute)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return bucket.take()


#: Shared by every socket of this process.
VISITORS = Buckets()
ADDRESSES = Buckets()
