"""Run the sandbox on 127.0.0.1 port 0 inside a test, and drive its control API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.app import create_app
from sandbox.settings import SandboxSettings

# The keys the sandbox accepts, by the name of the gateway credential they stand for (SAM's allows 1,000 calls a day).
SANDBOX_API_KEYS = {"ita": "ita-sandbox-key", "sam": "sam-sandbox-key"}


class RunningSandbox:
    def __init__(self, base_url: str, session: aiohttp.ClientSession, app: web.Application) -> None:
        self.base_url = base_url
        self.session = session
        self.app = app

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    async def set_fault(self, upstream: str, **plan: Any) -> None:
        async with self.session.put(self.url(f"_sandbox/faults/{upstream}"), json=plan) as response:
            assert response.status == 200, await response.text()

    async def clear_fault(self, upstream: str) -> None:
        async with self.session.delete(self.url(f"_sandbox/faults/{upstream}")) as response:
            assert response.status == 200

    async def stats(self) -> dict[str, Any]:
        async with self.session.get(self.url("_sandbox/stats")) as response:
            assert response.status == 200
            data: dict[str, Any] = await response.json()
            return data

    async def requests(self, route: str | None = None) -> list[dict[str, str]]:
        """Query parameters of the latest requests (to `route` when given), oldest first."""
        async with self.session.get(self.url("_sandbox/requests")) as response:
            assert response.status == 200
            entries: list[dict[str, Any]] = await response.json()
        return [entry["query"] for entry in entries if route is None or entry["route"] == route]

    async def request_log(self, request_id: str | None = None) -> list[dict[str, Any]]:
        """The upstream requests the sandbox served (path, route, the X-Request-Id each came with, status), oldest
        first; only those of `request_id` when given."""
        params = {"request_id": request_id} if request_id is not None else {}
        async with self.session.get(self.url("_sandbox/request-log"), params=params) as response:
            assert response.status == 200
            entries: list[dict[str, Any]] = await response.json()
        return entries

    async def hits(self, route: str) -> int:
        return int((await self.stats())["hits"].get(route, 0))

    async def reset(self) -> None:
        async with self.session.post(self.url("_sandbox/reset")) as response:
            assert response.status == 200

    async def set_clock(self, now: str | None) -> None:
        async with self.session.put(self.url("_sandbox/clock"), json={"now": now}) as response:
            assert response.status == 200, await response.text()


@asynccontextmanager
async def running_sandbox(settings: SandboxSettings | None = None) -> AsyncIterator[RunningSandbox]:
    app = create_app(settings or SandboxSettings())
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            yield RunningSandbox(f"http://127.0.0.1:{port}/", session, app)
    finally:
        await runner.cleanup()
