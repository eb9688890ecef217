"""Real `python -m gateway` processes for cross-replica tests: free ports, start, wait for /healthz, always stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class GatewayProcess:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def wait_for_health(url: str, process: subprocess.Popen[bytes], timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args!r} exited with {process.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {timeout_s} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def without_gateway_settings() -> dict[str, str]:
    """This process's environment less any GATEWAY_* variable (a child gateway gets only the test's settings)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}


def gateway_environment(sandbox_url: str, **settings: str) -> dict[str, str]:
    """GATEWAY_* settings of a dev-profile gateway in front of the sandbox at `sandbox_url`, keyed callers only;
    `settings` add or override settings by name (`redis_url="..."` -> GATEWAY_REDIS_URL)."""
    defaults = {
        "profile": "dev",
        "anonymous_tier_enabled": "false",
        "ita_url": sandbox_url,
        "canada_url": sandbox_url,
        "sam_url": sandbox_url,
        "sam_api_key": "sam-sandbox-key",
        "ita_api_key": "ita-sandbox-key",
    }
    return {f"GATEWAY_{name.upper()}": value for name, value in {**defaults, **settings}.items()}


@contextmanager
def gateway_process(environment: Mapping[str, str]) -> Iterator[GatewayProcess]:
    """One gateway on a free loopback port; `environment` holds GATEWAY_* settings (ours replace the caller's)."""
    port = free_port()
    env = without_gateway_settings() | {**environment, "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        running = GatewayProcess(port, process)
        wait_for_health(running.base_url + "/healthz", process)
        yield running
    finally:
        stop(process)


@contextmanager
def gateway_processes(count: int, environment: Mapping[str, str]) -> Iterator[list[GatewayProcess]]:
    with ExitStack() as stack:
        yield [stack.enter_context(gateway_process(environment)) for _ in range(count)]
