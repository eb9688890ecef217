"""ITA Trade Leads v2 imitation (api.trade.gov, the v2-native era): search and get-by-id, versioned and not."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from aiohttp import web

from sandbox.control import CLOCK
from sandbox.ita_data import dataset_today
from sandbox.ita_leads import iso_timestamp
from sandbox.ita_search import LeadIndex, SearchError, index_for, parse_search, unknown_parameters
from sandbox.settings import SandboxSettings

UNAUTHORIZED = {"error": "Unauthorized - Please get a new key at https://api.trade.gov"}
NOT_FOUND = {"error": "Not Found"}


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, separators=(",", ":")), status=status, content_type="application/json")


class TradeLeads:
    def __init__(self, settings: SandboxSettings) -> None:
        self._settings = settings

    def index(self) -> LeadIndex:
        settings = self._settings
        return index_for(settings.seed, settings.scale, dataset_today(settings), settings.samples_dir)

    def _authorised(self, request: web.Request) -> bool:
        keys = request.query.getall("api_key", [])
        key = keys[-1] if keys else request.headers.get("Api-Key")
        return key is not None and key in self._settings.ita_keys

    async def search(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _json(UNAUTHORIZED, 401)
        unknown = unknown_parameters(request.query.keys())
        if unknown:
            return _json({"error": {"unknown_parameters": unknown}}, 400)
        # Rails keeps the last of repeated parameters.
        params = {name: request.query.getall(name)[-1] for name in request.query}
        try:
            query = parse_search(params)
        except SearchError as error:
            return _json(error.body, 400)
        index = self.index()
        found = index.search(query)
        body: dict[str, Any] = {
            "total": found.total,
            "offset": query.offset,
            "sources_used": [{"source": source, **index.metadata[source]._asdict()} for source in query.sources],
            "search_performed_at": iso_timestamp(request.app[CLOCK].now().astimezone(UTC)),
        }
        if found.aggregations:
            body["aggregations"] = found.aggregations
        body["results"] = [lead.to_json() for lead in found.leads]
        return _json(body)

    async def lead(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _json(UNAUTHORIZED, 401)
        found = self.index().lead(request.match_info["id"])
        if found is None:
            return _json(NOT_FOUND, 404)
        return _json(found.to_json())

    async def warm_up(self, app: web.Application) -> None:
        """Build (or fetch the memoised) dataset before the first request."""
        del app
        self.index()


def add_routes(app: web.Application, settings: SandboxSettings) -> None:
    trade_leads = TradeLeads(settings)
    app.on_startup.append(trade_leads.warm_up)
    for prefix, suffix in (("/v2", ""), ("", "_unversioned")):
        app.router.add_get(f"{prefix}/trade_leads/search", trade_leads.search, name=f"ita.search{suffix}")
        app.router.add_get(f"{prefix}/trade_leads/search.json", trade_leads.search, name=f"ita.search_json{suffix}")
    for prefix, suffix in (("/v2", ""), ("", "_unversioned")):
        app.router.add_get(f"{prefix}/trade_leads/{{id}}", trade_leads.lead, name=f"ita.lead{suffix}")
