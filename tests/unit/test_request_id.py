"""The request-id middleware: ids echoed or made, and each request's state its own."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from gateway.edge.request_id import RequestIdMiddleware
from gateway.request_record import RequestRecord, current_record


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


async def test_the_record_is_current_while_served_and_observed_once_answered() -> None:
    observed: list[RequestRecord] = []
    seen_inside: list[RequestRecord | None] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen_inside.append(current_record())
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = RequestIdMiddleware(inner, observers=[observed.append])
    await _call(app, {**_scope({}, (b"x-request-id", b"abc-1")), "method": "POST", "path": "/graphql"})
    await _call(app, {**_scope({}), "method": "GET", "path": "/healthz"})  # a probe: not observed
    (record,) = observed
    assert seen_inside[0] is record
    assert (record.request_id, record.method, record.path, record.status) == ("abc-1", "POST", "/graphql", 201)
    assert record.duration_s > 0
    assert current_record() is None


async def test_a_request_that_raises_is_observed_as_a_500_and_a_failing_observer_fails_nothing() -> None:
    observed: list[RequestRecord] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    def broken(record: RequestRecord) -> None:
        raise ValueError("observer bug")

    app = RequestIdMiddleware(inner, observers=[broken, observed.append])
    with pytest.raises(RuntimeError):
        await _call(app, {**_scope({}), "method": "POST", "path": "/graphql"})
    (record,) = observed
    assert (record.status, record.error_codes) == (500, ("INTERNAL_SERVER_ERROR",))
