"""The official GraphQL-over-HTTP audits (graphql-http `serverAudits`) against the real app, served by uvicorn in the
dev profile over a sandbox subprocess: no MUST audit may fail and no SHOULD audit may warn."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import GENEROUS_ANONYMOUS_TIER

REPO_ROOT = Path(__file__).resolve().parents[2]
AUDIT_DIR = REPO_ROOT / "tools" / "graphql-http"
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {START_TIMEOUT_S} s")


@contextmanager
def running(args: list[str], env: dict[str, str], health_url: str) -> Iterator[None]:
    process = subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(health_url, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def gateway_url() -> Iterator[str]:
    sandbox_port, gateway_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}/"
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    env |= {
        "GATEWAY_PROFILE": "dev",
        "GATEWAY_ITA_URL": sandbox_url,
        "GATEWAY_CANADA_URL": sandbox_url,
        "GATEWAY_SAM_URL": sandbox_url,
        # The audits call keyless, many times a second: the dev profile's small anonymous tier would throttle them.
        "GATEWAY_TIERS": GENEROUS_ANONYMOUS_TIER,
    }
    with (
        running([sys.executable, "-m", "sandbox", "--port", str(sandbox_port)], env, sandbox_url + "_sandbox/stats"),
        running(
            [sys.executable, "-m", "gateway", "serve", "--port", str(gateway_port)],
            env,
            f"http://127.0.0.1:{gateway_port}/healthz",
        ),
    ):
        yield f"http://127.0.0.1:{gateway_port}/graphql"


@pytest.mark.timeout(180)
def test_graphql_over_http_audits_pass(gateway_url: str) -> None:
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        pytest.fail(f"graphql-http is not installed: run `npm ci --no-audit --no-fund` in {AUDIT_DIR}")
    audit = subprocess.run(
        ["node", "audit.mjs", gateway_url], cwd=AUDIT_DIR, capture_output=True, text=True, timeout=120, check=False
    )
    summary = audit.stdout.strip().splitlines()[-1] if audit.stdout.strip() else audit.stderr
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "MUST 13 ok / 0 errors" in summary
    assert "/ 0 warnings" in summary.split("SHOULD")[1]
