"""Every block of the README and docs/ marked `runnable` runs as written (docs/README.md, "Runnable examples"): one
shell per page, where `make demo` leaves a reader, against a gateway and sandbox started here as `make demo` does."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.limits.keys import ApiKeys
from gateway.settings import Settings
from tests.e2e.processes import (
    REPO_ROOT,
    free_port,
    gateway_environment,
    gateway_process,
    stop,
    wait_for_health,
    without_gateway_settings,
)

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
DOCUMENTED_ADDRESS = "127.0.0.1:8000"  # GATEWAY_PORT's default, as the pages name it
BLOCK = re.compile(r"^```(sh|console) runnable\n(.*?)^```$", re.MULTILINE | re.DOTALL)
MARK = "::runnable-command::"
PAGE_TIMEOUT_S = 120.0
READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Command:
    """One command of a runnable block, and the output lines the page shows beneath it (console blocks)."""

    text: str
    shown: tuple[str, ...]
    line: int


def runnable_commands(page: str) -> list[Command]:
    commands: list[Command] = []
    for block in BLOCK.finditer(page):
        first_line = page.count("\n", 0, block.start(2)) + 1
        commands += _commands(block[1], block[2].splitlines(), first_line)
    return commands


def _commands(kind: str, lines: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    text: list[str] = []
    shown: list[str] = []
    start = 0

    def flush() -> None:
        if text:
            commands.append(Command("\n".join(text), tuple(shown), start))
        text.clear()
        shown.clear()

    for number, line in enumerate(lines, first_line):
        continued = bool(text) and text[-1].endswith("\\")
        if continued:
            text.append(line)
        elif kind == "console" and line.startswith("$ "):
            flush()
            text.append(line[2:])
            start = number
        elif kind == "console":
            shown.append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            flush()
            text.append(line)
            start = number
    flush()
    return commands


RUNNABLE_PAGES = [page for page in PAGES if runnable_commands(page.read_text(encoding="utf-8"))]


def _json_lines(lines: list[str] | tuple[str, ...]) -> list[dict[str, object]]:
    found = []
    for line in lines:
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def _shape(answer: dict[str, object]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a documented answer promises: its top-level keys and its error codes."""
    errors = answer.get("errors")
    codes = [str(error.get("extensions", {}).get("code")) for error in errors] if isinstance(errors, list) else []
    return tuple(sorted(answer)), tuple(codes)


def run_page(name: str, page: str, *, address: str, cwd: Path, env: dict[str, str]) -> list[str]:
    """Run a page's runnable commands in one shell; the problems found (empty: the page runs as written)."""
    commands = runnable_commands(page)
    script = ["set -euo pipefail"]
    for index, command in enumerate(commands):
        script += [f"printf '\\n{MARK}%s\\n' {index}", command.text.replace(DOCUMENTED_ADDRESS, address)]
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT_S,
        check=False,
    )
    outputs = done.stdout.split(f"\n{MARK}")[1:]
    if done.returncode != 0:
        failed = commands[len(outputs) - 1] if outputs else None
        where = f"line {failed.line}: {failed.text}" if failed else "before its first command"
        return [f"{name} {where}\nexited with {done.returncode}:\n{done.stderr[-2000:]}"]
    problems = []
    for command, output in zip(commands, outputs, strict=True):
        expected = [_shape(answer) for answer in _json_lines(command.shown)]
        actual = [_shape(answer) for answer in _json_lines(output.splitlines()[1:])]
        if expected and expected != actual:
            problems.append(f"{name} line {command.line}: {command.text}\nshows {expected}, answered {actual}")
    return problems


