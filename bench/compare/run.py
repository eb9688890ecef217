"""Runs the comparison: tools, capture, upstream, both gateways, the equality check, then interleaved timed rounds.

Every process is pinned (services.Cores) and stopped on the way out; every wrk run is bounded in time and count.
Rounds are interleaved: each round runs every scenario and concurrency once, our gateway and Hive back to back
(which goes first alternates between rounds), so a slow spell of a shared machine hits both.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp

from bench import processes, suite
from bench.compare import capture, equality, install, proctree, services
from bench.compare.scenarios import OURS_DEFAULTS, SCENARIOS, Scenario
from bench.compare.wrk import Wrk
from bench.suite import Progress
from bench.upstream_server import save_capture

CONTROL_TIMEOUT_S = 10.0
FIRST_NUMBER = 1_000_000  # request numbers (keywords BENCH<n>) start here; the check uses smaller ones
HIVE_PACKAGES = ("@graphql-hive/gateway", "@graphql-mesh/compose-cli", "@omnigraph/openapi")
SETUP_BOUND_S = 900.0  # installs, capture, start-ups
# After wrk stops, a saturated gateway still works through the requests wrk abandoned; the next run waits until the
# gateway uses less than SETTLE_BUSY_S of CPU in a SETTLE_STEP_S step (at most SETTLE_MAX_S).
SETTLE_STEP_S = 0.2
SETTLE_BUSY_S = 0.02
SETTLE_MAX_S = 20.0


@dataclass(frozen=True)
class Options:
    duration_s: int = 3
    warmup_s: int = 1
    rounds: int = 3
    only: tuple[str, ...] = ()  # scenario name fragments; empty: every scenario

    def bound_s(self, scenarios: Sequence[Scenario]) -> float:
        runs = sum(len(s.concurrency) * len(s.systems()) for s in scenarios) * self.rounds
        return SETUP_BOUND_S + runs * (self.duration_s + self.warmup_s + 2 * 30)


class _Numbers:
    """Request numbers never reused within the run, so that a miss is a miss at any cache setting."""

    def __init__(self) -> None:
        self.next = FIRST_NUMBER

    def advance_past(self, start: int, requests: int, concurrency: int) -> None:
        # wrk counts answered requests; up to `concurrency` more were in flight when it stopped.
        self.next = max(self.next, start + requests + concurrency + 1)


async def _control(upstream: services.Running, command: str) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=CONTROL_TIMEOUT_S)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(upstream.base_url + "_bench/" + command) as response,
    ):
        response.raise_for_status()
        answer: dict[str, Any] = await response.json()
        return answer


class _Rounds:
    def __init__(
        self,
        options: Options,
        wrk: Wrk,
        upstream: services.Running,
        gateways: Mapping[tuple[str, str], services.Running],
        progress: Progress,
        *,
        gateway_core: int | None,
    ) -> None:
        self._options = options
        self._wrk = wrk
        self._upstream = upstream
        self._gateways = gateways
        self._progress = progress
        self._numbers = _Numbers()
        self._gateway_core = gateway_core
        self.records: list[dict[str, Any]] = []

    def _core_busy_s(self) -> float:
        return proctree.core_busy_s(self._gateway_core) if self._gateway_core is not None else 0.0

    async def run(self, scenarios: Sequence[Scenario]) -> None:
        for round_index in range(self._options.rounds):
            for scenario in scenarios:
                await _control(self._upstream, f"latency/{scenario.upstream_latency_ms}")
                try:
                    for concurrency in scenario.concurrency:
                        systems = scenario.systems()
                        for system in systems if round_index % 2 == 0 else tuple(reversed(systems)):
                            record = await self._measure(round_index + 1, scenario, system, concurrency)
                            self.records.append(record)
                            self._progress(_progress_line(record))
                finally:
                    await _control(self._upstream, "latency/0")

    async def _measure(self, round_number: int, scenario: Scenario, system: str, concurrency: int) -> dict[str, Any]:
        gateway = self._gateways[(system, scenario.config(system))]
        url = gateway.base_url + "graphql"
        template = scenario.template(system)
        if self._options.warmup_s > 0:
            start = self._numbers.next
            warm = await self._wrk.run(
                url,
                template,
                concurrency=concurrency,
                duration_s=self._options.warmup_s,
                start=start,
                accept_encoding=scenario.accept_encoding,
            )
            self._numbers.advance_past(start, warm.requests, concurrency)
            await _settle(gateway)
        await _control(self._upstream, "reset")
        start = self._numbers.next
        before = (gateway.cpu_s(), self._upstream.cpu_s(), self._core_busy_s())
        result = await self._wrk.run(
            url,
            template,
            concurrency=concurrency,
            duration_s=self._options.duration_s,
            start=start,
            accept_encoding=scenario.accept_encoding,
        )
        after = (gateway.cpu_s(), self._upstream.cpu_s(), self._core_busy_s())
        self._numbers.advance_past(start, result.requests, concurrency)
        stats = await _control(self._upstream, "stats")
        settle_s = await _settle(gateway)
        served = sum(int(count) for count in stats["served"].values())
        per_request = max(result.requests, 1)
        return {
            "round": round_number,
            "scenario": scenario.name,
            "system": system,
            "config": scenario.config(system),
            "concurrency": concurrency,
            "upstream_latency_ms": scenario.upstream_latency_ms,
            **result.as_json(),
            "cpu_ms_per_request": round((after[0] - before[0]) * 1000 / per_request, 3),
            "upstream_cpu_ms_per_request": round((after[1] - before[1]) * 1000 / per_request, 3),
            # The share of the run that other work (not this gateway) kept the gateway's core busy: a shared machine's
            # noise, which the gateway's req/s of this run suffered and its CPU ms per request mostly did not.
            "other_work_share": (
                round(max(0.0, (after[2] - before[2]) - (after[0] - before[0])) / result.duration_s, 3)
                if result.duration_s
                else 0.0
            ),
            "upstream_calls_per_request": round(served / per_request, 3),
            "upstream_served": stats["served"],
            "upstream_unknown_paths": stats["unknown"],
            "rss_kib_after": gateway.rss_kib(),
            "settle_s": settle_s,
        }


async def _settle(gateway: services.Running) -> float:
    """Seconds until the gateway is idle again (see SETTLE_STEP_S)."""
    started = time.monotonic()
    used = gateway.cpu_s()
    while time.monotonic() - started < SETTLE_MAX_S:
        await asyncio.sleep(SETTLE_STEP_S)
        now = gateway.cpu_s()
        if now - used < SETTLE_BUSY_S:
            break
        used = now
    return round(time.monotonic() - started, 1)


def _progress_line(record: Mapping[str, Any]) -> str:
    return (
        f"[round {record['round']}] {record['scenario']} c={record['concurrency']} {record['system']}: "
        f"{record['requests_per_s']} req/s, p50 {record['p50_ms']} ms, p99 {record['p99_ms']} ms, "
        f"{record['cpu_ms_per_request']} CPU ms/req, {record['errors']} errors, "
        f"RSS {record['rss_kib_after'] / 1024:.1f} MiB"
    )


def _installed_version(package: str) -> str:
    manifest = services.HIVE_DIR / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "?"


async def _output_of(argv: Sequence[str]) -> str:
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=processes.REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    except (OSError, TimeoutError):
        return ""
    return output.decode("utf-8", "replace").strip()


async def versions() -> dict[str, str]:
    commit = await _output_of(["git", "rev-parse", "--short", "HEAD"])
    dirty = await _output_of(["git", "status", "--porcelain", "--untracked-files=no"])
    try:
        ours = metadata.version("procurement-gateway")
    except metadata.PackageNotFoundError:
        ours = "?"
    wrk = (await _output_of(["wrk", "-v"])).splitlines()
    return {
        "this gateway": f"{ours} (commit {commit}{', with uncommitted changes' if dirty else ''})",
        **{package: _installed_version(package) for package in HIVE_PACKAGES},
        "node": await _output_of(["node", "--version"]),
        "wrk": wrk[0].removeprefix("wrk ").partition(" [")[0] if wrk else "?",
        "python": sys.version.split()[0],
    }


def systems_needed(scenarios: Sequence[Scenario]) -> list[tuple[str, str]]:
    return sorted({(system, scenario.config(system)) for scenario in scenarios for system in scenario.systems()})


async def _run(options: Options, progress: Progress, command: str) -> dict[str, Any]:
    started = time.monotonic()
    scenarios = tuple(s for s in SCENARIOS if not options.only or any(part in s.name for part in options.only))
    await install.ensure_wrk(progress)
    await install.ensure_hive(progress)
    cores = services.Cores.detect()
    if cores.load is not None:
        os.sched_setaffinity(0, {cores.load})  # the harness itself (and the capture's processes) off the gateways' core
    machine = suite.machine()
    with tempfile.TemporaryDirectory(prefix="gateway-compare-") as scratch_name:
        scratch = Path(scratch_name)
        keys_file = scratch / "keys.json"
        key = await services.create_key(services.ours_env("http://127.0.0.1:9/", keys_file, OURS_DEFAULTS))
        authorization = f"Bearer {key}"
        progress("capturing the upstream answers from the sandbox, through our gateway")
        answers = await capture.capture(SCENARIOS, keys_file=keys_file, key=key, log_dir=scratch)
        capture_path = scratch / "capture.json"
        save_capture(capture_path, answers)
        async with AsyncExitStack() as stack:
            upstream = await stack.enter_async_context(services.upstream(capture_path, cores, scratch))
            needed = systems_needed(scenarios)
            supergraph = None
            if any(system == "hive" for system, _ in needed):
                progress("composing Hive Gateway's supergraph (mesh-compose over bench/hive/openapi)")
                supergraph = await services.compose_hive(upstream.base_url, scratch / "supergraph.graphql")
            gateways: dict[tuple[str, str], services.Running] = {}
            for system, config in needed:
                if system == "ours":
                    env = services.ours_env(upstream.base_url, keys_file, config)
                    running = services.ours(env, config, cores, scratch)
                else:
                    assert supergraph is not None
                    running = services.hive(supergraph, config, cores, scratch)
                gateways[(system, config)] = await stack.enter_async_context(running)
                progress(f"{system} ({config}) up, pid {gateways[(system, config)].pid}")
            checks = []
            for number, scenario in enumerate(scenarios):
                urls = {
                    system: gateways[(system, scenario.config(system))].base_url + "graphql"
                    for system in scenario.systems()
                }
                checked = await equality.check(scenario, urls, authorization, number)
                checks.append(checked.as_json())
                progress(f"same items: {scenario.name}: {checked.items} items {checked.kinds}")
            rounds = _Rounds(
                options,
                Wrk(scratch, cores.load, authorization),
                upstream,
                gateways,
                progress,
                gateway_core=cores.gateway,
            )
            await rounds.run(scenarios)
            memory = [
                {
                    "system": system,
                    "config": config,
                    "start_kib": running.start_rss_kib,
                    "end_kib": running.rss_kib(),
                    "peak_kib": running.peak_rss_kib(),
                }
                for (system, config), running in gateways.items()
            ]
    machine["loadavg_at_end"] = [round(value, 2) for value in os.getloadavg()]
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine,
        "cores": cores.describe(),
        "versions": await versions(),
        "options": {
            "duration_s": options.duration_s,
            "warmup_s": options.warmup_s,
            "rounds": options.rounds,
            "only": list(options.only),
        },
        "observability_settings": services.observability_env(),
        "captured": {
            route: {"request": answer.request, "bytes": len(answer.body)} for route, answer in answers.items()
        },
        "scenarios": [
            {
                "name": s.name,
                "what": s.what,
                "systems": {system: s.config(system) for system in s.systems()},
                "concurrency": list(s.concurrency),
                "upstream_latency_ms": s.upstream_latency_ms,
            }
            for s in scenarios
        ],
        "checks": checks,
        "runs": rounds.records,
        "memory": memory,
        "elapsed_s": round(time.monotonic() - started, 1),
    }


async def run(options: Options, progress: Progress, command: str = "") -> dict[str, Any]:
    """The comparison under an overall bound: every subprocess is stopped even when the bound is hit."""
    scenarios = tuple(s for s in SCENARIOS if not options.only or any(part in s.name for part in options.only))
    async with asyncio.timeout(options.bound_s(scenarios)):
        return await _run(
            options, progress, command or "python -m bench " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])
        )
