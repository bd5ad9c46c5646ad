#!/usr/bin/env python3
"""What a rate-limit check costs: one GCRA hit, in-process and on Redis.

The intake makes one per inbound request and the API one per request (two
keys: tenant and token). Prints figures; never asserts timings.

    python bench/quotas.py                     # 20,000 hits each way
    python bench/quotas.py --hits 50000 --concurrency 32

Redis comes from FRONTDESK_BENCH_REDIS_URL (else redis://127.0.0.1:6379/0);
the keys live under a namespace of their own, removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

from frontdesk.quotas.limiter import LocalRateLimiter, RateLimiter, RedisRateLimiter


async def measure(limiter: RateLimiter, hits: int, concurrency: int, keys: int) -> float:
    tenant = uuid.uuid4()
    limits = [(f"api:{tenant}", 10_000_000), (f"api-token:{tenant}:t", 10_000_000)][:keys]
    left = hits

    async def one_client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await limiter.hit(limits)

    start = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return (time.perf_counter() - start) / hits


async def redis_round_trip(url: str, hits: int) -> float:
    """A plain GET, for scale: what any Redis command costs from here."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        await client.get("frontdesk-bench-none")
        start = time.perf_counter()
        for _ in range(hits):
            await client.get("frontdesk-bench-none")
        return (time.perf_counter() - start) / hits
    finally:
        await client.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hits", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    url = os.environ.get("FRONTDESK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    namespace = f"frontdesk-bench-{uuid.uuid4().hex[:8]}"
    redis = RedisRateLimiter(url, namespace)
    local = LocalRateLimiter()
    try:
        per_get = await redis_round_trip(url, min(args.hits, 5_000))
        print(f"{'redis':<10} {'plain GET, one at a time':<26} {per_get * 1e6:8.1f} µs (for scale)")
        for name, limiter in (("in-process", local), ("redis", redis)):
            for keys, what in ((1, "intake (tenant key)"), (2, "API (tenant + token keys)")):
                await measure(limiter, min(args.hits, 2_000), args.concurrency, keys)  # warm-up
                per_hit = await measure(limiter, args.hits, args.concurrency, keys)
                print(
                    f"{name:<10} {what:<26} {per_hit * 1e6:8.1f} µs per check "
                    f"({1 / per_hit:,.0f} checks/s, {args.concurrency} in flight)"
                )
    finally:
        await redis.forget("")
        await redis.close()


if __name__ == "__main__":
    asyncio.run(main())
