"""EdgePipeline: one layer that answers every request as the four middlewares it replaces, composed as before
(RequestId, then CORS when configured, RequestSize, Access, Compression), answer it: the same messages, headers in
the same order, and the same records observed."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.access import AccessControl, AccessMiddleware
from gateway.edge.compression import Compression, CompressionMiddleware
from gateway.edge.pipeline import Cors, EdgePipeline
from gateway.edge.request_id import RequestIdMiddleware
from gateway.edge.request_size import RequestSizeLimits, RequestSizeMiddleware
from gateway.limits.keys import ApiKeys, FileKeyStore
from gateway.request_record import RequestRecord
from gateway.settings import Settings

MAX_BODY_BYTES = 2_000
MAX_HEADER_BYTES = 4_000
TIERS = json.dumps({"test": {"requests_per_minute": 1000, "burst": 100, "cost_per_hour": 1000, "max_query_cost": 10}})
CORS_OPTIONS: dict[str, Any] = {
    "allow_origins": ["https://app.example"],
    "allow_methods": ["GET", "POST"],
    "allow_headers": ["Content-Type", "Authorization"],
    "expose_headers": ["X-Request-Id", "RateLimit"],
}
COMPRESSION = Compression(("br", "gzip"), 64)


async def inner_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the body, then answers `size` bytes of JSON (a query parameter), or raises on /boom."""
    if scope["path"] == "/boom":
        raise RuntimeError("boom")
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    size = int(dict(part.split("=") for part in scope["query_string"].decode().split("&") if part).get("size", 10))
    body = json.dumps({"data": "x" * size}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Stacks:
    key: str
    piped: Callable[[Cors | None], tuple[ASGIApp, list[RequestRecord]]]
    composed: Callable[[Cors | None], tuple[ASGIApp, list[RequestRecord]]]


@pytest.fixture
async def stacks(tmp_path: Path) -> AsyncIterator[Stacks]:
    keys_file = tmp_path / "keys.json"
    issued = await ApiKeys(FileKeyStore(keys_file)).create(tier="test", owner="acme")
    settings = Settings(keys_file=str(keys_file), tiers=TIERS, anonymous_tier_enabled=False)
    async with AsyncExitStack() as stack:
        controls = [AccessControl(settings), AccessControl(settings)]  # one per stack: each counts its own calls
        for control in controls:
            await control.open(stack)

        def piped(cors: Cors | None) -> tuple[ASGIApp, list[RequestRecord]]:
            observed: list[RequestRecord] = []
            sizes = RequestSizeLimits(MAX_BODY_BYTES, MAX_HEADER_BYTES)
            app = EdgePipeline(
                inner_app,
                sizes=sizes,
                access=controls[0],
                compression=COMPRESSION,
                observers=[observed.append],
                cors=cors,
            )
            return app, observed

        def composed(cors: Cors | None) -> tuple[ASGIApp, list[RequestRecord]]:
            observed: list[RequestRecord] = []
            app: ASGIApp = CompressionMiddleware(inner_app, COMPRESSION)
            app = AccessMiddleware(app, controls[1])
            app = RequestSizeMiddleware(app, MAX_BODY_BYTES, MAX_HEADER_BYTES)
            if cors is not None:
                app = cors(app)
            return RequestIdMiddleware(app, observers=[observed.append]), observed

        yield Stacks(issued.plaintext, piped, composed)


def request(
    path: str,
    *,
    method: str = "POST",
    query: str = "",
    body: list[bytes] | None = None,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    content_length: bool = True,
) -> tuple[Scope, list[bytes]]:
    parts = [b'{"query":"{ __typename }"}'] if body is None else body
    sent_headers = [(b"x-request-id", b"fixed-id"), *headers]
    if content_length:
        sent_headers.append((b"content-length", str(sum(map(len, parts))).encode()))
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": sent_headers,
        "client": ("127.0.0.1", 1234),
        "state": {},
    }
    return scope, parts


async def run(app: ASGIApp, scope: Scope, parts: list[bytes]) -> tuple[list[Message], BaseException | None]:
    chunks = [{"type": "http.request", "body": part, "more_body": n < len(parts) - 1} for n, part in enumerate(parts)]
    sent: list[Message] = []

    async def receive() -> Message:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        await app({**scope, "headers": list(scope["headers"]), "state": dict(scope["state"])}, receive, send)
    except RuntimeError as exc:
        return sent, exc
    return sent, None


def comparable(messages: list[Message]) -> list[Message]:
    """The messages, with the seconds until a rate-limit window resets (the clock moves between runs) set aside."""
    out: list[Message] = []
    for message in messages:
        if "headers" in message:
            headers = [(name, re.sub(rb";t=\d+", b";t=_", value)) for name, value in message["headers"]]
            out.append({**message, "headers": headers})
        else:
            out.append(message)
    return out


