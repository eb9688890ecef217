"""`make demo` (scripts/demo.sh) reports honestly: the banner only once both processes answer, a taken port or a process
that exits named with its log, and the gateway still answering (with partial data) after the sandbox is stopped."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.limits.keys import ApiKeys
from gateway.settings import Settings
from tests.e2e.processes import REPO_ROOT, free_port, without_gateway_settings

BANNER_END = "Press Ctrl-C to stop."
START_TIMEOUT_S = 60.0
EXIT_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Demo:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    sandbox_port: int
    gateway_port: int
    directory: Path

    def output(self) -> tuple[str, str]:
        return self.stdout.read_text(errors="replace"), self.stderr.read_text(errors="replace")

    def wait_for(self, text: str, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until `text` is in the demo's output; fails with the output if the demo exits first or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in said for said in self.output()):
                return
            if self.process.poll() is not None:
                pytest.fail(f"demo exited ({self.process.returncode}) before {text!r}: {self.output()}")
            time.sleep(0.1)
        pytest.fail(f"no {text!r} within {timeout_s} s: {self.output()}")

    def wait_for_exit(self) -> int:
        try:
            return self.process.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the demo did not exit within {EXIT_TIMEOUT_S} s: {self.output()}")


@contextmanager
def running_demo(tmp_path: Path, gateway_port: int | None = None, **environment: str) -> Iterator[Demo]:
    """scripts/demo.sh on free ports with its files under `tmp_path`; its process group is killed at the end."""
    sandbox_port, gateway_port = free_port(), gateway_port or free_port()
    directory = tmp_path / "demo"  # the demo's key store, key and logs
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            ["bash", "scripts/demo.sh", sys.executable, str(sandbox_port), str(gateway_port)],
            cwd=REPO_ROOT,
            env=without_gateway_settings() | {"DEMO_DIR": str(directory), **environment},
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    try:
        yield Demo(process, stdout, stderr, sandbox_port, gateway_port, directory)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=EXIT_TIMEOUT_S)


async def _create_demo_key(directory: Path) -> str:
    api_keys = ApiKeys.from_settings(Settings(keys_file=str(directory / "keys.json")))
    try:
        key = (await api_keys.create(tier="standard", owner="demo")).plaintext
    finally:
        await api_keys.aclose()
    (directory / "demo-key").write_text(key + "\n")
    return key


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def _graphql(demo: Demo, query: str, key: str) -> dict[str, object]:
    response = httpx.post(
        f"http://127.0.0.1:{demo.gateway_port}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30.0,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.mark.timeout(120)
def test_the_demo_names_a_process_that_exits_and_the_gateway_outlives_the_sandbox(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    directory.mkdir()
    key = asyncio.run(_create_demo_key(directory))  # what the demo's first run does (it reuses it after)
    with running_demo(tmp_path) as demo:
        demo.wait_for(BANNER_END)
        stdout, _ = demo.output()
        assert _answers(demo.gateway_port)
        assert f"GraphiQL          : http://127.0.0.1:{demo.gateway_port}/graphql" in stdout
        assert f"Demo API key      : {key}" in stdout
        before = _graphql(demo, "{ leads(first: 1) { totalCount } }", key)
        assert "errors" not in before, before

        found = re.search(r"gateway \(pid (\d+)\), sandbox \(pid (\d+)\)", stdout)
        assert found, stdout
        gateway_pid, sandbox_pid = int(found[1]), int(found[2])
        os.kill(sandbox_pid, signal.SIGTERM)
        demo.wait_for(f"the sandbox (pid {sandbox_pid}) exited")
        assert demo.process.poll() is None, "the demo goes on without the sandbox"
        after = _graphql(demo, "{ leads(first: 3) { totalCount } sources { name } }", key)
        assert after["data"], after
        errors = after["errors"]
        assert isinstance(errors, list)
        assert errors, after
        assert {error["extensions"]["code"] for error in errors} == {"UPSTREAM_UNAVAILABLE"}, errors

        os.kill(gateway_pid, signal.SIGTERM)
        assert demo.wait_for_exit() == 1
        stdout, stderr = demo.output()
        log_tail = re.search(
            rf"---- last lines of {re.escape(str(demo.directory / 'gateway.log'))} ----\n(.+?)\n----", stderr, re.S
        )
        assert log_tail, stderr
        assert log_tail[1].strip(), "the tail of the gateway's log"
        assert re.search(rf"error: the gateway \(pid {gateway_pid}\) exited with status \d+$", stderr, re.M), stderr
        assert "demo stopped" in stdout
        assert not _answers(demo.gateway_port)


@pytest.mark.timeout(60)
def test_a_taken_gateway_port_is_named_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken: int = holder.getsockname()[1]
        with running_demo(tmp_path, gateway_port=taken) as demo:
            assert demo.wait_for_exit() == 1
            stdout, stderr = demo.output()
            assert f"error: port {taken} (GATEWAY_PORT) is taken by another process" in stderr
            assert "make demo GATEWAY_PORT=<port>" in stderr
            assert BANNER_END not in stdout
            assert not _answers(demo.sandbox_port)
