"""Real `python -m gateway` processes for cross-replica tests: free ports, start, wait for /healthz, always stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.settings import api_key_variable, daily_quota_variable, field_variable, ttl_variable, url_variable
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import RecordKind
from tests.sandbox_harness import SANDBOX_API_KEYS

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


def wait_for_health(
    url: str, process: subprocess.Popen[bytes], timeout_s: float = START_TIMEOUT_S, stderr: Path | None = None
) -> None:
    """Wait until `url` answers 200; fail (with the tail of `stderr` when given) if `process` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = stderr.read_text(errors="replace")[-2000:].strip() if stderr is not None else ""
            pytest.fail(f"{process.args!r} exited with {process.returncode} before answering {url}: {said}")
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


def gateway_environment(
    sandbox_url: str,
    *,
    quotas: Mapping[str, int] | None = None,
    ttls: Mapping[tuple[str, RecordKind], int] | None = None,
    **settings: str,
) -> dict[str, str]:
    """GATEWAY_* settings of a dev-profile gateway in front of the sandbox at `sandbox_url`, keyed callers only: every
    upstream of the catalog at the sandbox but the mirrors (`spec.mirror`), called with the sandbox's keys. `quotas`
    sets daily quotas by credential name, `ttls` cache TTLs by upstream and record kind; `settings` add or override
    fields by name (`redis_url="..."` -> GATEWAY_REDIS_URL)."""
    environment = {url_variable(spec.name): sandbox_url for spec in SPECS if not spec.mirror}
    environment |= {api_key_variable(name): key for name, key in SANDBOX_API_KEYS.items()}
    fields = {"profile": "dev", "anonymous_tier_enabled": "false", **settings}
    environment |= {field_variable(name): value for name, value in fields.items()}
    environment |= {daily_quota_variable(name): str(quota) for name, quota in (quotas or {}).items()}
    environment |= {ttl_variable(name, kind): str(ttl_s) for (name, kind), ttl_s in (ttls or {}).items()}
    return environment


@contextmanager
def gateway_process(environment: Mapping[str, str]) -> Iterator[GatewayProcess]:
    """One gateway on a free loopback port; `environment` holds GATEWAY_* settings (ours replace the caller's)."""
    port = free_port()
    env = without_gateway_settings() | {**environment, "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port)}
    with tempfile.TemporaryDirectory(prefix="gateway-process-") as logs:
        stderr = Path(logs) / "stderr.log"
        with stderr.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve"],
                env=env,
                cwd=REPO_ROOT,
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        try:
            running = GatewayProcess(port, process)
            wait_for_health(running.base_url + "/healthz", process, stderr=stderr)
            yield running
        finally:
            stop(process)


@contextmanager
def gateway_processes(count: int, environment: Mapping[str, str]) -> Iterator[list[GatewayProcess]]:
    with ExitStack() as stack:
        yield [stack.enter_context(gateway_process(environment)) for _ in range(count)]
