"""Response compression: negotiation, the middleware's choices, and cached answers compressed once (their head)."""

from __future__ import annotations

import gzip
import random
from collections.abc import AsyncIterator

import brotli
import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from gateway.edge.compression import KEPT_HEAD_STATE, Compression, CompressionMiddleware, KeptHead
from gateway.settings import Settings, SettingsError

BOTH = Compression(("br", "gzip"), min_bytes=100)
BIG_JSON = orjson.dumps({"data": {"items": [{"id": n, "title": f"item {n}"} for n in range(200)]}})


@pytest.mark.parametrize(
    ("accept_encoding", "chosen"),
    [
        ("gzip, deflate, br, zstd", "br"),  # a browser's: ours first on a tie
        ("gzip", "gzip"),
        ("br;q=0.5, gzip;q=0.8", "gzip"),  # the client's weights first
        ("GZIP;Q=1", "gzip"),
        ("*", "br"),
        ("*;q=0.1, br;q=0", "gzip"),  # br refused, the rest allowed
        ("gzip;q=0, br;q=0", None),
        ("identity", None),
        ("", None),
        ("deflate, zstd", None),
        ("gzip;q=nonsense, br", "br"),  # a malformed weight counts as 0
        (", ;, gzip ;q=0.3", "gzip"),
    ],
)
def test_the_coding_is_the_one_the_client_weighs_highest_and_ours_first_on_a_tie(
    accept_encoding: str, chosen: str | None
) -> None:
    assert BOTH.choose(accept_encoding) == chosen


def test_only_the_codings_offered_are_chosen() -> None:
    assert Compression(("gzip",), 0).choose("br, gzip;q=0.5") == "gzip"
    assert Compression((), 0).choose("gzip, br") is None


def test_a_remembered_choice_is_the_choice_of_the_offered_codings_and_long_values_are_chosen_too() -> None:
    assert BOTH.choose("br;q=0.5, gzip") == "gzip"
    assert Compression(("br",), 0).choose("br;q=0.5, gzip") == "br"  # same value, other codings offered
    assert BOTH.choose("br;q=0.5, gzip") == "gzip"
    long_value = ", ".join(f"x-coding-{n};q=0.9" for n in range(20)) + ", gzip;q=0.5, br;q=0.4"
    assert len(long_value) > 200
    assert BOTH.choose(long_value) == "gzip"
    assert Compression(("br",), 0).choose(long_value) == "br"


def test_the_settings_offer_br_and_gzip_above_1_kb_and_refuse_unknown_codings() -> None:
    assert Compression.from_settings(Settings()) == Compression(("br", "gzip"), 1024)
    assert Settings.from_env({"GATEWAY_COMPRESSION_ENCODINGS": " gzip , GZIP "}).compression_codings() == ("gzip",)
    assert not Compression.from_settings(Settings.from_env({"GATEWAY_COMPRESSION_ENCODINGS": ""})).enabled
    with pytest.raises(SettingsError, match="zstd not offered"):
        Settings.from_env({"GATEWAY_COMPRESSION_ENCODINGS": "zstd,gzip"})
    with pytest.raises(SettingsError, match="COMPRESSION_MIN_BYTES"):
        Settings.from_env({"GATEWAY_COMPRESSION_MIN_BYTES": "-1"})


