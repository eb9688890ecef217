"""`python -m bench mirror`: the CanadaBuys mirror at the size of the real complete archive.

1. A generated open-tender-notice file of 30,000 notices, ~180 MB (`bench.mirror_feed`), served on loopback the way
   CanadaBuys serves its files (Last-Modified, Content-Length, HEAD, streamed bodies).
2. `python -m gateway mirror refresh --feed open_tenders`, a process of its own: the refresh's wall time (download,
   parse, index, swap) and the process's peak RSS (`wait4`'s ru_maxrss: the file is streamed, never held whole).
3. A gateway process following that mirror directory answers a keyword + GSIN + region query at its HTTP edge:
   latency percentiles over sequential requests on one keep-alive connection (whole-response cache off).

Figures go to stdout and to bench/mirror-results.json; bench/README.md has a section of its own for them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench import processes
from bench.mirror_feed import ARCHIVE_BYTES, ARCHIVE_NOTICES, SampleRows, write_feed

OUTPUT = Path(__file__).resolve().parent / "mirror-results.json"
SAMPLES = processes.REPO.parent / "shared" / "upstream-samples"
FEED_FILE = "openTenderNotice-ouvertAvisAppelOffres.csv"
FILES_PATH = "/opendata/pub/"
REPLICA = "bench"
SEED = 1729
QUERY = """query($k: [String!], $g: [String!], $r: [String!]) {
  tenders(first: 10, filter: {keywords: $k, gsins: $g, deliveryRegions: $r}) {
    totalCount nodes { reference closingAt title }
  }
}"""
# Keyword, GSIN prefix, delivery region: combinations the generated notices hold, asked in turn.
VARIABLES = (
    {"k": ["services"], "g": ["N"], "r": ["ON"]},
    {"k": ["computers"], "g": ["N70"], "r": ["QC"]},
    {"k": ["maintenance"], "g": ["J"], "r": ["NCR"]},
    {"k": ["construction"], "g": ["C"], "r": ["BC"]},
)
TIERS = json.dumps({"anonymous": {"requests_per_minute": 10_000_000, "burst": 1_000_000, "cost_per_hour": 10**7}})
REFRESH_BUDGET_S, RSS_BUDGET_MIB, P50_BUDGET_MS = 120.0, 300.0, 5.0


@dataclass(frozen=True)
class Figures:
    notices: int
    feed_bytes: int
    generated_s: float
    refresh_s: float
    build_s: float | None
    snapshot_bytes: int
    refresh_peak_rss_mib: float
    queries: int
    variants: Mapping[str, Mapping[str, float]]  # per keyword/GSIN/region: its matches and its own p50
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    baseline_p50_ms: float  # `{ __typename }` on the same connection: the edge and GraphQL without a mirror read
    gateway_rss_mib: float
    load_average: tuple[float, float]  # the machine's 1-minute load at the start and at the end

    def within_budget(self) -> bool:
        return (
            self.refresh_s < REFRESH_BUDGET_S
            and self.refresh_peak_rss_mib < RSS_BUDGET_MIB
            and self.p50_ms < P50_BUDGET_MS
        )


def files_app(folder: Path) -> web.Application:
    """The feed files as CanadaBuys serves them (GET and HEAD, Last-Modified, Content-Length, streamed)."""

    async def serve(request: web.Request) -> web.StreamResponse:
        path = folder / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return web.FileResponse(path, headers={"Last-Modified": format_datetime(modified, usegmt=True)})

    app = web.Application()
    app.router.add_get(FILES_PATH + "{name}", serve)
    return app


def run_refresh(env: Mapping[str, str], log: Path) -> tuple[float, int, str]:
    """`mirror refresh` in a process of its own: its wall time, its peak RSS in KiB, its log."""
    argv = [sys.executable, "-m", "gateway", "mirror", "refresh", "--feed", "open_tenders"]
    started = time.monotonic()
    with log.open("wb") as output:
        pid = os.posix_spawn(
            argv[0],
            argv,
            dict(env),
            file_actions=[(os.POSIX_SPAWN_DUP2, output.fileno(), 1), (os.POSIX_SPAWN_DUP2, output.fileno(), 2)],
        )
        _, status, usage = os.wait4(pid, 0)
    seconds = time.monotonic() - started
    text = log.read_text(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"mirror refresh failed:\n{text[-3000:]}")
    return seconds, usage.ru_maxrss, text


async def measure_queries(
    base_url: str, requests: int, warmup: int
) -> tuple[list[float], dict[str, dict[str, float]], list[float]]:
    """The query's latencies (ms), its matches and p50 per variant, and the baseline's latencies, on one connection."""
    latencies: list[float] = []
    baseline: list[float] = []
    matches: dict[str, int] = {}
    by_variant: dict[str, list[float]] = {}
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def timed(body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
            started = time.perf_counter()
            async with session.post(base_url + "graphql", json=body) as answer:
                found: dict[str, Any] = await answer.json()
            if "errors" in found:
                raise RuntimeError(f"the query failed: {found['errors']}")
            return (time.perf_counter() - started) * 1000, found

        for number in range(warmup + requests):
            variables = VARIABLES[number % len(VARIABLES)]
            elapsed, body = await timed({"query": QUERY, "variables": variables})
            variant = json.dumps(variables)
            matches[variant] = body["data"]["tenders"]["totalCount"]
            if number >= warmup:
                latencies.append(elapsed)
                by_variant.setdefault(variant, []).append(elapsed)
        for number in range(warmup + requests // 4):
            elapsed, _ = await timed({"query": "{ __typename }"})
            if number >= warmup:
                baseline.append(elapsed)
    variants = {
        variant: {"matches": matches[variant], "p50_ms": round(statistics.median(found), 2)}
        for variant, found in by_variant.items()
    }
    return latencies, variants, baseline


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(notices: int, target_bytes: int, requests: int, work: Path) -> Figures:
    feed_dir = work / "files"
    load_at_start = round(os.getloadavg()[0], 2)
    started = time.monotonic()
    samples = SampleRows.read(SAMPLES)
    feed_bytes = await asyncio.to_thread(
        write_feed,
        feed_dir / FEED_FILE,
        samples,
        notices=notices,
        target_bytes=target_bytes,
        today=datetime.now(UTC).date(),
        seed=SEED,
    )
    generated_s = time.monotonic() - started
    print(f"generated {notices} notices, {feed_bytes / 1e6:.1f} MB, in {generated_s:.1f} s", file=sys.stderr)

    runner = web.AppRunner(files_app(feed_dir), access_log=None)
    await runner.setup()
    port = processes.free_port()
    await web.TCPSite(runner, processes.LOOPBACK, port).start()
    try:
        env = {
            "GATEWAY_CANADABUYS_URL": f"http://{processes.LOOPBACK}:{port}/",
            "GATEWAY_MIRROR_DATA_DIR": str(work / "mirrors"),
            "GATEWAY_MIRROR_REPLICA": REPLICA,
            "GATEWAY_MIRROR_CONTACT": "mailto:bench@localhost",
            "GATEWAY_MIRROR_REFRESH_IN_PROCESS": "false",
        }
        refresh_s, peak_kib, log = await asyncio.to_thread(
            run_refresh, processes.clean_environment(env), work / "refresh.log"
        )
        built = re.search(r"snapshot of \d+ records built in ([\d.]+) s", log)
        snapshots = list((work / "mirrors" / f"canadabuys-{REPLICA}" / "snapshots").glob("*.sqlite"))
        print(f"refreshed in {refresh_s:.1f} s, peak RSS {peak_kib / 1024:.0f} MiB", file=sys.stderr)

        gateway_env = {
            **env,
            "GATEWAY_RESPONSE_CACHE_TTL_S": "0",
            "GATEWAY_ANONYMOUS_TIER_ENABLED": "true",
            "GATEWAY_TIERS": TIERS,
        }
        async with processes.gateway(work, gateway_env, name="gateway-mirror") as gateway:
            latencies, variants, baseline = await measure_queries(gateway.base_url, requests, min(200, requests))
            gateway_rss = gateway.rss_kib() / 1024
    finally:
        await runner.cleanup()
    return Figures(
        notices=notices,
        feed_bytes=feed_bytes,
        generated_s=round(generated_s, 1),
        refresh_s=round(refresh_s, 1),
        build_s=float(built.group(1)) if built else None,
        snapshot_bytes=sum(path.stat().st_size for path in snapshots),
        refresh_peak_rss_mib=round(peak_kib / 1024, 1),
        queries=len(latencies),
        variants=variants,
        p50_ms=round(statistics.median(latencies), 2),
        p90_ms=round(percentile(latencies, 0.9), 2),
        p99_ms=round(percentile(latencies, 0.99), 2),
        max_ms=round(max(latencies), 2),
        baseline_p50_ms=round(statistics.median(baseline), 2),
        gateway_rss_mib=round(gateway_rss, 1),
        load_average=(load_at_start, round(os.getloadavg()[0], 2)),
    )


def render(figures: Figures) -> str:
    verdict = "within" if figures.within_budget() else "OVER"
    return "\n".join(
        [
            f"feed                {figures.notices} notices, {figures.feed_bytes / 1e6:.1f} MB "
            f"(generated in {figures.generated_s} s)",
            f"refresh             {figures.refresh_s} s (build {figures.build_s} s), peak RSS "
            f"{figures.refresh_peak_rss_mib} MiB, snapshot {figures.snapshot_bytes / 1e6:.1f} MB",
            f"query at the edge   p50 {figures.p50_ms} ms, p90 {figures.p90_ms} ms, p99 {figures.p99_ms} ms, "
            f"max {figures.max_ms} ms over {figures.queries} requests (gateway RSS {figures.gateway_rss_mib} MiB); "
            f"{{ __typename }} p50 {figures.baseline_p50_ms} ms",
            f"machine load        {figures.load_average[0]} at the start, {figures.load_average[1]} at the end (1 min)",
            *(
                f"  {variant:<52} {found['matches']:>6.0f} matches, p50 {found['p50_ms']} ms"
                for variant, found in figures.variants.items()
            ),
            f"budgets             refresh < {REFRESH_BUDGET_S:g} s, RSS < {RSS_BUDGET_MIB:g} MiB, "
            f"p50 < {P50_BUDGET_MS:g} ms: {verdict}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench mirror", description=__doc__)
    parser.add_argument("--notices", type=int, default=ARCHIVE_NOTICES, help="notices in the feed (default 30000)")
    parser.add_argument("--bytes", type=int, default=ARCHIVE_BYTES, help="the feed's size (default 180000000)")
    parser.add_argument("--requests", type=int, default=2000, help="measured queries (default 2000)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the figures (JSON)")
    args = parser.parse_args(argv)
    if not 100 <= args.notices <= 200_000 or not 1 <= args.requests <= 100_000:
        parser.error("bounds: --notices 100..200000, --requests 1..100000")
    with tempfile.TemporaryDirectory(prefix="bench-mirror-") as work:
        figures = asyncio.run(run(args.notices, args.bytes, args.requests, Path(work)))
    data: dict[str, Any] = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), **asdict(figures)}
    args.output.write_text(json.dumps(data, indent=2) + "\n")
    print(render(figures))
    return 0 if figures.within_budget() else 1
