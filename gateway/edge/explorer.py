"""The explorer page at `/`: one search over every source for people who do not write GraphQL (both profiles).

Plain HTML, CSS and JavaScript served from `gateway/static/explorer/` (committed; no build step, nothing from a CDN).
The page calls `/graphql` like any client, with the caller's key from the tab's sessionStorage, so it needs no key to
load. Its policy allows scripts and styles from this origin only: no inline script, no inline style, no eval.
"""

from __future__ import annotations

import html
import os
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

ASSET_DIR: Final = Path(__file__).resolve().parent.parent / "static" / "explorer"
STATIC_PATH: Final = "/explorer/static"
PAGE: Final = "index.html"

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    # The page holds no secret (the key stays in the browser) but changes with the gateway: revalidate every time.
    "Cache-Control": "no-cache",
}


@lru_cache(maxsize=4)
def _page(endpoint_path: str, graphiql_path: str, directory: Path) -> str:
    text = (directory / PAGE).read_text(encoding="utf-8")
    attributes = f'data-endpoint="{html.escape(endpoint_path)}" data-graphiql="{html.escape(graphiql_path)}"'
    return text.replace('data-endpoint="/graphql" data-graphiql=""', attributes, 1)


def explorer_response(
    endpoint_path: str = "/graphql", *, graphiql_path: str = "", directory: Path = ASSET_DIR
) -> Response:
    """The page; `graphiql_path` (empty: none) is linked from it when GraphiQL is served."""
    for path in (endpoint_path, graphiql_path):
        if path and (not path.startswith("/") or path.startswith("//")):
            raise ValueError(f"expected an absolute path on this origin, got {path!r}")
    return HTMLResponse(_page(endpoint_path, graphiql_path, directory), headers=SECURITY_HEADERS)


def explorer_endpoint(*, graphiql: bool) -> Callable[[Request], Awaitable[Response]]:
    """The `/` handler: the page, linking GraphiQL when it is served (the dev profile)."""

    async def page(request: Request) -> Response:
        del request
        return explorer_response(graphiql_path="/graphql" if graphiql else "")

    return page


class _AssetFiles(StaticFiles):
    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(SECURITY_HEADERS)  # the page's own file too, should anyone open it there
        return response


def explorer_static_app(directory: Path = ASSET_DIR) -> StaticFiles:
    """The page's script and style sheet, to mount at STATIC_PATH."""
    return _AssetFiles(directory=directory)
