"""The processes of a comparison on loopback, each pinned to a core: our gateway, Hive Gateway, the upstream.

Both gateways go on one core (one at a time under load), wrk and the upstream on the other. Every process is
waited for (a probe path answering 200) and always terminated.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench import processes
from bench.compare import proctree
from bench.compare.scenarios import HIVE_RESPONSE_CACHE, OURS_CACHES_OFF
from gateway.settings import Settings
from gateway.upstreams.catalog import SPECS

HIVE_DIR = Path(__file__).resolve().parent.parent / "hive"
HIVE_BIN = HIVE_DIR / "node_modules" / ".bin" / "hive-gateway"
COMPOSE_BIN = HIVE_DIR / "node_modules" / ".bin" / "mesh-compose"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 120.0
PROBE_EVERY_S = 0.1
HIVE_RESPONSE_CACHE_TTL_MS = 600_000

# The keys the sandbox accepts (the capture goes through it); the captured-bytes upstream accepts anything.
ITA_API_KEY = "ita-sandbox-key"
SAM_API_KEY = "sam-sandbox-key-system"
BENCH_TIER = "bench"
# A tier whose limits never refuse (each field's maximum): the limiter and the cost metering stay on the measured
# path, but the load is never throttled.
BENCH_TIERS = json.dumps(
    {
        BENCH_TIER: {
            "requests_per_minute": 10_000_000,
            "burst": 10_000_000,
            "cost_per_hour": 10_000_000,
            "max_query_cost": 100_000,
        }
    }
)
# Settings turned on (access logs, metrics) or off (tracing) when the gateway has them, matched by field name.
_ON_PREFIXES = ("access_log", "metrics")
_OFF_PREFIXES = ("tracing", "otel", "opentelemetry")


@dataclass(frozen=True)
class Cores:
    """Where the gateways run and where the load (wrk, the upstream) runs; None: not pinned (one CPU only)."""

    gateway: int | None
    load: int | None

    @classmethod
    def detect(cls) -> Cores:
        available = sorted(os.sched_getaffinity(0))
        if len(available) < 2:
            return cls(None, None)
        return cls(available[0], available[1])

    def describe(self) -> str:
        if self.gateway is None:
            return "not pinned (fewer than 2 CPUs)"
        return f"gateways on CPU {self.gateway}; wrk and the upstream on CPU {self.load}"


def pinned(argv: Sequence[str], core: int | None) -> list[str]:
    return ["taskset", "-c", str(core), *argv] if core is not None else list(argv)


@dataclass(frozen=True)
class Running:
    """A started process; `pid` is the process that serves (taskset execs it), CPU and memory cover its tree."""

    name: str
    process: asyncio.subprocess.Process
    base_url: str  # ends with "/"
    log_path: Path
    start_rss_kib: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_s(self) -> float:
        return proctree.cpu_s(self.pid)

    def rss_kib(self) -> int:
        return proctree.rss_kib(self.pid)

    def peak_rss_kib(self) -> int:
        return proctree.peak_rss_kib(self.pid)


@asynccontextmanager
async def serve(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    port: int,
    probe_path: str,
    log_dir: Path,
    cwd: Path = processes.REPO,
) -> AsyncIterator[Running]:
    log_path = log_dir / f"{name.replace(' ', '-')}-{port}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=dict(env), stdout=log, stderr=asyncio.subprocess.STDOUT
        )
    base_url = f"http://{processes.LOOPBACK}:{port}/"
    try:
        await _wait_until_up(name, process, base_url + probe_path, log_path)
        yield Running(name, process, base_url, log_path, proctree.rss_kib(process.pid))
    finally:
        await stop(process)


async def _wait_until_up(name: str, process: asyncio.subprocess.Process, probe_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as session:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise processes.ServiceFailed(
                    f"{name} exited with {process.returncode}:\n{processes.log_tail(log_path)}"
                )
            try:
                async with session.get(probe_url) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(PROBE_EVERY_S)
    raise processes.ServiceFailed(
        f"{name} did not answer {probe_url} within {START_TIMEOUT_S} s:\n{processes.log_tail(log_path)}"
    )


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; returns once the process is reaped."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
    await process.wait()


async def run_command(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout_s: float = COMMAND_TIMEOUT_S
) -> str:
    """Runs a command to completion within `timeout_s`; its stdout, or ServiceFailed with its output."""
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env=dict(env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        await stop(process)
        raise processes.ServiceFailed(f"{argv[0]} did not finish within {timeout_s} s") from None
    if process.returncode != 0:
        output = (stdout + stderr).decode("utf-8", "replace")[-processes.LOG_TAIL_BYTES :]
        raise processes.ServiceFailed(f"{' '.join(argv[:3])} exited with {process.returncode}:\n{output}")
    return stdout.decode()


# --- the upstream -----------------------------------------------------------------------------------------------


@asynccontextmanager
async def upstream(capture_path: Path, cores: Cores, log_dir: Path) -> AsyncIterator[Running]:
    port = processes.free_port()
    argv = pinned(
        [
            sys.executable,
            "-m",
            "bench.upstream_server",
            "--capture",
            str(capture_path),
            "--host",
            processes.LOOPBACK,
            "--port",
            str(port),
        ],
        cores.load,
    )
    env = processes.clean_environment({})
    async with serve("upstream", argv, env=env, port=port, probe_path="_bench/stats", log_dir=log_dir) as running:
        yield running


# --- our gateway --------------------------------------------------------------------------------------------------


def observability_env() -> dict[str, str]:
    """GATEWAY_* switches for access logs and metrics (on) and tracing (off), for those the gateway has."""
    env: dict[str, str] = {}
    for field in dataclasses.fields(Settings):
        if not isinstance(field.default, bool):
            continue
        if field.name.startswith(_ON_PREFIXES):
            env[f"GATEWAY_{field.name.upper()}"] = "true"
        elif field.name.startswith(_OFF_PREFIXES):
            env[f"GATEWAY_{field.name.upper()}"] = "false"
    return env


def ours_env(upstream_url: str, keys_file: Path, config: str) -> dict[str, str]:
    """The prod profile over `upstream_url`, the bench tier; `config` caches-off or defaults. Validated here."""
    env = {
        "GATEWAY_PROFILE": "prod",
        "GATEWAY_ITA_URL": upstream_url,
        "GATEWAY_CANADA_URL": upstream_url,
        "GATEWAY_SAM_URL": upstream_url,
        "GATEWAY_ITA_API_KEY": ITA_API_KEY,
        "GATEWAY_SAM_API_KEY": SAM_API_KEY,
        "GATEWAY_SAM_DAILY_QUOTA": "10000000",
        "GATEWAY_TIERS": BENCH_TIERS,
        "GATEWAY_KEYS_FILE": str(keys_file),
        **observability_env(),
    }
    if config == OURS_CACHES_OFF:
        env["GATEWAY_RESPONSE_CACHE_TTL_S"] = "0"
        env["GATEWAY_CACHE_STALE_FOR_S"] = "0"
        for spec in SPECS:
            for kind in spec.default_ttl_s:
                env[f"GATEWAY_{spec.name.upper()}_TTL_{kind.setting_stem}_S"] = "0"
    Settings.from_env(env)  # a setting the gateway does not know fails here, before anything starts
    return env


async def create_key(env: Mapping[str, str]) -> str:
    """Issues a bench-tier key through the gateway's own CLI (into GATEWAY_KEYS_FILE)."""
    argv = [sys.executable, "-m", "gateway", "keys", "create", "--tier", BENCH_TIER, "--owner", "bench"]
    return (await run_command(argv, env=processes.clean_environment(env), cwd=processes.REPO)).strip()


