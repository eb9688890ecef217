"""A closed-loop load generator: N workers, each sending its next request as soon as the last one is answered.

Bounded three ways: the duration, a cap on requests, and a per-request timeout. Every answer is read and sorted into
ok / error, and the gateway's `extensions.cache` tells whether the response cache and the upstream cache hit.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

MAX_REQUESTS = 200_000
REQUEST_TIMEOUT_S = 15.0
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}

# A request body for the n-th request of a run (n counts from 0 across warm-up and measurement).
BodyFactory = Callable[[int], bytes]


@dataclass
class Tally:
    """What the workers saw; latencies in seconds, successful requests only."""

    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    response_cache: Counter[str] = field(default_factory=Counter)  # HIT / MISS / none per request
    upstream_cache: Counter[str] = field(default_factory=Counter)  # HIT / MISS / STALE per upstream answer


@dataclass(frozen=True)
class LoadResult:
    concurrency: int
    duration_s: float
    requests: int
    errors: int
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    error_kinds: dict[str, int]
    response_cache: dict[str, int]
    upstream_cache: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def percentile_ms(ordered_s: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ascending latencies, in milliseconds (0 when there are none)."""
    if not ordered_s:
        return 0.0
    rank = max(0, min(len(ordered_s) - 1, round(fraction * len(ordered_s) + 0.5) - 1))
    return round(ordered_s[rank] * 1000, 2)


async def run_load(
    url: str,
    make_body: BodyFactory,
    *,
    concurrency: int,
    duration_s: float,
    counter: Iterator[int] | None = None,
    max_requests: int = MAX_REQUESTS,
) -> LoadResult:
    """POST `make_body(n)` to `url` from `concurrency` workers for `duration_s` (or `max_requests` requests)."""
    numbers = counter if counter is not None else itertools.count()
    tally = Tally()
    budget = iter(range(max_requests))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=HEADERS) as session:
        started = time.perf_counter()
        stop_at = started + duration_s

        async def worker() -> None:
            while time.perf_counter() < stop_at and next(budget, None) is not None:
                await _one(session, url, make_body(next(numbers)), tally)

        async with asyncio.timeout(duration_s + REQUEST_TIMEOUT_S + 5):
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ordered = sorted(tally.latencies_s)
    errors = sum(tally.errors.values())
    return LoadResult(
        concurrency=concurrency,
        duration_s=round(elapsed, 2),
        requests=len(ordered) + errors,
        errors=errors,
        requests_per_s=round(len(ordered) / elapsed, 1),
        p50_ms=percentile_ms(ordered, 0.50),
        p95_ms=percentile_ms(ordered, 0.95),
        p99_ms=percentile_ms(ordered, 0.99),
        mean_ms=round(sum(ordered) / len(ordered) * 1000, 2) if ordered else 0.0,
        max_ms=round(ordered[-1] * 1000, 2) if ordered else 0.0,
        error_kinds=dict(tally.errors.most_common(5)),
        response_cache=dict(tally.response_cache),
        upstream_cache=dict(tally.upstream_cache),
    )


async def _one(session: aiohttp.ClientSession, url: str, body: bytes, tally: Tally) -> None:
    sent = time.perf_counter()
    try:
        async with session.post(url, data=body) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        tally.errors[type(exc).__name__] += 1
        return
    elapsed = time.perf_counter() - sent
    try:
        answer = json.loads(raw)
    except ValueError:
        tally.errors[f"HTTP {status}, not JSON"] += 1
        return
    if status != 200 or not isinstance(answer, dict) or answer.get("errors"):
        tally.errors[_error_kind(status, answer)] += 1
        return
    tally.latencies_s.append(elapsed)
    cache = (answer.get("extensions") or {}).get("cache") or {}
    response_status = (cache.get("response") or {}).get("status", "none")
    tally.response_cache[response_status] += 1
    if response_status != "HIT":
        for upstream, report in cache.items():
            if upstream != "response":
                tally.upstream_cache[str(report.get("status"))] += 1


def _error_kind(status: int, answer: object) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("errors"), list) and answer["errors"]:
        first = answer["errors"][0]
        code = (first.get("extensions") or {}).get("code") if isinstance(first, dict) else None
        return f"HTTP {status} {code or 'error'}"
    return f"HTTP {status}"
