"""Runs the plan: one sandbox for the whole suite, a fresh gateway per configuration, RSS after every run."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio
from redis.exceptions import RedisError

from bench import processes
from bench.load import LoadResult, run_load
from bench.scenarios import FLOOD_WORKLOAD, UPSTREAMS, GatewayRun, Workload, plan

REDIS_URL = "redis://127.0.0.1:6379/0"
FLOOD_CHECKPOINTS = 4
FLOOD_CHUNK_MAX_S = 120.0
FLOOD_CONCURRENCY = 32
CONTROL_TIMEOUT_S = 10.0
# The anonymous tier of the dev profile, made limitless (each field's maximum is 10,000,000): limits are not measured.
BENCH_TIERS = json.dumps(
    {
        "anonymous": {
            "requests_per_minute": 10_000_000,
            "burst": 10_000_000,
            "cost_per_hour": 10_000_000,
            "max_query_cost": 100_000,
        }
    }
)
# Where a gateway would write outside the bench's GATEWAY_REDIS_NAMESPACE: the default namespace, and the layout of
# gateways older than that setting (rate-limit and quota counters outside any namespace). Expected to stay empty.
FOREIGN_KEY_PATTERNS = ("gateway:*", "gateway-ratelimit:*", "quota:*")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    duration_s: float = 3.0
    warmup_s: float = 0.5
    concurrency: tuple[int, ...] = (1, 32)
    flood_requests: int = 20_000
    redis: bool = True
    redis_url: str = REDIS_URL
    only: str = ""  # run only the gateway configurations whose name contains this ("flood" for the flood alone)


@dataclass
class Results:
    options: Options
    runs: list[dict[str, Any]] = field(default_factory=list)
    rss: list[dict[str, Any]] = field(default_factory=list)
    flood: dict[str, Any] = field(default_factory=dict)
    redis: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": self.machine,
            "options": {
                "duration_s": self.options.duration_s,
                "warmup_s": self.options.warmup_s,
                "concurrency": list(self.options.concurrency),
                "flood_requests": self.options.flood_requests,
                "redis": self.options.redis,
                "only": self.options.only,
            },
            "elapsed_s": round(self.elapsed_s, 1),
            "runs": self.runs,
            "rss": self.rss,
            "flood": self.flood,
            "redis": self.redis,
        }


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "loadavg_at_start": [round(value, 2) for value in os.getloadavg()],
    }


def gateway_env(sandbox_url: str, backend: str, response_cache: bool | None, log_dir: Path) -> dict[str, str]:
    """The gateway's settings for one run; `response_cache` None leaves the gateway's own defaults."""
    env = {
        "GATEWAY_PROFILE": "dev",
        "GATEWAY_ITA_URL": sandbox_url,
        "GATEWAY_CANADA_URL": sandbox_url,
        "GATEWAY_SAM_URL": sandbox_url,
        "GATEWAY_ITA_API_KEY": "ita-sandbox-key",
        "GATEWAY_SAM_API_KEY": "sam-sandbox-key-system",  # the sandbox's 10,000-calls-a-day key
        "GATEWAY_SAM_DAILY_QUOTA": "10000000",
        "GATEWAY_TIERS": BENCH_TIERS,
        "GATEWAY_KEYS_FILE": str(log_dir / "keys.json"),
    }
    if response_cache is not None:
        env["GATEWAY_RESPONSE_CACHE_TTL_S"] = "600" if response_cache else "0"
    return env


class Sandbox:
    """The sandbox's control API."""

    def __init__(self, service: processes.Service, session: aiohttp.ClientSession) -> None:
        self.service = service
        self.base_url = service.base_url
        self._session = session

    async def prepare(self, latency_ms: float) -> None:
        """Clear faults, counters and the SAM quota, then give every upstream the same latency."""
        await self._call("POST", "_sandbox/reset")
        if latency_ms > 0:
            for upstream in UPSTREAMS:
                await self._call("PUT", f"_sandbox/faults/{upstream}", {"latency_ms": latency_ms})

    async def reset_stats(self) -> None:
        await self._call("DELETE", "_sandbox/stats")

    async def stats(self) -> dict[str, Any]:
        return await self._call("GET", "_sandbox/stats")

    async def _call(self, method: str, path: str, payload: object | None = None) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=CONTROL_TIMEOUT_S)
        async with self._session.request(method, self.base_url + path, json=payload, timeout=timeout) as response:
            response.raise_for_status()
            answer: dict[str, Any] = await response.json()
            return answer


