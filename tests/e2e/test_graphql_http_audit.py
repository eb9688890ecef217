"""The official GraphQL-over-HTTP audits (graphql-http `serverAudits`) against the real app, served by uvicorn in the
dev profile over a sandbox subprocess: no MUST audit may fail and no SHOULD audit may warn."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.e2e.conftest import GENEROUS_ANONYMOUS_TIER
from tests.e2e.processes import (
    REPO_ROOT,
    free_port,
    gateway_environment,
    stop,
    wait_for_health,
    without_gateway_settings,
)

AUDIT_DIR = REPO_ROOT / "tools" / "graphql-http"


@contextmanager
def running(args: list[str], env: dict[str, str], health_url: str) -> Iterator[None]:
    process = subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_health(health_url, process)
        yield
    finally:
        stop(process)


@pytest.fixture
def gateway_url() -> Iterator[str]:
    sandbox_port, gateway_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}/"
    # The audits call keyless, many times a second: the dev profile's small anonymous tier would throttle them.
    env = without_gateway_settings() | gateway_environment(
        sandbox_url, anonymous_tier_enabled="true", tiers=GENEROUS_ANONYMOUS_TIER
    )
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
