"""Fixtures shared by every test layer: the recorded samples folder and a sandbox on port 0."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.settings import SandboxSettings
from tests.sandbox_harness import RunningSandbox, running_sandbox

REPO_ROOT = Path(__file__).resolve().parent.parent
_samples_missing: list[str] = []


def samples_root() -> Path:
    """UPSTREAM_SAMPLES_DIR (outside the GATEWAY_ prefix, which the settings own), else ../shared/upstream-samples."""
    return Path(os.environ.get("UPSTREAM_SAMPLES_DIR") or REPO_ROOT.parent / "shared" / "upstream-samples").resolve()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The recorded upstream samples; a missing folder fails under CI and is announced loudly elsewhere."""
    root = samples_root()
    if root.is_dir():
        return root
    message = f"recorded upstream samples not found at {root} (set UPSTREAM_SAMPLES_DIR)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    _samples_missing.append(message)
    pytest.skip(message)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _samples_missing:
        terminalreporter.section("RECORDED-SAMPLE SUITE DID NOT RUN", sep="!", red=True, bold=True)
        terminalreporter.write_line(_samples_missing[0], red=True, bold=True)


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    """The sandbox with its default generated dataset."""
    async with running_sandbox(SandboxSettings()) as running:
        yield running


@pytest.fixture
async def sample_sandbox(samples_dir: Path) -> AsyncIterator[RunningSandbox]:
    """The sandbox serving the recorded upstream samples instead of generated data."""
    async with running_sandbox(SandboxSettings(samples_dir=samples_dir)) as running:
        yield running
