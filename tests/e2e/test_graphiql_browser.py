"""GraphiQL in a real headless chromium: renders offline from vendored assets, runs a query, obeys its CSP."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from graphql import build_schema, graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from gateway.app import create_app
from gateway.edge.graphiql import (
    EXAMPLE_OPERATIONS,
    STATIC_PATH,
    graphiql_assets_present,
    graphiql_response,
    graphiql_static_app,
)
from gateway.limits.keys import ApiKeys, FileKeyStore
from tests.e2e.browser import chromium, screenshot, serving, watched_page
from tests.e2e.conftest import gateway_settings
from tests.sandbox_harness import RunningSandbox

try:
    from playwright.async_api import async_playwright, expect
except ImportError:  # pragma: no cover - depends on the environment
    async_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
LOOPBACK = {"127.0.0.1"}
SCHEMA = build_schema("type Query { hello: String }")


def _unavailable(reason: str) -> None:
    message = f"GraphiQL browser test cannot run: {reason}"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class FakeGateway:
    url: str
    posts: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)


def _app(posts: list[tuple[dict[str, str], dict[str, Any]]]) -> Starlette:
    async def graphql_get(request: Request) -> Response:
        return graphiql_response("/graphql")

    async def graphql_post(request: Request) -> Response:
        body = await request.json()
        posts.append((dict(request.headers), body))
        result = await graphql(
            SCHEMA, body["query"], root_value={"hello": "world"}, variable_values=body.get("variables")
        )
        return JSONResponse(result.formatted, media_type="application/graphql-response+json")

    return Starlette(
        routes=[
            Route("/graphql", graphql_get, methods=["GET"]),
            Route("/graphql", graphql_post, methods=["POST"]),
            Mount(STATIC_PATH, app=graphiql_static_app()),
        ]
    )


@pytest.fixture
def browser_ready() -> None:
    """Fails under CI (skips elsewhere) when the browser, its driver or the vendored assets are missing."""
    if async_playwright is None:
        _unavailable("the playwright Python package is not installed (it is in the test extra)")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    if not graphiql_assets_present():
        _unavailable("the GraphiQL assets are not vendored (scripts/vendor_graphiql.sh)")


@pytest.fixture
async def fake_gateway() -> AsyncIterator[FakeGateway]:
    posts: list[tuple[dict[str, str], dict[str, Any]]] = []
    config = uvicorn.Config(
        _app(posts), host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none", http="h11"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            pytest.fail("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield FakeGateway(url=f"http://127.0.0.1:{port}", posts=posts)
    finally:
        server.should_exit = True
        await task


@pytest.mark.usefixtures("browser_ready")
async def test_graphiql_renders_offline_and_runs_a_query(fake_gateway: FakeGateway) -> None:
    requests: list[str] = []
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 800})
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on(
                "console",
                lambda message: (
                    problems.append(f"console {message.type}: {message.text}")
                    if message.type in {"error", "warning"}
                    else None
                ),
            )
            await page.add_init_script(
                "window.__csp = []; document.addEventListener('securitypolicyviolation',"
                " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile));"
            )

            response = await page.goto(f"{fake_gateway.url}/graphql", wait_until="load")
            assert response is not None
            assert response.status == 200
            await expect(page.locator(".graphiql-container .graphiql-query-editor .CodeMirror")).to_be_visible()

            # Headers the user types in the header editor must reach the gateway.
            await page.locator('.graphiql-editor-tools button[data-name="headers"]').click()
            await page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror").click()
            await page.keyboard.insert_text('{"X-API-Key": "dev-key-123"}')

            await page.locator(".graphiql-query-editor .CodeMirror").click()
            await page.keyboard.press("Control+A")
            await page.keyboard.insert_text("{ hello }")
            await page.locator(".graphiql-execute-button").click()
            await expect(page.locator(".graphiql-response")).to_contain_text("world")

            # The explorer plugin loads and lists the schema's field.
            await page.get_by_role("button", name="Show GraphiQL Explorer").click()
            await expect(page.locator(".docExplorerWrap")).to_contain_text("hello")

            # A dialog runs react-remove-scroll, which injects a <style>: the CSP must allow exactly that one.
            await page.get_by_role("button", name="Open settings dialog").click()
            await expect(page.get_by_role("dialog")).to_contain_text("Settings")
            await page.keyboard.press("Escape")
            await expect(page.get_by_role("dialog")).to_have_count(0)

            await screenshot(page, "graphiql-offline")
            violations = await page.evaluate("window.__csp")
            stored = await page.evaluate("JSON.stringify({...localStorage})")
            errors = list(problems)
            # Positive control: the listener sees violations and the policy forbids markup styles.
            await page.evaluate("""document.body.insertAdjacentHTML("beforeend", '<b style="color:red">x</b>')""")
            await page.wait_for_function("n => window.__csp.length > n", arg=len(violations))
        finally:
            await browser.close()

    foreign = [url for url in requests if urlsplit(url).scheme != "data" and urlsplit(url).hostname not in LOOPBACK]
    assert foreign == []
    assert violations == []
    assert errors == []
    assert "dev-key-123" not in stored, "API keys typed in the header editor must not reach localStorage"

    executed = [(headers, body) for headers, body in fake_gateway.posts if "hello" in body["query"]]
    assert executed, json.dumps([body for _, body in fake_gateway.posts])[:2000]
    headers, body = executed[-1]
    assert "__schema" not in body["query"]
    assert headers["x-api-key"] == "dev-key-123"
    assert headers["accept"] == "application/graphql-response+json, application/json"
    assert headers["content-type"] == "application/json"


@pytest.mark.usefixtures("browser_ready")
async def test_graphiql_runs_an_example_tab_with_the_demo_key_pre_filled(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """The real gateway in the dev profile, as `make demo` starts it: no anonymous tier here, so the query runs only
    because the demo key is in the Headers tab."""
    keys_file = tmp_path / "keys.json"
    key = (await ApiKeys(FileKeyStore(keys_file)).create(tier="standard", owner="graphiql-test")).plaintext
    settings = gateway_settings(sandbox, anonymous_tier_enabled=False, keys_file=str(keys_file), graphiql_demo_key=key)
    async with serving(create_app(settings)) as url, chromium() as browser:
        page, watched = await watched_page(browser, viewport={"width": 1400, "height": 900})
        response = await page.goto(f"{url}/graphql", wait_until="load")
        assert response is not None
        assert response.headers["cache-control"] == "no-store"
        await expect(page.locator(".graphiql-container .graphiql-query-editor .CodeMirror")).to_be_visible()
        # One tab per example operation of the README, the search first.
        tabs = page.locator(".graphiql-tab")
        await expect(tabs).to_have_count(len(EXAMPLE_OPERATIONS))
        await expect(tabs.first).to_contain_text("Search")
        await expect(page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden)")).to_contain_text(key)
        await page.locator(".graphiql-execute-button").click()
        await expect(page.locator(".graphiql-response")).to_contain_text('"totalCount"', timeout=15_000)
        answer = await page.locator(".graphiql-response").inner_text()
        # Another tab: the contracts example, with the key too.
        await tabs.nth(3).click()
        await expect(page.locator(".graphiql-query-editor")).to_contain_text("query Contracts")
        await page.locator(".graphiql-query-editor .CodeMirror").click()
        await page.keyboard.press("Control+Enter")
        await expect(page.locator(".graphiql-response")).to_contain_text('"awardFamily"', timeout=15_000)
        await screenshot(page, "graphiql-demo-key")
        violations = await page.evaluate("window.__csp")
    assert "UNAUTHENTICATED" not in answer
    assert '"upstream"' in answer
    assert violations == []
    assert [p for p in watched.problems if "Failed to load resource" not in p] == []
    assert all(urlsplit(u).hostname in LOOPBACK for u in watched.requests if urlsplit(u).scheme != "data")
