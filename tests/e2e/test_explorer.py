"""The explorer page and GraphiQL's demo key over HTTP: what is served, with which headers, in which profile; the
settings that refuse a demo key in production; the README's example operations, which are GraphiQL's tabs."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from gateway.edge.graphiql import EXAMPLE_OPERATIONS
from gateway.settings import Settings, SettingsError
from tests.e2e.conftest import GatewayFactory, graphql
from tests.e2e.processes import REPO_ROOT

EXPLORER = REPO_ROOT / "gateway" / "static" / "explorer"


class Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.inline_styles = 0
        self.style_attributes = 0
        self.handlers: list[str] = []
        self.assets: list[str] = []
        self.ids: list[str] = []
        self.labelled: set[str] = set()
        self.controls: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        self._in = tag
        if tag == "script" and not given.get("src"):
            self.inline_scripts += 1
        if tag == "style":
            self.inline_styles += 1
        self.style_attributes += "style" in given
        self.handlers += [name for name in given if name.startswith("on")]
        self.assets += [value for name, value in attrs if name in {"src", "href"} and value]
        if given.get("id"):
            self.ids.append(str(given["id"]))
        if tag == "label" and given.get("for"):
            self.labelled.add(str(given["for"]))
        if tag in {"input", "select", "textarea"} and given.get("type") != "checkbox":
            self.controls.append(str(given.get("id")))


def markup(text: str) -> Markup:
    parsed = Markup()
    parsed.feed(text)
    return parsed


@pytest.mark.parametrize("profile", ["dev", "prod"])
async def test_the_explorer_is_served_at_the_root_in_both_profiles_under_a_strict_policy(
    start_gateway: GatewayFactory, profile: str
) -> None:
    gateway = await start_gateway(profile=profile)
    page = await gateway.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "unsafe" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    parsed = markup(page.text)
    assert (parsed.inline_scripts, parsed.inline_styles, parsed.style_attributes, parsed.handlers) == (0, 0, 0, [])
    assert all(asset.startswith(("/", "#", "data:")) for asset in parsed.assets), parsed.assets
    # GraphiQL is linked where it is served (dev); the page asks /graphql for everything else.
    assert ('data-graphiql="/graphql"' in page.text) is (profile == "dev")
    for asset in ("/explorer/static/explorer.js", "/explorer/static/explorer.css"):
        served = await gateway.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" in served.headers


def test_every_control_of_the_explorer_has_a_label() -> None:
    parsed = markup((EXPLORER / "index.html").read_text(encoding="utf-8"))
    assert parsed.controls
    assert set(parsed.controls) <= parsed.labelled
    assert len(parsed.ids) == len(set(parsed.ids))


async def test_the_explorer_can_be_turned_off(start_gateway: GatewayFactory) -> None:
    gateway = await start_gateway(explorer_enabled=False)
    assert (await gateway.get("/")).status_code == 404


async def test_graphiql_hands_the_demo_key_to_its_page_and_is_never_stored(start_gateway: GatewayFactory) -> None:
    gateway = await start_gateway(graphiql_demo_key="pgw_demo_key_123")
    page = await gateway.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert 'data-demo-key="pgw_demo_key_123"' in page.text
    assert page.headers["cache-control"] == "no-store"
    without = await (await start_gateway()).get("/graphql", headers={"Accept": "text/html"})
    assert 'data-demo-key=""' in without.text


def test_a_demo_key_is_refused_at_start_up_in_the_production_profile() -> None:
    with pytest.raises(SettingsError, match="GATEWAY_GRAPHIQL_DEMO_KEY is for the dev profile only"):
        Settings.from_env({"GATEWAY_PROFILE": "prod", "GATEWAY_GRAPHIQL_DEMO_KEY": "pgw_x"})
    assert Settings.from_env({"GATEWAY_PROFILE": "dev", "GATEWAY_GRAPHIQL_DEMO_KEY": "pgw_x"}).graphiql_demo_key
    with pytest.raises(SettingsError, match="GATEWAY_CORS_ALLOWED_ORIGIN_REGEX"):
        Settings.from_env({"GATEWAY_CORS_ALLOWED_ORIGIN_REGEX": "(unclosed"})
    with pytest.raises(SettingsError, match="GATEWAY_CORS_ALLOWED_HEADERS"):
        Settings.from_env({"GATEWAY_CORS_ALLOWED_HEADERS": "x-ok, not a header"})


def test_the_demo_script_hands_graphiql_the_demo_key_and_allows_local_origins() -> None:
    script = (REPO_ROOT / "scripts" / "demo.sh").read_text(encoding="utf-8")
    assert 'GATEWAY_GRAPHIQL_DEMO_KEY="$DEMO_KEY"' in script
    pattern = re.search(r'GATEWAY_CORS_ALLOWED_ORIGIN_REGEX="\$\{GATEWAY_CORS_ALLOWED_ORIGIN_REGEX:-(.*?)\}"', script)
    assert pattern is not None
    regex = re.compile(pattern.group(1).replace("\\$", "$"))
    assert regex.fullmatch("http://localhost:5173")
    assert regex.fullmatch("http://127.0.0.1:3000")
    assert not regex.fullmatch("http://localhost.evil.example")


def test_the_readme_shows_every_graphiql_tab_word_for_word() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```graphql\n(.*?)\n```$", readme, flags=re.MULTILINE | re.DOTALL)
    assert blocks == list(EXAMPLE_OPERATIONS)


@pytest.mark.parametrize("operation", EXAMPLE_OPERATIONS, ids=lambda text: text.split("query ")[1].split(" ")[0])
async def test_every_graphiql_tab_answers_data_without_errors(gateway: httpx.AsyncClient, operation: str) -> None:
    body = (await graphql(gateway, operation)).json()
    assert "errors" not in body, body["errors"]
    assert all(body["data"].values())


def test_no_screenshot_or_package_is_committed_beside_the_explorer() -> None:
    assert sorted(path.name for path in EXPLORER.iterdir()) == ["explorer.css", "explorer.js", "index.html"]
    ignored = (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/var/" in ignored  # var/test-artefacts: the browser tests' screenshots
    assert "node_modules/" in ignored
    assert Path(REPO_ROOT / "docs" / "examples" / "frontend" / "package-lock.json").is_file()
