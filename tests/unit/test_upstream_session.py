"""The pooled session the upstream clients share (gateway.upstreams._http.open_session), on a loopback server."""

from __future__ import annotations

from aiohttp import web

from gateway.settings import Settings
from gateway.upstreams._http import open_session


async def test_a_cookie_an_upstream_sets_is_never_sent_back() -> None:
    seen: list[str | None] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie"))
        response = web.json_response({"ok": True})
        response.set_cookie("session", "caller-a")
        return response

    app = web.Application()
    app.router.add_get("/search", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    session = open_session(Settings())
    try:
        for _ in range(2):
            async with session.get(f"http://localhost:{port}/search") as response:  # a name: cookies are kept for one
                assert response.cookies["session"].value == "caller-a"
                await response.read()
    finally:
        await session.close()
        await runner.cleanup()
    assert seen == [None, None]
