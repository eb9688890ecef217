"""The SAM key's two shares (Contract Awards user queries, samopps API pulls) held exactly across replicas: two quota
guards on one Redis, both consumers calling at once, each gets its share and no more."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from gateway.errors import UpstreamQuotaExceeded
from gateway.limits.quota import QuotaGuard
from gateway.redis import redis_client
from tests.redis_harness import require_redis, unique_namespace


async def test_each_share_is_exact_across_two_replicas() -> None:
    url = require_redis()
    prefix = unique_namespace("quota-shares") + ":"
    now = datetime(2026, 9, 4, 12, 0, tzinfo=UTC)
    guards = [
        QuotaGuard(
            {"sam": 10},
            shares={"sam": {"samopps": 5}},
            redis=redis_client(url, timeout_s=5, pool_size=20),
            prefix=prefix,
            clock=lambda: now,
        )
        for _ in range(2)
    ]

    async def call(guard: QuotaGuard, upstream: str) -> str | None:
        try:
            await guard.acquire("sam", upstream=upstream)
        except UpstreamQuotaExceeded:
            return None
        return upstream

    try:
        calls = [call(guards[number % 2], ("sam", "samopps")[number % 3 == 0]) for number in range(120)]
        admitted = [upstream for upstream in await asyncio.gather(*calls) if upstream is not None]
        assert sorted(admitted) == ["sam"] * 5 + ["samopps"] * 5
        for guard in guards:
            assert await guard.remaining("sam", consumer="samopps") == 0
            assert await guard.remaining("sam", consumer="sam") == 0
            assert await guard.remaining("sam") == 0
        probe = redis_client(url, timeout_s=5, pool_size=2)
        assert await probe.get(f"{prefix}sam:samopps:2026-09-04") is not None  # its own counter
        assert await probe.get(f"{prefix}sam:2026-09-04") is not None  # the credential's, for the rest
        await probe.delete([f"{prefix}sam:samopps:2026-09-04", f"{prefix}sam:2026-09-04"])
        probe.connection_pool.disconnect()
    finally:
        for guard in guards:
            await guard.aclose()