@dataclass(frozen=True)
class Reader:
    """Where the commands run: a folder laid out as the repository root after `make demo`, and its environment."""

    cwd: Path
    env: dict[str, str]
    address: str


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    root = tmp_path_factory.mktemp("reader")
    (root / "docs").symlink_to(REPO_ROOT / "docs")
    (root / ".venv").symlink_to(Path(sys.prefix))
    demo = root / "var" / "demo"
    demo.mkdir(parents=True)
    sandbox_port = free_port()
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(sandbox_port)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sandbox_url = f"http://127.0.0.1:{sandbox_port}/"
        wait_for_health(sandbox_url + "_sandbox/stats", sandbox)
        settings = gateway_environment(
            sandbox_url,
            keys_file=str(demo / "keys.json"),
            anonymous_tier_enabled="true",
            mirror_data_dir=str(root / "var" / "mirrors"),
        )
        key = asyncio.run(_create_key(demo / "keys.json"))
        (demo / "demo-key").write_text(key + "\n")
        with gateway_process(settings) as gateway:
            _wait_until_every_source_answers(gateway.base_url, key)
            env = without_gateway_settings() | {"PGW_API_KEY": key}
            yield Reader(root, env, f"127.0.0.1:{gateway.port}")
    finally:
        stop(sandbox)


async def _create_key(keys_file: Path) -> str:
    """The demo key, as `make demo` creates it (tier standard, in the demo's key store)."""
    api_keys = ApiKeys.from_settings(Settings(keys_file=str(keys_file)))
    try:
        return (await api_keys.create(tier="standard", owner="demo")).plaintext
    finally:
        await api_keys.aclose()


def _wait_until_every_source_answers(base_url: str, key: str) -> None:
    """Mirrors answer once their first snapshot is built (a few seconds after start-up, from the sandbox)."""
    query = "{ leads(first: 1) { totalCount } tenders(first: 1) { totalCount } contracts(first: 1) { totalCount } }"
    deadline = time.monotonic() + READY_TIMEOUT_S
    body: object = None
    while time.monotonic() < deadline:
        response = httpx.post(
            f"{base_url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        body = response.json()
        if response.status_code == 200 and isinstance(body, dict) and "errors" not in body:
            return
        time.sleep(0.5)
    pytest.fail(f"the gateway did not answer every list without errors within {READY_TIMEOUT_S} s: {body}")


def test_the_pages_mark_their_command_blocks_runnable() -> None:
    marked = {page.relative_to(REPO_ROOT).as_posix() for page in RUNNABLE_PAGES}
    assert marked >= {
        "README.md",
        "docs/README.md",
        "docs/keys-and-limits.md",
        "docs/pagination-and-caching.md",
        "docs/persisted-documents.md",
    }


def test_console_blocks_split_into_commands_and_their_shown_output() -> None:
    page = (
        "text\n```console runnable\n$ echo one \\\n    two\none two\n$ printf '{\"data\": 1}\\n'\n"
        '{"data": 1}\n```\n```sh\nnot runnable\n```\n```sh runnable\n# a comment\ntrue\n```\n'
    )
    assert runnable_commands(page) == [
        Command("echo one \\\n    two", ("one two",), 3),
        Command("printf '{\"data\": 1}\\n'", ('{"data": 1}',), 6),
        Command("true", (), 14),
    ]


def test_a_failing_command_or_an_answer_of_another_shape_is_reported(tmp_path: Path) -> None:
    environment = {"PATH": os.environ["PATH"]}
    failing = "```sh runnable\ntrue\nfalse\n```\n"
    (problem,) = run_page("failing.md", failing, address="", cwd=tmp_path, env=environment)
    assert problem.startswith("failing.md line 3: false\nexited with 1")
    other_shape = '```console runnable\n$ echo \'{"errors": [{"extensions": {"code": "X"}}]}\'\n{"data": {}}\n```\n'
    (problem,) = run_page("shape.md", other_shape, address="", cwd=tmp_path, env=environment)
    assert "shows [(('data',), ())], answered [(('errors',), ('X',))]" in problem


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "page", RUNNABLE_PAGES, ids=[page.relative_to(REPO_ROOT).as_posix() for page in RUNNABLE_PAGES]
)
def test_every_runnable_block_runs_as_written(page: Path, reader: Reader) -> None:
    text = page.read_text(encoding="utf-8")
    problems = run_page(
        page.relative_to(REPO_ROOT).as_posix(), text, address=reader.address, cwd=reader.cwd, env=reader.env
    )
    assert problems == [], "\n\n".join(problems)
