"""The explorer at `/` in a real headless chromium, over the whole gateway and the sandbox: it searches, pages,
filters by a facet, switches the language of bilingual fields, shows a per-source error when an upstream fails, says
what to do about a missing or refused key, exports CSV, shows its GraphQL, keeps its search in a shareable URL, obeys
its CSP and passes an automated accessibility check (axe-core). Screenshots go to var/test-artefacts/."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Locator, Page, expect

from gateway.app import create_app
from gateway.limits.keys import ApiKeys, FileKeyStore
from tests.e2e.browser import browser_available, chromium, screenshot, serving, watched_page
from tests.e2e.conftest import gateway_settings
from tests.e2e.processes import REPO_ROOT
from tests.sandbox_harness import RunningSandbox

AXE = REPO_ROOT / "docs" / "examples" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
LOOPBACK = {"127.0.0.1"}


@pytest.fixture
async def explorer_url(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """The gateway (prod profile: no anonymous tier, so a key is needed) served on a port; yields (URL, a key)."""
    browser_available()
    keys_file = tmp_path / "keys.json"
    key = (await ApiKeys(FileKeyStore(keys_file)).create(tier="standard", owner="explorer-test")).plaintext
    settings = gateway_settings(sandbox, profile="prod", anonymous_tier_enabled=False, keys_file=str(keys_file))
    async with serving(create_app(settings)) as url:
        yield url, key


async def search_for(page: Page, keywords: str) -> None:
    await page.get_by_label("Keywords").fill(keywords)
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.locator("#summary")).to_contain_text("Showing results 1 to")


def rows(page: Page) -> Locator:
    return page.locator("#results tbody tr")


@pytest.mark.timeout(120)
async def test_the_explorer_searches_pages_filters_and_switches_language(
    explorer_url: tuple[str, str], sandbox: RunningSandbox
) -> None:
    url, key = explorer_url
    async with chromium() as browser:
        page, watched = await watched_page(browser, viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        response = await page.goto(url + "/", wait_until="load")
        assert response is not None
        assert response.status == 200

        # No key: the gateway has no anonymous tier; the page says how to get one.
        await expect(page.get_by_role("alert")).to_contain_text("This gateway needs an API key")
        await page.get_by_label("API key (kept in this tab only)").fill("pgw_wrong_key")
        await page.get_by_role("button", name="Use key").click()
        await expect(page.get_by_role("alert")).to_contain_text("refused this API key")
        await screenshot(page, "explorer-bad-key")
        await page.get_by_label("API key (kept in this tab only)").fill(key)
        await page.get_by_role("button", name="Use key").click()
        await expect(page.locator("#attributions")).to_contain_text("Licence")
        assert await page.evaluate("sessionStorage.length") == 1
        assert await page.evaluate("localStorage.length") == 0

        # Search, by keyboard.
        await page.get_by_label("Keywords").fill("software")
        await page.get_by_label("Keywords").press("Enter")
        await expect(page.locator("#summary")).to_contain_text("Showing results 1 to 20 of at most")
        await expect(rows(page)).to_have_count(20)
        first_page = await rows(page).all_inner_texts()
        await screenshot(page, "explorer-results")

        # Paging, and back.
        await page.get_by_role("button", name="Next page").click()
        await expect(page.locator("#summary")).to_contain_text("Showing results 21 to 40")
        second_page = await rows(page).all_inner_texts()
        assert not set(first_page) & set(second_page)
        shared = page.url
        assert "after=" in shared
        await page.get_by_role("button", name="Previous page").click()
        await expect(page.locator("#summary")).to_contain_text("Showing results 1 to 20")
        assert await rows(page).all_inner_texts() == first_page

        # A facet value filters the search: tenders only.
        await page.locator("#facets").get_by_role("button", name=re.compile(r"^Tenders \(")).click()
        await expect(page.locator("#summary")).to_contain_text("Showing results 1 to")
        sources = await page.locator("#results tbody td:first-child").all_inner_texts()
        assert sources
        assert all("Tender" in cell for cell in sources), sources
        assert "kind=TENDER" in page.url
        english = await page.locator("#results tbody td:nth-child(2)").all_inner_texts()

        # French for the bilingual fields.
        await page.get_by_label("Language of bilingual fields").select_option("FR")
        await expect(page.locator("#results tbody td:nth-child(2)").first).to_have_attribute("lang", "fr")
        french = await page.locator("#results tbody td:nth-child(2)").all_inner_texts()
        assert french != english
        await screenshot(page, "explorer-french")

        # The GraphQL it ran, and CSV of the results.
        await page.get_by_text("The GraphQL this page ran").click()
        graphql_text = await page.get_by_label("Query and variables").input_value()
        assert "query Explore(" in graphql_text
        assert '"language": "FR"' in graphql_text
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Export CSV").click()
        download = await download_info.value
        csv_text = (await asyncio.to_thread(Path(await download.path()).read_bytes)).decode("utf-8")
        assert csv_text.startswith("source,also published by,kind,title,buyer,supplier,dates,value,link,id\r\n")
        assert len(csv_text.strip().splitlines()) == len(french) + 1

        # A shared link opens on the same page of the same search.
        other, _ = await watched_page(browser)
        await other.goto(url + "/", wait_until="load")
        await other.evaluate("k => sessionStorage.setItem('procurement-explorer.api-key', k)", key)
        await other.goto(shared, wait_until="load")
        await expect(other.locator("#results tbody tr")).to_have_count(20)
        assert await other.locator("#results tbody tr").all_inner_texts() == second_page

        # One upstream failing: its results wait for a later page; the page says so.
        await sandbox.set_fault("sam", error_rate=1.0)
        await page.get_by_label("Language of bilingual fields").select_option("EN")
        await page.get_by_role("button", name="Clear filters").click()
        await search_for(page, "laptops")
        notice = page.locator("#notices li.error")
        await expect(notice).to_contain_text("Source sam (contracts) did not answer")
        await expect(notice).to_contain_text("UPSTREAM_UNAVAILABLE")
        await screenshot(page, "explorer-source-error")
        await sandbox.clear_fault("sam")

        violations = await page.evaluate("window.__csp")
        problems = [p for p in watched.problems if "401" not in p and "Failed to load resource" not in p]
    foreign = [u for u in watched.requests if urlsplit(u).scheme not in {"data", "blob"}]
    foreign = [u for u in foreign if urlsplit(u).hostname not in LOOPBACK]
    assert foreign == []
    assert violations == []
    assert problems == []


async def test_the_explorer_passes_an_automated_accessibility_check(explorer_url: tuple[str, str]) -> None:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed: run `npm ci` in {AXE.parents[2]} (make pytest does)")
    url, key = explorer_url
    async with chromium() as browser:
        page, _ = await watched_page(browser, viewport={"width": 1280, "height": 900})
        await page.goto(url + "/", wait_until="load")
        await page.evaluate("k => sessionStorage.setItem('procurement-explorer.api-key', k)", key)
        await page.goto(url + "/?q=software&first=10", wait_until="load")
        await expect(rows(page)).to_have_count(10)
        await expect(page.locator("#facets h3").first).to_be_visible()
        # axe runs through the DevTools protocol, which the page's CSP does not govern.
        await page.evaluate(AXE.read_text(encoding="utf-8"))
        results = await page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        )
        # Keyboard: every control is reachable by Tab, and the skip link comes first.
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.textContent")
        await screenshot(page, "explorer-accessibility")
    violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]]
    assert violations == []
    assert results["passes"], "axe ran no check"
    assert focused == "Skip to the results"