@asynccontextmanager
async def ours(env: Mapping[str, str], config: str, cores: Cores, log_dir: Path) -> AsyncIterator[Running]:
    port = processes.free_port()
    full_env = processes.clean_environment({**env, "GATEWAY_HOST": processes.LOOPBACK, "GATEWAY_PORT": str(port)})
    argv = pinned([sys.executable, "-m", "gateway"], cores.gateway)
    async with serve(f"ours {config}", argv, env=full_env, port=port, probe_path="healthz", log_dir=log_dir) as running:
        yield running


# --- Hive Gateway -------------------------------------------------------------------------------------------------


def _node_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = processes.clean_environment({})
    env = {name: value for name, value in env.items() if not name.startswith(("BENCH_", "NODE_OPTIONS"))}
    return env | dict(extra)


async def compose_hive(upstream_url: str, output: Path) -> Path:
    """Mesh compose over bench/hive/openapi, every source at `upstream_url`: the supergraph Hive Gateway serves."""
    env = _node_env(
        {"BENCH_UPSTREAM_URL": upstream_url, "BENCH_ITA_API_KEY": ITA_API_KEY, "BENCH_SAM_API_KEY": SAM_API_KEY}
    )
    await run_command([str(COMPOSE_BIN), "-o", str(output)], env=env, cwd=HIVE_DIR)
    return output


@asynccontextmanager
async def hive(supergraph: Path, config: str, cores: Cores, log_dir: Path) -> AsyncIterator[Running]:
    port = processes.free_port()
    env = _node_env(
        {
            "NODE_ENV": "production",
            "BENCH_SUPERGRAPH": str(supergraph),
            "BENCH_RESPONSE_CACHE": "1" if config == HIVE_RESPONSE_CACHE else "0",
            "BENCH_RESPONSE_CACHE_TTL_MS": str(HIVE_RESPONSE_CACHE_TTL_MS),
        }
    )
    argv = pinned(
        [
            str(HIVE_BIN),
            "--config-path",
            "gateway.config.js",
            "--host",
            processes.LOOPBACK,
            "--port",
            str(port),
            "supergraph",
            str(supergraph),
        ],
        cores.gateway,
    )
    async with serve(
        f"hive {config}", argv, env=env, port=port, probe_path="readiness", log_dir=log_dir, cwd=HIVE_DIR
    ) as running:
        yield running
