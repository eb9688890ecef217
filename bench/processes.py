"""The sandbox and the gateway as subprocesses on free loopback ports: started, waited for, always terminated."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

LOOPBACK = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
PROBE_EVERY_S = 0.1
LOG_TAIL_BYTES = 4000
# The bench sets what it needs; settings from the caller's shell must not leak into a measurement.
_OWN_PREFIXES = ("GATEWAY_", "SANDBOX_")


class ServiceFailed(RuntimeError):
    """A subprocess did not come up (or died); the message carries the tail of its log."""


@dataclass(frozen=True)
class Service:
    name: str
    process: asyncio.subprocess.Process
    base_url: str  # ends with "/"
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        return rss_kib(self.process.pid)

    def log_tail(self) -> str:
        return log_tail(self.log_path)

    def cpu_s(self) -> float:
        return cpu_s(self.process.pid)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    """Resident set size of a live process, from /proc/<pid>/status (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ServiceFailed(f"no VmRSS for pid {pid}")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc/<pid>/stat (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # After the command name: state is field 3 of stat(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_tail(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-LOG_TAIL_BYTES:].decode("utf-8", "replace")


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(_OWN_PREFIXES)}
    env.update(extra)
    return env


@asynccontextmanager
async def sandbox(log_dir: Path, *, scale: int = 1) -> AsyncIterator[Service]:
    port = free_port()
    argv = ["-m", "sandbox", "--host", LOOPBACK, "--port", str(port), "--scale", str(scale)]
    async with _serve(
        "sandbox", argv, clean_environment({}), port, probe_path="_sandbox/stats", log_dir=log_dir
    ) as service:
        yield service


@asynccontextmanager
async def gateway(log_dir: Path, env: Mapping[str, str], *, name: str = "gateway") -> AsyncIterator[Service]:
    port = free_port()
    full_env = clean_environment({**env, "GATEWAY_HOST": LOOPBACK, "GATEWAY_PORT": str(port)})
    async with _serve(name, ["-m", "gateway"], full_env, port, probe_path="healthz", log_dir=log_dir) as service:
        yield service


@asynccontextmanager
async def _serve(
    name: str, argv: Sequence[str], env: Mapping[str, str], port: int, *, probe_path: str, log_dir: Path
) -> AsyncIterator[Service]:
    log_path = log_dir / f"{name}-{port}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *argv, cwd=REPO, env=dict(env), stdout=log, stderr=asyncio.subprocess.STDOUT
        )
    service = Service(name, process, f"http://{LOOPBACK}:{port}/", log_path)
    try:
        await _wait_until_up(service, probe_path)
        yield service
    finally:
        await _stop(process)


async def _wait_until_up(service: Service, probe_path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    timeout = aiohttp.ClientTimeout(total=1.0)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while time.monotonic() < deadline:
            if service.process.returncode is not None:
                raise ServiceFailed(f"{service.name} exited with {service.process.returncode}:\n{service.log_tail()}")
            try:
                async with session.get(service.base_url + probe_path) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(PROBE_EVERY_S)
    raise ServiceFailed(
        f"{service.name} did not answer /{probe_path} within {START_TIMEOUT_S} s:\n{service.log_tail()}"
    )


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; returns once the process is reaped."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
    await process.wait()