class _Bench:
    def __init__(self, options: Options, results: Results, progress: Progress, sandbox: Sandbox, log_dir: Path) -> None:
        self._options = options
        self._results = results
        self._progress = progress
        self._sandbox = sandbox
        self._log_dir = log_dir

    async def gateway_run(self, run: GatewayRun) -> None:
        options = self._options
        await self._sandbox.prepare(run.upstream_latency_ms)
        env = gateway_env(self._sandbox.base_url, run.backend, run.response_cache, self._log_dir) | dict(run.env)
        namespace = f"bench-{secrets.token_hex(6)}"  # every key the gateway writes: cache, limiter, quota
        foreign_before: set[str] = set()
        if run.backend == "redis":
            env |= {"GATEWAY_REDIS_URL": options.redis_url, "GATEWAY_REDIS_NAMESPACE": namespace}
            foreign_before = await _foreign_keys(options.redis_url)
        try:
            async with processes.gateway(self._log_dir, env) as gateway:
                start_kib = gateway.rss_kib()
                self._progress(f"[{run.name}] gateway pid {gateway.pid}, RSS {start_kib / 1024:.1f} MiB after start")
                for workload in run.workloads:
                    numbers = itertools.count()
                    for concurrency in options.concurrency:
                        record = await self._measure(run, workload, gateway, numbers, concurrency)
                        record["rss_kib_after"] = gateway.rss_kib()
                        self._results.runs.append(record)
                        self._progress(_progress_line(record))
                self._results.rss.append({"gateway": run.name, "start_kib": start_kib, "end_kib": gateway.rss_kib()})
        finally:
            if run.backend == "redis":
                appeared = sorted(await _foreign_keys(options.redis_url) - foreign_before)
                deleted = await _delete_matching(options.redis_url, f"{namespace}:*")
                self._results.redis.setdefault("runs", []).append(
                    {
                        "gateway": run.name,
                        "namespace": namespace,
                        "keys_deleted": deleted,
                        "keys_outside_namespace_appeared": appeared[:10],
                    }
                )

    async def _measure(
        self, run: GatewayRun, workload: Workload, gateway: processes.Service, numbers: Iterator[int], concurrency: int
    ) -> dict[str, Any]:
        duration_s, warmup_s = self._options.duration_s, self._options.warmup_s
        url = gateway.base_url + "graphql"
        if warmup_s > 0:
            await run_load(url, workload.make_body, concurrency=concurrency, duration_s=warmup_s, counter=numbers)
        await self._sandbox.reset_stats()
        redis_url = self._options.redis_url if run.backend == "redis" else None
        commands_before = await _redis_commands(redis_url)
        cpu_before = (gateway.cpu_s(), self._sandbox.service.cpu_s(), time.process_time())
        result = await run_load(
            url, workload.make_body, concurrency=concurrency, duration_s=duration_s, counter=numbers
        )
        cpu_after = (gateway.cpu_s(), self._sandbox.service.cpu_s(), time.process_time())
        record = _record(run, workload, result, await self._sandbox.stats())
        if redis_url is not None and result.requests:
            # The server's count: includes commands run inside Lua scripts, and other clients of a shared Redis.
            commands = await _redis_commands(redis_url) - commands_before
            record["redis_server_commands_per_request"] = round(commands / result.requests, 2)
        # CPU milliseconds per request: steadier than throughput on a shared, noisy machine.
        for name, before, after in zip(("gateway", "sandbox", "load_generator"), cpu_before, cpu_after, strict=True):
            record[f"cpu_ms_per_request_{name}"] = (
                round((after - before) * 1000 / result.requests, 3) if result.requests else 0.0
            )
        return record

    async def flood(self) -> None:
        """Distinct queries at the gateway's default cache bounds, no upstream latency; RSS at each checkpoint."""
        await self._sandbox.prepare(0.0)
        total = self._options.flood_requests
        if FLOOD_WORKLOAD.distinct_requests is not None:
            total = min(total, FLOOD_WORKLOAD.distinct_requests)
        chunk = -(-total // FLOOD_CHECKPOINTS)
        env = gateway_env(self._sandbox.base_url, "memory", None, self._log_dir)
        async with processes.gateway(self._log_dir, env, name="flood") as gateway:
            numbers = itertools.count()
            checkpoints: list[dict[str, Any]] = [{"after_requests": 0, "rss_kib": gateway.rss_kib()}]
            sent = errors = 0
            started = time.monotonic()
            while sent < total:
                cpu_before = (gateway.cpu_s(), self._sandbox.service.cpu_s())
                result = await run_load(
                    gateway.base_url + "graphql",
                    FLOOD_WORKLOAD.make_body,
                    concurrency=FLOOD_CONCURRENCY,
                    duration_s=FLOOD_CHUNK_MAX_S,
                    counter=numbers,
                    max_requests=min(chunk, total - sent),
                )
                if result.requests == 0:
                    break
                cpu = [
                    after - before
                    for before, after in zip(cpu_before, (gateway.cpu_s(), self._sandbox.service.cpu_s()), strict=True)
                ]
                sent += result.requests
                errors += result.errors
                checkpoints.append(
                    {
                        "after_requests": sent,
                        "rss_kib": gateway.rss_kib(),
                        "requests_per_s": result.requests_per_s,
                        "cpu_ms_per_request_gateway": round(cpu[0] * 1000 / result.requests, 3),
                        "cpu_ms_per_request_sandbox": round(cpu[1] * 1000 / result.requests, 3),
                        "errors": result.errors,
                        "response_cache": result.response_cache,
                        "upstream_cache": result.upstream_cache,
                    }
                )
                self._progress(f"[flood] {sent} distinct queries, RSS {checkpoints[-1]['rss_kib'] / 1024:.1f} MiB")
            self._results.flood = {
                "what": FLOOD_WORKLOAD.what,
                "concurrency": FLOOD_CONCURRENCY,
                "requests": sent,
                "errors": errors,
                "elapsed_s": round(time.monotonic() - started, 1),
                "checkpoints": checkpoints,
            }


def _record(run: GatewayRun, workload: Workload, result: LoadResult, stats: Mapping[str, Any]) -> dict[str, Any]:
    calls = sum(int(count) for count in stats.get("hits", {}).values())
    return {
        "gateway": run.name,
        "backend": run.backend,
        "response_cache": run.response_cache,
        "upstream_latency_ms": run.upstream_latency_ms,
        "workload": workload.name,
        "what": workload.what,
        **result.as_json(),
        "upstream_calls": calls,
        "upstream_calls_per_request": round(calls / result.requests, 3) if result.requests else 0.0,
        "sandbox_max_in_flight": stats.get("max_in_flight", {}),
    }


def _progress_line(record: Mapping[str, Any]) -> str:
    return (
        f"[{record['gateway']}] {record['workload']} c={record['concurrency']}: "
        f"{record['requests_per_s']} req/s, p50 {record['p50_ms']} ms, p99 {record['p99_ms']} ms, "
        f"{record['errors']} errors, {record['upstream_calls_per_request']} upstream calls/request, "
        f"RSS {record['rss_kib_after'] / 1024:.1f} MiB"
    )


async def run_suite(options: Options, progress: Progress) -> Results:
    results = Results(options, machine=machine())
    started = time.monotonic()
    wants_redis = options.redis and "redis" in (options.only or "redis")
    runs = plan(redis=wants_redis and await _redis_reachable(options.redis_url, results, progress))
    runs = tuple(run for run in runs if options.only in run.name)
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as scratch:
        log_dir = Path(scratch)
        async with processes.sandbox(log_dir) as sandbox, aiohttp.ClientSession() as control:
            progress(f"sandbox up at {sandbox.base_url} (pid {sandbox.pid})")
            bench = _Bench(options, results, progress, Sandbox(sandbox, control), log_dir)
            for run in runs:
                await bench.gateway_run(run)
            if options.flood_requests > 0 and options.only in "flood":
                await bench.flood()
    results.elapsed_s = time.monotonic() - started
    return results


async def run(options: Options, progress: Progress) -> Results:
    """The suite under an overall bound: every subprocess is stopped even when the bound is hit."""
    runs = len(plan(redis=options.redis)) * len(options.concurrency) * 2
    bound_s = runs * (options.duration_s + options.warmup_s + 20) + 600
    async with asyncio.timeout(bound_s):
        return await run_suite(options, progress)


async def _redis_reachable(url: str, results: Results, progress: Progress) -> bool:
    client = redis.asyncio.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        progress(f"NOTICE: Redis at {url} is unreachable ({exc}): the Redis-backed runs are skipped")
        results.redis["skipped"] = f"unreachable: {exc}"
        return False
    finally:
        await client.aclose()
    return True


async def _delete_matching(url: str, pattern: str) -> int:
    client = redis.asyncio.Redis.from_url(url, socket_timeout=5)
    deleted = 0
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += await client.delete(*batch)
                batch.clear()
        if batch:
            deleted += await client.delete(*batch)
    finally:
        await client.aclose()
    return deleted


async def _redis_commands(url: str | None) -> int:
    """Commands the Redis server has processed since it started (0 without Redis)."""
    if url is None:
        return 0
    client = redis.asyncio.Redis.from_url(url, socket_timeout=5)
    try:
        stats = await client.info("stats")
        return int(stats["total_commands_processed"])
    finally:
        await client.aclose()


async def _foreign_keys(url: str) -> set[str]:
    client = redis.asyncio.Redis.from_url(url, socket_timeout=5, decode_responses=True)
    try:
        found: set[str] = set()
        for pattern in FOREIGN_KEY_PATTERNS:
            found.update([key async for key in client.scan_iter(match=pattern, count=1000)])
        return found
    finally:
        await client.aclose()
