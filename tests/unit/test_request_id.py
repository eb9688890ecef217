"""The request-id middleware: ids echoed or made, and each request's state its own."""

from __future__ import annotations

from typing import Any

from starlette.types import Message, Receive, Scope, Send

from gateway.edge.request_id import RequestIdMiddleware


async def _call(app: RequestIdMiddleware, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _scope(state: dict[str, Any], *headers: tuple[bytes, bytes]) -> Scope:
    return {"type": "http", "headers": list(headers), "state": state}


async def test_each_request_gets_its_own_state_even_when_the_server_shares_one() -> None:
    seen: list[dict[str, Any]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"]["caller"] = len(seen)
        seen.append(scope["state"])
        await send({"type": "http.response.start", "status": 200, "headers": []})

    app = RequestIdMiddleware(inner)
    shared: dict[str, Any] = {"lifespan": "value"}
    await _call(app, _scope(shared))
    await _call(app, _scope(shared))
    assert shared == {"lifespan": "value"}
    assert [state["caller"] for state in seen] == [0, 1]
    assert seen[0] is not seen[1]
    assert all(state["lifespan"] == "value" for state in seen)


async def test_a_well_formed_id_is_echoed_and_a_bad_one_replaced() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    app = RequestIdMiddleware(inner)
    good = await _call(app, _scope({}, (b"x-request-id", b"abc-123")))
    assert (b"x-request-id", b"abc-123") in good[0]["headers"]
    bad = await _call(app, _scope({}, (b"x-request-id", b"<script>\n")))
    echoed = dict(bad[0]["headers"])[b"x-request-id"]
    assert len(echoed) == 32
    assert echoed.isalnum()
