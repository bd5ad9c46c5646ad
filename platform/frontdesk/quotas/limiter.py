"""Rate limiting by GCRA (the generic cell rate algorithm): one number per key.

A key allowed ``per_minute`` requests has a "theoretical arrival time" (TAT)
that each request pushes ``60 s / per_minute`` further; a request that would
push it more than a minute past now is refused, and told how long until it
would not. That is a sliding minute with bursts up to the whole minute's
allowance, stored as one value per key. With Redis the check-and-set is one
Lua script (atomic, one round trip, Redis's own clock, so every process
agrees); embedded, a dict under a lock.
"""

from __future__ import annotations

import asyncio
import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from frontdesk.clock import Clock
from frontdesk.clock import clock as the_clock

WINDOW_MS = 60_000


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    # Seconds until the refused request would be allowed (0 when allowed).
    retry_after: int


def interval_ms(per_minute: int) -> float:
    return WINDOW_MS / per_minute


def used_in_window(ahead_ms: float, per_minute: int) -> int:
    """How much of the minute's allowance a key's TAT, ``ahead_ms`` past now, stands for."""
    if ahead_ms <= 0:
        return 0
    return min(per_minute, math.ceil(ahead_ms / interval_ms(per_minute) - 1e-9))


class RateLimiter(Protocol):
    async def hit(self, limits: Sequence[tuple[str, int]], cost: int = 1) -> Decision:
        """Charge ``cost`` to every ``(key, per_minute)`` if all of them allow it, else none."""
        ...

    async def used(self, key: str, per_minute: int) -> int:
        """How much of the current minute's allowance ``key`` has used."""
        ...

    async def forget(self, fragment: str) -> int:
        """Drop every key containing ``fragment`` (a deleted tenant's id); returns how many."""
        ...


class LocalRateLimiter:
    """In one process (the embedded platform): TATs in a dict, in milliseconds of
    ``clock`` (the platform's clock, wall time like Redis's ``TIME``, which a test
    stops and moves to see an allowance refill)."""

    def __init__(self, clock: Clock = the_clock) -> None:
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def _now(self) -> float:
        return self._clock.now().timestamp() * 1000

    async def hit(self, limits: Sequence[tuple[str, int]], cost: int = 1) -> Decision:
        now = self._now()
        with self._lock:
            planned: list[tuple[str, float]] = []
            wait = 0.0
            for key, per_minute in limits:
                tat = self._tat.get(key, now)
                if tat < now or tat - now > WINDOW_MS:
                    # Past, or further ahead than any charge puts it: the clock
                    # was moved back (a test's, or the wall clock's), so start afresh.
                    tat = now
                new_tat = tat + interval_ms(per_minute) * cost
                if new_tat - now > WINDOW_MS:
                    wait = max(wait, new_tat - now - WINDOW_MS)
                planned.append((key, new_tat))
            if wait > 0:
                return Decision(False, max(1, math.ceil(wait / 1000)))
            for key, new_tat in planned:
                self._tat[key] = new_tat
            if len(self._tat) > 100_000:
                # Expired keys say nothing a missing key does not.
                self._tat = {k: v for k, v in self._tat.items() if v > now}
        return Decision(True, 0)

    async def used(self, key: str, per_minute: int) -> int:
        with self._lock:
            tat = self._tat.get(key)
        ahead = 0.0 if tat is None else tat - self._now()
        return 0 if ahead > WINDOW_MS else used_in_window(ahead, per_minute)

    async def forget(self, fragment: str) -> int:
        with self._lock:
            gone = [k for k in self._tat if fragment in k]
            for key in gone:
                del self._tat[key]
        return len(gone)


# KEYS: the limited keys; ARGV: the window, the cost, then each key's interval.
# All keys are checked before any is charged: a refused request costs nothing.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local wait = 0
local planned = {}
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + tonumber(ARGV[2 + i]) * cost
  if new_tat - now > window then
    wait = math.max(wait, new_tat - now - window)
  end
  planned[i] = new_tat
end
if wait > 0 then
  return {0, math.ceil(wait)}
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, tostring(planned[i]), 'PX', math.ceil(planned[i] - now) + 1)
end
return {1, 0}
"""

_AHEAD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return '0' end
return tostring(tat - now)
"""


class RedisRateLimiter:
    """Shared by every process on one Redis: keys ``<namespace>:quota:<key>``."""

    def __init__(self, url: str, namespace: str) -> None:
        self._url = url
        self._prefix = f"{namespace}:quota:"
        # redis.asyncio connections belong to the loop that opened them.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._scripts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncScript] = (
            weakref.WeakKeyDictionary()
        )

    def _redis(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = aioredis.Redis.from_url(self._url)
            self._clients[loop] = client
            self._scripts[loop] = client.register_script(_GCRA)
        return client

    async def hit(self, limits: Sequence[tuple[str, int]], cost: int = 1) -> Decision:
        self._redis()
        # EVALSHA: the script's text is sent once per connection, not per request.
        gcra = self._scripts[asyncio.get_running_loop()]
        keys = [self._prefix + key for key, _ in limits]
        args = [WINDOW_MS, cost, *(interval_ms(n) for _, n in limits)]
        allowed, wait_ms = await gcra(keys=keys, args=args)
        if int(allowed):
            return Decision(True, 0)
        return Decision(False, max(1, math.ceil(int(wait_ms) / 1000)))

    async def used(self, key: str, per_minute: int) -> int:
        ahead = await self._redis().eval(_AHEAD, 1, self._prefix + key)
        return used_in_window(float(ahead), per_minute)

    async def forget(self, fragment: str) -> int:
        client = self._redis()
        gone = 0
        async for name in client.scan_iter(match=f"{self._prefix}*{fragment}*", count=500):
            gone += int(await client.delete(name))
        return gone

    async def close(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
