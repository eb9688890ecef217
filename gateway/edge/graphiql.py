"""GraphiQL 3.8.3 (with the explorer plugin) served by the gateway itself, so it works offline.

The page loads React, GraphiQL and the explorer from `/graphiql/static/...`, never from a CDN. The assets are not
committed: `scripts/vendor_graphiql.sh` (run by `make install`) fills `gateway/static/graphiql/`. Each asset is pinned
by Subresource Integrity, and the one inline script and the one inline style block are allowed by their hashes.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

ASSET_DIR: Final = Path(__file__).resolve().parent.parent / "static" / "graphiql"
STATIC_PATH: Final = "/graphiql/static"
ACCEPT: Final = "application/graphql-response+json, application/json"


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    kind: Literal["script", "style"]
    integrity: str


# In load order. The sha384 values are those of the published npm files (they equal the SRI strawberry pins).
ASSETS: Final = (
    Asset("graphiql.min.css", "style", "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM"),
    Asset("plugin-explorer.css", "style", "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi"),
    Asset(
        "react.production.min.js", "script", "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"
    ),
    Asset(
        "react-dom.production.min.js",
        "script",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
    ),
    Asset("graphiql.min.js", "script", "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"),
    Asset(
        "plugin-explorer.umd.js", "script", "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9"
    ),
)

_STYLE: Final = """
html, body { height: 100%; margin: 0; }
#graphiql { height: 100vh; display: flex; }
.graphiql-explorer-actions select { margin-left: 4px; }
.notice { font-family: system-ui, sans-serif; margin: 2rem; max-width: 48rem; }
"""

# The README's example operations, one GraphiQL tab each (the first is the default query); tests/e2e runs every one
# against the sandbox and checks that README.md shows each, word for word.
EXAMPLE_OPERATIONS: Final = (
    """# One search over every source: leads, tenders and contracts in one list, by relevance, with facets
query Search {
  search(keywords: "software", first: 5) {
    totalCount
    edges {
      upstream
      node {
        __typename
        ... on Lead { title country { code } publishDate }
        ... on Tender { title closingDate }
        ... on Contract { title awardDate value { amount currency } }
      }
    }
    facets { name values { value count } }
    pageInfo { hasNextPage endCursor }
  }
}""",
    """# Trade leads about equipment, newest first: CANADA, FBO, UK from ITA's live successors, the rest from ITA
query Leads {
  leads(first: 5, filter: {keywords: "equipment"}) {
    totalCount
    edges { node { title source country { code name } publishDate endDate minValue { amount currency } } }
    pageInfo { hasNextPage endCursor }
    skippedSources { source upstream reason criteria }
  }
}""",
    """# Open Canadian tenders for GSINs starting N76 or V2, delivered in Ontario or the NCR, titles in French
query Tenders {
  tenders(first: 5, filter: {gsins: ["N76", "V2"], deliveryRegions: ["ON", "NCR"]}) {
    edges { node { reference title(language: FR) buyer(language: FR) closingDate gsins } }
  }
}""",
    """# Contract awards from SAM and Canada at once, with SAM's award family of each PIID; plus each upstream's status
