"""Real-browser tests' shared parts: Debian's chromium driven by playwright (never `playwright install`), the whole
gateway served by uvicorn on a loopback port, CSP-violation and console watchers, and the artefacts folder."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.types import ASGIApp

from tests.e2e.processes import REPO_ROOT

try:
    from playwright.async_api import Browser, Page, async_playwright, expect

    # The machines running the suite are shared and busy: wait up to 15 s for what a page shows (5 s by default).
    expect.set_options(timeout=15_000)
except ImportError:  # pragma: no cover - depends on the environment
    async_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = REPO_ROOT / "var" / "test-artefacts"  # git-ignored; screenshots of the browser tests
CSP_WATCH = (
    "window.__csp = []; document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile));"
)


def browser_available() -> None:
    """Fails under CI (skips elsewhere) when the browser or its driver is missing."""
    reason = None
    if async_playwright is None:
        reason = "the playwright Python package is not installed (it is in the test extra)"
    elif not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if reason is None:
        return
    message = f"browser test cannot run: {reason}"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """`app` (its lifespan run) on a free loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", ws="none", http="h11")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            pytest.fail("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Watched:
    """What a page did that a test must see: requests, page errors, console errors and warnings."""

    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    assert async_playwright is not None
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def watched_page(browser: Browser, **context: Any) -> tuple[Page, Watched]:
    page = await (await browser.new_context(**context)).new_page()
    watched = Watched()
    page.on("request", lambda request: watched.requests.append(request.url))
    page.on("pageerror", lambda error: watched.problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            watched.problems.append(f"console {message.type}: {message.text}")
            if message.type in {"error", "warning"}
            else None
        ),
    )
    await page.add_init_script(CSP_WATCH)
    return page, watched


async def screenshot(page: Page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