def observed_fields(records: list[RequestRecord]) -> list[tuple[Any, ...]]:
    return [
        (record.request_id, record.method, record.path, record.status, record.key_id, record.tier, record.error_codes)
        for record in records
    ]


def cases(key: str) -> dict[str, tuple[Scope, list[bytes]]]:
    auth = (b"authorization", f"Bearer {key}".encode())
    origin = (b"origin", b"https://app.example")
    return {
        "keyed, small": request("/graphql", headers=(auth,)),
        "keyed, compressed": request("/graphql", query="size=3000", headers=(auth, (b"accept-encoding", b"gzip"))),
        "keyed, br preferred": request(
            "/graphql", query="size=500", headers=(auth, (b"accept-encoding", b"gzip;q=0.5, br"))
        ),
        "keyed, HEAD": request("/graphql", method="HEAD", query="size=500", headers=(auth,)),
        "keyed, CORS": request("/graphql", query="size=500", headers=(auth, origin, (b"accept-encoding", b"br"))),
        "keyed, streamed body within": request("/graphql", body=[b"{}", b" "], headers=(auth,), content_length=False),
        "keyed, streamed body over": request(
            "/graphql", body=[b"x" * 1500, b"x" * 1500], headers=(auth,), content_length=False
        ),
        "no key": request("/graphql", headers=((b"accept-encoding", b"gzip"),)),
        "unknown key": request("/graphql", headers=((b"authorization", b"Bearer pgw_000000000000_" + b"a" * 43),)),
        "malformed key": request("/graphql", headers=((b"x-api-key", b"a b"),)),
        "declared body over": request("/graphql", body=[b"x" * 3000], headers=(auth,)),
        "content-length not a number": request("/graphql", headers=((b"content-length", b"many"),)),
        "headers over": request("/graphql", headers=((b"x-filler", b"f" * 5000),)),
        "preflight": request(
            "/graphql",
            method="OPTIONS",
            headers=(origin, (b"access-control-request-method", b"POST")),
        ),
        "probe": request("/healthz", method="GET", query="size=2000", headers=((b"accept-encoding", b"gzip"),)),
        "other path, compressed": request("/other", query="size=2000", headers=((b"accept-encoding", b"br"),)),
        "raises": request("/boom"),
    }


@pytest.mark.parametrize("with_cors", [False, True])
async def test_every_request_is_answered_and_observed_as_by_the_middlewares_it_replaces(
    stacks: Stacks, with_cors: bool
) -> None:
    cors = partial(CORSMiddleware, **CORS_OPTIONS) if with_cors else None
    piped, piped_observed = stacks.piped(cors)
    composed, composed_observed = stacks.composed(cors)
    for name, (scope, parts) in cases(stacks.key).items():
        piped_sent, piped_error = await run(piped, scope, parts)
        composed_sent, composed_error = await run(composed, scope, parts)
        assert comparable(piped_sent) == comparable(composed_sent), name
        assert repr(piped_error) == repr(composed_error), name
    assert observed_fields(piped_observed) == observed_fields(composed_observed)


async def test_one_answer_carries_compression_the_rate_limit_and_the_request_id_in_that_order(stacks: Stacks) -> None:
    app, observed = stacks.piped(None)
    scope, parts = request(
        "/graphql", query="size=3000", headers=((b"x-api-key", stacks.key.encode()), (b"accept-encoding", b"gzip"))
    )
    (start, body), error = await run(app, scope, parts)
    assert error is None
    names = [name for name, _ in start["headers"]]
    assert names == [
        b"content-type",
        b"vary",
        b"content-encoding",
        b"content-length",
        b"ratelimit-policy",
        b"ratelimit",
        b"x-request-id",
    ]
    assert json.loads(zlib.decompress(body["body"], wbits=31)) == {"data": "x" * 3000}
    ((record),) = observed
    assert (record.status, record.tier) == (200, "test")


async def test_a_refusal_goes_out_uncompressed_with_the_request_id_and_no_rate_limit(stacks: Stacks) -> None:
    app, observed = stacks.piped(None)
    scope, parts = request("/graphql", body=[b"x" * 3000], headers=((b"accept-encoding", b"gzip"),))
    (start, body, end), _ = await run(app, scope, parts)
    headers = dict(start["headers"])
    assert (start["status"], headers[b"x-request-id"], headers[b"connection"]) == (413, b"fixed-id", b"close")
    assert b"content-encoding" not in headers
    assert b"ratelimit" not in headers
    assert json.loads(body["body"])["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert end == {"type": "http.response.body", "body": b""}
    assert observed[0].error_codes == ("PAYLOAD_TOO_LARGE",)


async def test_lifespan_and_other_scopes_pass_through(stacks: Stacks) -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    pipeline = EdgePipeline(
        app, sizes=RequestSizeLimits(1, 1), access=AccessControl(Settings()), compression=COMPRESSION
    )

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    await pipeline({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]