query Contracts {
  contracts(first: 5) {
    edges { node { source piid title supplier { name } value { amount currency } awardDate
                   awardFamily { count totalDollars { amount } } } }
  }
  sources { name reachable breakerState }
}""",
)

# Static text: the endpoint, the example tabs and the demo key come from the page's data attributes, so the CSP hash
# below never changes.
_BOOTSTRAP: Final = """
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var endpoint = root.dataset.endpoint;
  var accept = root.dataset.accept;
  var demoKey = root.dataset.demoKey || "";
  var examples = JSON.parse(root.dataset.examples || "[]");
  var keyHelp = [
    "# Put your API key in Headers below:",
    "#   {\\"Authorization\\": \\"Bearer <key>\\"}",
    "# or",
    "#   {\\"X-API-Key\\": \\"<key>\\"}",
    "# Headers stay in this browser tab only.",
    "#"
  ];
  var keyGiven = ["# The demo key is in Headers below (this tab only).", "#"];
  var intro = [
    "# Procurement gateway (dev profile). Examples: one tab each.",
    "#"
  ].concat(demoKey ? keyGiven : keyHelp).concat(["# Run: Ctrl-Enter. Complete: Ctrl-Space.", ""]).join("\\n");
  var headers = demoKey ? JSON.stringify({"Authorization": "Bearer " + demoKey}, null, 2) : "";
  var tabs = examples.map(function (query, index) {
    return {query: index === 0 ? intro + query : query, headers: headers};
  });

  // GraphiQL 3.8 may send the operation name of the tab run before (a tab it restored or never edited): when the
  // document defines no operation of that name, send none, and the gateway runs the document's only operation.
  function definesOperation(query, name) {
    return new RegExp("\\\\b(query|mutation|subscription)\\\\s+" + name + "\\\\b").test(query || "");
  }

  async function fetcher(params, options) {
    if (params.operationName && !definesOperation(params.query, params.operationName)) {
      params = Object.assign({}, params, {operationName: null});
    }
    var sent = new Headers({"Content-Type": "application/json", "Accept": accept});
    var extra = (options && options.headers) || {};
    Object.keys(extra).forEach(function (name) { sent.set(name, String(extra[name])); });
    var response = await fetch(endpoint, {method: "POST", headers: sent, body: JSON.stringify(params)});
    var text = await response.text();
    try {
      return JSON.parse(text);
    } catch (error) {
      return {errors: [{message: "HTTP " + response.status + ": " + text.slice(0, 1000)}]};
    }
  }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultQuery: tabs.length ? tabs[0].query : intro + "{\\n  __typename\\n}\\n",
      defaultHeaders: headers,
      defaultTabs: tabs.length ? tabs : undefined,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      // History and tabs keep headers (API keys) even with shouldPersistHeaders off: keep all of GraphiQL's state
      // in this tab's sessionStorage, never in localStorage, which outlives the tab and is shared by the origin.
      storage: window.sessionStorage,
      shouldPersistHeaders: true,
      inputValueDeprecation: true
    })
  );
})();
"""


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# react-remove-scroll-bar (in graphiql.min.js, run when a dialog opens) injects one <style> to lock the body's scroll.
# Its text depends only on the body's scrollbar width, which is always 0 on this page (#graphiql is exactly 100vh),
# so it is allowed by its hash; were it ever to differ, it would be blocked with no visible effect.
_SCROLL_LOCK_STYLE_HASH: Final = "'sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc='"
_STYLE_SOURCES: Final = f"'self' {_sha256_source(_STYLE)} {_SCROLL_LOCK_STYLE_HASH}"

# Nothing inline runs unless hashed: no 'unsafe-inline', no 'unsafe-eval', no style="" attributes in markup
# (React and CodeMirror set styles through the DOM, which CSP does not restrict). data: serves the fonts and images
# embedded in graphiql.min.css. tests/e2e/test_graphiql_browser.py fails on any violation in a real browser.
CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        f"script-src 'self' {_sha256_source(_BOOTSTRAP)}",
        f"style-src {_STYLE_SOURCES}",
        f"style-src-elem {_STYLE_SOURCES}",
        "font-src 'self' data:",
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
    "Cache-Control": "no-store",
}

_MISSING_PAGE: Final = f"""<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>GraphiQL assets missing</title><style>{_STYLE}</style></head>
  <body>
    <div class="notice">
      <h1>GraphiQL is not installed</h1>
      <p>The GraphiQL assets have not been vendored into <code>gateway/static/graphiql/</code>.
      Run <code>make install</code> (or <code>scripts/vendor_graphiql.sh</code>) and reload.</p>
    </div>
  </body>
</html>
"""


def graphiql_assets_present(directory: Path = ASSET_DIR) -> bool:
    """Whether every asset the page loads has been vendored (by scripts/vendor_graphiql.sh)."""
    return all((directory / asset.name).is_file() for asset in ASSETS)


def graphiql_response(
    endpoint_path: str = "/graphql",
    *,
    demo_key: str = "",
    static_path: str = STATIC_PATH,
    directory: Path = ASSET_DIR,
) -> HTMLResponse:
    """The GraphiQL page, or a 503 page saying how to vendor the assets when they are missing.

    `demo_key` (the dev profile's `GATEWAY_GRAPHIQL_DEMO_KEY`) is pre-filled in every tab's Headers; the page is never
    stored by a cache (`Cache-Control: no-store`)."""
    for path in (endpoint_path, static_path):
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError(f"expected an absolute path on this origin, got {path!r}")
    if not graphiql_assets_present(directory):
        return HTMLResponse(_MISSING_PAGE, status_code=503, headers=SECURITY_HEADERS)
    return HTMLResponse(_page(endpoint_path, static_path.rstrip("/"), demo_key), headers=SECURITY_HEADERS)


@lru_cache(maxsize=8)
def _page(endpoint_path: str, static_path: str, demo_key: str) -> str:
    styles = "\n".join(
        f'    <link rel="stylesheet" href="{html.escape(static_path)}/{asset.name}" integrity="{asset.integrity}">'
        for asset in ASSETS
        if asset.kind == "style"
    )
    scripts = "\n".join(
        f'    <script src="{html.escape(static_path)}/{asset.name}" integrity="{asset.integrity}"></script>'
        for asset in ASSETS
        if asset.kind == "script"
    )
    examples = html.escape(json.dumps(EXAMPLE_OPERATIONS))
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>GraphiQL: procurement gateway</title>
    <link rel="icon" href="data:,">
{styles}
    <style>{_STYLE}</style>
  </head>
  <body>
    <div id="graphiql" data-endpoint="{html.escape(endpoint_path)}" data-accept="{ACCEPT}"
         data-demo-key="{html.escape(demo_key)}" data-examples="{examples}">Loading GraphiQL...</div>
{scripts}
    <script>{_BOOTSTRAP}</script>
  </body>
</html>
"""


class _AssetFiles(StaticFiles):
    async def check_config(self) -> None:
        # Until the assets are vendored, answer 404 instead of StaticFiles' RuntimeError (an HTTP 500).
        with contextlib.suppress(RuntimeError):
            await super().check_config()

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Revalidate every time (StaticFiles answers If-None-Match with 304): file names carry no version.
        response.headers["Cache-Control"] = "no-cache"
        return response


def graphiql_static_app(directory: Path = ASSET_DIR) -> StaticFiles:
    """The vendored assets, to mount at STATIC_PATH; answers 404 until they are vendored."""
    return _AssetFiles(directory=directory, check_dir=False)
