"""The offline GraphiQL page: local assets only, pinned by SRI, served with a strict CSP."""

from __future__ import annotations

import base64
import hashlib
import os
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.edge.graphiql import (
    ASSET_DIR,
    ASSETS,
    STATIC_PATH,
    graphiql_assets_present,
    graphiql_response,
    graphiql_static_app,
)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: dict[str, list[str]] = {"script": [], "style": []}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in self.inline and not dict(attrs).get("src") else None

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.inline[self._open].append(data)


def _parse(body: bytes) -> _Page:
    page = _Page()
    page.feed(body.decode())
    return page


def _csp(response_headers: dict[str, str] | httpx.Headers) -> dict[str, list[str]]:
    directives = [part.split() for part in response_headers["content-security-policy"].split(";")]
    return {words[0]: words[1:] for words in directives if words}


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _asset_urls(page: _Page) -> list[str]:
    urls = [attrs["src"] for tag, attrs in page.tags if tag == "script" and attrs.get("src")]
    urls += [attrs["href"] for tag, attrs in page.tags if tag == "link" and attrs.get("rel") == "stylesheet"]
    return [url for url in urls if url is not None]


def _require_vendored() -> None:
    if graphiql_assets_present():
        return
    message = f"GraphiQL assets are not vendored in {ASSET_DIR} (run scripts/vendor_graphiql.sh)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def fake_assets(tmp_path: Path) -> Path:
    for asset in ASSETS:
        (tmp_path / asset.name).write_text(f"/* {asset.name} */\n")
    return tmp_path


def test_page_loads_only_local_assets_pinned_by_integrity(fake_assets: Path) -> None:
    response = graphiql_response("/graphql", directory=fake_assets)
    page = _parse(response.body)

    urls = _asset_urls(page)
    assert sorted(urls) == sorted(f"{STATIC_PATH}/{asset.name}" for asset in ASSETS)
    assert b"https://" not in response.body
    assert b"http://" not in response.body.replace(b'xmlns="http://www.w3.org', b"")
    for url in urls:
        [attrs] = [attrs for _, attrs in page.tags if url in (attrs.get("src"), attrs.get("href"))]
        assert (attrs.get("integrity") or "").startswith("sha384-"), attrs
    assert [attrs.get("data-endpoint") for tag, attrs in page.tags if attrs.get("id") == "graphiql"] == ["/graphql"]
    assert b"application/graphql-response+json, application/json" in response.body
    assert b"isHeadersEditorEnabled: true" in response.body


def test_page_security_headers(fake_assets: Path) -> None:
    response = graphiql_response(directory=fake_assets)

    assert response.status_code == 200
    assert response.media_type == "text/html"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    csp = _csp(response.headers)
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["base-uri"] == ["'none'"]
    for directive in ("script-src", "style-src", "style-src-elem"):
        assert csp[directive][0] == "'self'"
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "https:", "http:", "data:"} & set(csp[directive])


def test_every_inline_script_and_style_is_allowed_by_its_hash(fake_assets: Path) -> None:
    response = graphiql_response(directory=fake_assets)
    page = _parse(response.body)
    csp = _csp(response.headers)

    assert len(page.inline["script"]) == 1
    assert len(page.inline["style"]) == 1
    assert _sha256(page.inline["script"][0]) in csp["script-src"]
    assert _sha256(page.inline["style"][0]) in csp["style-src-elem"]
    assert not any(attrs.get("style") for _, attrs in page.tags)


def test_endpoint_path_is_escaped_and_must_stay_on_this_origin(fake_assets: Path) -> None:
    response = graphiql_response('/graphql?x="><script>alert(1)</script>', directory=fake_assets)
    page = _parse(response.body)
    assert len(page.inline["script"]) == 1
    assert b"<script>alert(1)" not in response.body

    for bad in ("https://elsewhere.invalid/graphql", "//elsewhere.invalid/graphql", "graphql"):
        with pytest.raises(ValueError, match="absolute path"):
            graphiql_response(bad, directory=fake_assets)


def test_missing_assets_give_a_503_that_says_how_to_vendor_them(tmp_path: Path) -> None:
    assert not graphiql_assets_present(tmp_path)
    response = graphiql_response(directory=tmp_path)

    assert response.status_code == 503
    assert b"scripts/vendor_graphiql.sh" in response.body
    assert b"<script" not in response.body
    assert response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_static_app_serves_assets_with_nosniff(fake_assets: Path) -> None:
    app = Starlette(routes=[Mount(STATIC_PATH, app=graphiql_static_app(fake_assets))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        for asset in ASSETS:
            response = await client.get(f"{STATIC_PATH}/{asset.name}")
            assert response.status_code == 200
            expected = "text/css" if asset.kind == "style" else "javascript"
            assert expected in response.headers["content-type"]
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["cache-control"] == "no-cache"
        assert (await client.get(f"{STATIC_PATH}/../graphiql.py")).status_code == 404
        assert (await client.get(f"{STATIC_PATH}/nope.js")).status_code == 404


async def test_static_app_answers_404_until_vendored(tmp_path: Path) -> None:
    app = Starlette(routes=[Mount(STATIC_PATH, app=graphiql_static_app(tmp_path / "absent"))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        assert (await client.get(f"{STATIC_PATH}/graphiql.min.js")).status_code == 404


def test_every_referenced_asset_is_vendored_and_matches_its_integrity() -> None:
    _require_vendored()
    page = _parse(graphiql_response().body)

    for url in _asset_urls(page):
        name = url.removeprefix(f"{STATIC_PATH}/")
        content = (ASSET_DIR / name).read_bytes()
        [integrity] = [attrs["integrity"] for _, attrs in page.tags if url in (attrs.get("src"), attrs.get("href"))]
        assert integrity == "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode(), name