def _decoded(coding: str, data: bytes) -> bytes:
    return brotli.decompress(data) if coding == "br" else gzip.decompress(data)


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_a_kept_head_compressed_once_plus_any_tail_decodes_to_the_whole_body(coding: str) -> None:
    rng = random.Random(7)
    for head_size, tail_size in [(0, 0), (1, 0), (9, 1), (5_000, 300), (70_000, 65_535), (3, 65_536), (200, 140_000)]:
        head = bytes(rng.getrandbits(7) for _ in range(head_size // 2)) + b'{"data":[1,2,3]' * (head_size // 30)
        tail = bytes(rng.getrandbits(8) for _ in range(tail_size))
        kept = KeptHead.of(head)
        body = head + tail
        assert _decoded(coding, kept.compress(body, coding) or b"") == body, (head_size, tail_size)
        assert kept.compressed[coding], "the head is kept compressed"
        other_tail = b',"extensions":{"cache":{"response":{"status":"HIT","ageSeconds":3.0}}}}'
        assert _decoded(coding, kept.compress(head + other_tail, coding) or b"") == head + other_tail


def test_a_kept_head_compresses_only_bodies_that_start_with_it() -> None:
    kept = KeptHead.of(b'{"data":{"a":1}')
    assert kept.compress(b'{"data":{"a":2}}', "gzip") is None
    assert kept.compress(b'{"data"', "gzip") is None
    assert kept.compressed == {}


def _app(*, compression: Compression = BOTH, kept: KeptHead | None = None) -> Starlette:
    async def json_body(request: Request) -> Response:
        if kept is not None:
            request.scope.setdefault("state", {})[KEPT_HEAD_STATE] = kept
        headers = {"ETag": '"abc"', "Vary": "Authorization"} if request.query_params.get("etag") else {}
        return Response(BIG_JSON, media_type="application/json", headers=headers)

    async def tiny(request: Request) -> Response:
        return Response(b'{"data":{}}', media_type="application/json")

    async def png(request: Request) -> Response:
        return Response(b"\x89PNG" + bytes(5000), media_type="image/png")

    async def encoded(request: Request) -> Response:
        return Response(gzip.compress(BIG_JSON), media_type="application/json", headers={"Content-Encoding": "gzip"})

    async def no_transform(request: Request) -> Response:
        return Response(BIG_JSON, media_type="application/json", headers={"Cache-Control": "no-transform"})

    async def not_modified(request: Request) -> Response:
        return Response(status_code=304, headers={"ETag": '"abc"'})

    async def streamed(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(BIG_JSON), 1000):
                yield BIG_JSON[start : start + 1000]

        return StreamingResponse(chunks(), media_type="text/css")

    routes = [
        Route("/json", json_body, methods=["GET", "HEAD"]),
        Route("/tiny", tiny),
        Route("/png", png),
        Route("/encoded", encoded),
        Route("/no-transform", no_transform),
        Route("/not-modified", not_modified),
        Route("/streamed", streamed),
    ]
    return Starlette(routes=routes, middleware=[Middleware(CompressionMiddleware, compression=compression)])


async def _get(app: Starlette, path: str, accept_encoding: str = "gzip, br", method: str = "GET") -> httpx.Response:
    """The response as sent (not decoded): httpx decodes on `.content`, so the raw stream is read."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        request = client.build_request(method, path, headers={"Accept-Encoding": accept_encoding})
        response = await client.send(request, stream=True)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        response._content = raw
        return response


async def test_a_json_answer_is_compressed_as_the_client_accepts_and_says_so() -> None:
    app = _app()
    for accept_encoding, coding in [("gzip, br", "br"), ("gzip", "gzip")]:
        response = await _get(app, "/json", accept_encoding)
        assert response.headers["content-encoding"] == coding
        assert response.headers["vary"] == "Accept-Encoding"
        assert int(response.headers["content-length"]) == len(response.content) < len(BIG_JSON) / 3
        assert _decoded(coding, response.content) == BIG_JSON
    plain = await _get(app, "/json", "identity")
    assert "content-encoding" not in plain.headers
    assert plain.content == BIG_JSON
    assert plain.headers["vary"] == "Accept-Encoding"  # another client's copy would be compressed


async def test_the_etag_of_a_compressed_answer_is_weak_and_vary_is_merged() -> None:
    response = await _get(_app(), "/json?etag=1", "gzip")
    assert response.headers["etag"] == 'W/"abc"'
    assert response.headers["vary"] == "Authorization, Accept-Encoding"


async def test_small_encoded_binary_no_transform_and_bodiless_answers_go_as_they_are() -> None:
    app = _app()
    tiny = await _get(app, "/tiny")
    assert "content-encoding" not in tiny.headers
    assert "vary" not in tiny.headers
    assert tiny.content == b'{"data":{}}'
    png = await _get(app, "/png")
    assert "content-encoding" not in png.headers
    assert png.content.startswith(b"\x89PNG")
    encoded = await _get(app, "/encoded", "br")
    assert encoded.headers["content-encoding"] == "gzip"
    assert gzip.decompress(encoded.content) == BIG_JSON
    assert "content-encoding" not in (await _get(app, "/no-transform")).headers
    not_modified = await _get(app, "/not-modified")
    assert not_modified.status_code == 304
    assert "content-encoding" not in not_modified.headers
    head = await _get(app, "/json", method="HEAD")
    assert "content-encoding" not in head.headers
    assert head.headers["content-length"] == str(len(BIG_JSON))
    off = await _get(_app(compression=Compression((), 0)), "/json")
    assert "content-encoding" not in off.headers
    assert off.content == BIG_JSON


@pytest.mark.parametrize("coding", ["gzip", "br"])
async def test_a_streamed_answer_is_compressed_as_it_streams(coding: str) -> None:
    response = await _get(_app(), "/streamed", coding)
    assert response.headers["content-encoding"] == coding
    assert "content-length" not in response.headers
    assert _decoded(coding, response.content) == BIG_JSON


@pytest.mark.parametrize("coding", ["gzip", "br"])
async def test_an_answer_carrying_its_kept_head_is_compressed_by_appending_its_tail(coding: str) -> None:
    head = BIG_JSON[:-1]
    kept = KeptHead.of(head)
    first = await _get(_app(kept=kept), "/json", coding)
    assert _decoded(coding, first.content) == BIG_JSON
    compressed_head = kept.compressed[coding]  # compressed on first use
    second = await _get(_app(kept=kept), "/json", coding)
    assert compressed_head in second.content  # the same compressed head, not compressed again
    # The tail ("}"), uncompressed in the stream's last block: a final stored deflate block, or a brotli
    # uncompressed meta-block of one byte followed by the last, empty, meta-block.
    tail_block = b"\x01\x01\x00\xfe\xff}" if coding == "gzip" else b"\x00\x00\x08}\x03"
    assert tail_block in second.content
    assert _decoded(coding, second.content) == BIG_JSON


async def test_a_body_sent_another_way_goes_with_its_start_as_it_is() -> None:
    """A server with the pathsend extension lets a file response send its path instead of a body."""
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/css")]}
    pathsend = {"type": "http.response.pathsend", "path": "/static/explorer.css"}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(dict(start))
        await send(pathsend)

    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": [(b"accept-encoding", b"gzip")]}
    await CompressionMiddleware(app, BOTH)(scope, _no_body, record)
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.pathsend"]
    assert sent[0]["headers"] == start["headers"]


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
