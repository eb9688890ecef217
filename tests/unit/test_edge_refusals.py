"""One writer for every coded HTTP refusal: the endpoint's responses and the middlewares' ASGI answers are the same
bytes, and every refusal the edge makes (access, request size, CSRF, protocol, persisted documents) goes through it."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Message

from gateway.edge import csrf
from gateway.edge.persisted import PersistedDocumentRefused
from gateway.edge.protocol import GRAPHQL_RESPONSE, JSON, parse_params, read_body, read_request
from gateway.edge.refusals import Refusal, Refused
from gateway.edge.request_size import RequestSizeMiddleware
from gateway.errors import RateLimited

REFUSAL = Refusal(429, "RATE_LIMITED", "slow down: é", {"Retry-After": "3"}, {"retryAfter": 3})


async def sent(refusal: Refusal, media_type: str, *, close_connection: bool = False) -> list[Message]:
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    await refusal.send(send, media_type, close_connection=close_connection)
    return messages


def test_the_body_is_graphql_shaped_with_the_code_first() -> None:
    assert REFUSAL.body() == {
        "errors": [{"message": "slow down: é", "extensions": {"code": "RATE_LIMITED", "retryAfter": 3}}]
    }
    assert Refusal.of(429, RateLimited("slow down: é", retryAfter=3), {"Retry-After": "3"}) == REFUSAL


async def test_a_response_and_an_asgi_answer_are_the_same_bytes() -> None:
    response = REFUSAL.response(GRAPHQL_RESPONSE)
    start, body = await sent(REFUSAL, GRAPHQL_RESPONSE)
    assert start["status"] == response.status_code == 429
    assert body["body"] == response.body == REFUSAL.encoded()
    assert json.loads(body["body"]) == REFUSAL.body()
    headers = dict(start["headers"])
    assert headers[b"content-type"] == response.headers["content-type"].encode() == GRAPHQL_RESPONSE.encode()
    assert headers[b"content-length"] == response.headers["content-length"].encode()
    assert headers[b"retry-after"] == b"3" == response.headers["retry-after"].encode()
    assert b"connection" not in headers
    closing, _ = await sent(REFUSAL, JSON, close_connection=True)
    assert dict(closing["headers"])[b"connection"] == b"close"


def test_protocol_and_persisted_document_refusals_are_refused_exceptions() -> None:
    with pytest.raises(Refused) as protocol:
        parse_params({"query": 3})
    assert protocol.value.refusal == Refusal(400, "BAD_REQUEST", "`query` must be a non-empty string")
    persisted = PersistedDocumentRefused(200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
    assert isinstance(persisted, Refused)
    assert persisted.refusal.body()["errors"][0] == {
        "message": "PersistedQueryNotFound",
        "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
    }


def test_csrf_refusal_is_a_coded_400() -> None:
    assert (csrf.REFUSAL.status, csrf.REFUSAL.code) == (400, "CSRF_PREVENTED")


async def test_the_request_size_middleware_answers_through_the_writer() -> None:
    inner = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"), methods=["POST"])])
    app = RequestSizeMiddleware(inner, max_body_bytes=10, max_header_bytes=10_000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge.test") as client:
        response = await client.post("/", content=b"x" * 11)
    expected = Refusal(413, "PAYLOAD_TOO_LARGE", "the request body is over 10 bytes")
    assert response.status_code == 413
    assert response.content == expected.encoded()
    assert response.headers["content-type"] == JSON
    assert response.headers["connection"] == "close"


def request_of(messages: list[Message], method: str = "POST", query_string: bytes = b"") -> Request:
    headers = [(b"content-type", b"application/json"), (b"x-requested-with", b"test")]
    received = iter(messages)

    async def receive() -> Message:
        return next(received)

    scope = {"type": "http", "method": method, "headers": headers, "path": "/graphql", "query_string": query_string}
    return Request(scope, receive)


async def test_a_body_is_read_whole_from_its_messages_and_kept_as_the_variables_source() -> None:
    chunks = [b'{"query": "query Q($n: Int) { a }", ', b'"variables": {"n": 1}}']
    messages: list[Message] = [
        {"type": "http.request", "body": chunks[0], "more_body": True},
        {"type": "http.request", "body": chunks[1], "more_body": False},
    ]
    assert await read_body(request_of(list(messages))) == b"".join(chunks)
    read = await read_request(request_of(list(messages)))
    assert (read.variables, read.variables_source) == ({"n": 1}, b"".join(chunks))
    with pytest.raises(ClientDisconnect):
        await read_body(request_of([messages[0], {"type": "http.disconnect"}]))


async def test_a_gets_variables_source_is_its_variables_parameter() -> None:
    with_variables = await read_request(request_of([], "GET", b"query=%7Ba%7D&variables=%7B%22n%22%3A1%7D"))
    assert (with_variables.variables, with_variables.variables_source) == ({"n": 1}, '{"n":1}')
    without = await read_request(request_of([], "GET", b"query=%7Ba%7D"))
    assert (without.variables, without.variables_source) == (None, "")
    assert parse_params({"query": "{ a }"}).variables_source is None  # not known
