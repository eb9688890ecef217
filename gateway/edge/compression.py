"""Response compression: br (Google's `brotli` bindings) or gzip (the stdlib's zlib), as the client's
`Accept-Encoding` allows (its q-values first, then the order of GATEWAY_COMPRESSION_ENCODINGS), for bodies of at
least GATEWAY_COMPRESSION_MIN_BYTES of a compressible type (JSON, HTML, CSS, JavaScript, SVG, plain text).

Never compressed: a body that already has a Content-Encoding, a smaller one, a HEAD answer, a 204/206/304, a
`Cache-Control: no-transform` answer. A compressible answer says `Vary: Accept-Encoding` whether or not this
client's copy was compressed; a compressed one's strong ETag becomes weak (`W/"..."`: the bytes differ from the
uncompressed answer's, the content does not). Streamed bodies (static files) are compressed as they stream.

Answers from the whole-response cache are not compressed again on every hit: the cache's kept part of the answer
(everything but the per-request `extensions`) is compressed once per coding (`KeptHead`) and each hit only appends
its own few bytes, uncompressed, in a final block of the same stream (a stored deflate block for gzip, an
uncompressed meta-block for br), which every decoder reads as one stream.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from functools import lru_cache

import brotli
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.settings import Settings

GZIP_LEVEL = 6  # zlib's default: the usual ratio for a few dozen microseconds per 4 KB answer
BROTLI_QUALITY = 4  # faster than gzip -6 and smaller on JSON; 11 (the library's default) is for static files
KEPT_HEAD_STATE = "kept_head"  # scope["state"] key: the KeptHead of the cached answer this response carries
COMPRESSIBLE_TYPES = frozenset(
    {
        "application/json",
        "application/graphql-response+json",
        "application/javascript",
        "application/xml",
        "image/svg+xml",
        "text/css",
        "text/html",
        "text/javascript",
        "text/plain",
        "text/xml",
    }
)
_UNCOMPRESSIBLE_STATUSES = frozenset({204, 206, 304})
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, no time, unknown OS
_STORED_BLOCK_MAX = 65_535
_BROTLI_UNCOMPRESSED_MAX = 65_536
_BROTLI_LAST_EMPTY = b"\x03"  # ISLAST=1, ISLASTEMPTY=1
_REMEMBERED_ACCEPT_CHARS = 200


@dataclass(frozen=True)
class Compression:
    """The codings offered (preferred first) and the smallest body compressed."""

    codings: tuple[str, ...]
    min_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Compression:
        return cls(settings.compression_codings(), settings.compression_min_bytes)

    @property
    def enabled(self) -> bool:
        return bool(self.codings)

    def choose(self, accept_encoding: str) -> str | None:
        """The coding to answer in: the offered one the client weighs highest (ties: ours first); None: identity."""
        if len(accept_encoding) > _REMEMBERED_ACCEPT_CHARS:
            return _choose(self.codings, accept_encoding)
        return _remembered_choice(self.codings, accept_encoding)

    def compress(self, body: bytes, coding: str) -> bytes:
        if coding == "br":
            compressed: bytes = brotli.compress(body, quality=BROTLI_QUALITY)
            return compressed
        return zlib.compress(body, GZIP_LEVEL, wbits=31)

    def streaming(self, coding: str) -> _StreamCompressor:
        return _StreamCompressor(coding)

    def sender(self, scope: Scope, send: Send) -> Send:
        """`send` for the answer to the HTTP request `scope`, compressing it as the client accepts (see the module
        docstring); `send` itself for a HEAD request or when no coding is offered."""
        if scope["method"] == "HEAD" or not self.codings:
            return send
        accept_encoding = b", ".join(value for name, value in scope["headers"] if name == b"accept-encoding")
        coding = self.choose(accept_encoding.decode("latin-1")) if accept_encoding else None
        return _Responder(self, coding, scope, send).send


def _choose(codings: tuple[str, ...], accept_encoding: str) -> str | None:
    weights = _accepted(accept_encoding)
    best: tuple[float, int] | None = None
    chosen = None
    for rank, coding in enumerate(codings):
        weight = weights.get(coding, weights.get("*", 0.0))
        if weight > 0 and (best is None or (weight, -rank) > best):
            best, chosen = (weight, -rank), coding
    return chosen


# Clients send a few Accept-Encoding values, each on every request: their choices are remembered (short values only).
_remembered_choice = lru_cache(maxsize=256)(_choose)


def _accepted(header: str) -> dict[str, float]:
    """Accept-Encoding as coding -> q (1 when not given; malformed q: 0)."""
    weights: dict[str, float] = {}
    for part in header.split(","):
        coding, _, parameters = part.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = min(1.0, max(0.0, float(value.strip())))
                except ValueError:
                    weight = 0.0
        weights[coding] = max(weight, weights.get(coding, 0.0))
    return weights


class _StreamCompressor:
    def __init__(self, coding: str) -> None:
        self._brotli = brotli.Compressor(quality=BROTLI_QUALITY) if coding == "br" else None
        self._zlib = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if coding != "br" else None

    def compress(self, chunk: bytes) -> bytes:
        if self._brotli is not None:
            out: bytes = self._brotli.process(chunk)
            return out
        assert self._zlib is not None
        return self._zlib.compress(chunk)

    def finish(self) -> bytes:
        if self._brotli is not None:
            out: bytes = self._brotli.finish()
            return out
        assert self._zlib is not None
        return self._zlib.flush()


@dataclass
class KeptHead:
    """The first `length` bytes of a kept answer's JSON (everything but its closing brace), which every response
    serving the answer starts with, and their CRC-32; compressed once per coding, on first use."""

    length: int
    crc32: int
    compressed: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, head: bytes) -> KeptHead:
        return cls(len(head), zlib.crc32(head))

    @property
    def size_bytes(self) -> int:
        return sum(len(compressed) for compressed in self.compressed.values())

    def compress(self, body: bytes, coding: str) -> bytes | None:
        """`body` in `coding`, its head compressed once: None when `body` does not start with this head."""
        if len(body) < self.length:
            return None
        view = memoryview(body)
        head_crc = zlib.crc32(view[: self.length])
        if head_crc != self.crc32:
            return None
        tail = view[self.length :]
        head = self.compressed.get(coding)
        if head is None:
            head = self.compressed[coding] = _compressed_head(view[: self.length], coding)
        if coding == "br":
            return head + _brotli_uncompressed_tail(tail)
        trailer = struct.pack("<II", zlib.crc32(tail, head_crc), len(body) & 0xFFFFFFFF)
        return _GZIP_HEADER + head + _deflate_stored_tail(tail) + trailer


def _compressed_head(head: memoryview, coding: str) -> bytes:
    """`head` compressed and flushed to a byte boundary, the stream left open for more blocks."""
    if coding == "br":
        compressor = brotli.Compressor(quality=BROTLI_QUALITY)
        flushed: bytes = compressor.process(bytes(head)) + compressor.flush()
        return flushed
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)  # raw deflate: the gzip framing is ours
    return deflate.compress(head) + deflate.flush(zlib.Z_SYNC_FLUSH)


def _deflate_stored_tail(tail: memoryview) -> bytes:
    """`tail` as stored (uncompressed) deflate blocks, the last one final."""
    blocks = [tail[start : start + _STORED_BLOCK_MAX] for start in range(0, len(tail), _STORED_BLOCK_MAX)] or [tail]
    out = bytearray()
    for index, block in enumerate(blocks):
        final = index == len(blocks) - 1
        out += bytes((1 if final else 0,)) + struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    return bytes(out)


def _brotli_uncompressed_tail(tail: memoryview) -> bytes:
    """`tail` as uncompressed brotli meta-blocks (MNIBBLES=4, ISUNCOMPRESSED=1), then the last, empty, meta-block."""
    out = bytearray()
    for start in range(0, len(tail), _BROTLI_UNCOMPRESSED_MAX):
        block = tail[start : start + _BROTLI_UNCOMPRESSED_MAX]
        out += (((len(block) - 1) << 3) | (1 << 19)).to_bytes(3, "little") + block
    return bytes(out + _BROTLI_LAST_EMPTY)


class CompressionMiddleware:
    """Pure ASGI middleware: compresses what the app answers (see the module docstring; `gateway.edge.pipeline`
    takes this step with `Compression.sender`)."""

    def __init__(self, app: ASGIApp, compression: Compression) -> None:
        self.app = app
        self.compression = compression

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, self.compression.sender(scope, send))


class _Responder:
    """One response on its way out: its start held until the first body part says whether to compress it."""

    def __init__(self, compression: Compression, coding: str | None, scope: Scope, send: Send) -> None:
        self._compression = compression
        self._coding = coding
        self._scope = scope
        self._send = send
        self._start: Message | None = None
        self._headers: _Headers | None = None  # the held start's
        self._streaming: _StreamCompressor | None = None
        self._passing = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if self._passing or kind not in ("http.response.start", "http.response.body"):
            held, self._start = self._start, None
            if held is not None:  # a body sent another way (http.response.pathsend): as it is
                self._passing = True
                await self._send(held)
            await self._send(message)
            return
        if kind == "http.response.start":
            start_headers = _Headers(message)
            if _compressible(message, start_headers):
                self._start, self._headers = message, start_headers
            else:
                self._passing = True
                await self._send(message)
            return
        if self._streaming is not None:
            await self._stream(message)
            return
        start, self._start = self._start, None
        headers = self._headers
        assert start is not None, "a response body before its start"
        assert headers is not None
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        declared = headers.get("content-length")
        size = len(body) if not more else (int(declared) if declared and declared.isdigit() else None)
        if size is not None and size < self._compression.min_bytes:
            self._passing = True
            await self._send(start)
            await self._send(message)
            return
        headers.add_vary("Accept-Encoding")
        if self._coding is None:
            self._passing = True
            await self._send(start)
            await self._send(message)
            return
        headers.set("content-encoding", self._coding)
        headers.weaken_etag()
        if more:
            headers.remove("content-length")
            self._streaming = self._compression.streaming(self._coding)
            await self._send(start)
            await self._stream(message)
            return
        compressed = self._compressed(body, self._coding)
        headers.set("content-length", str(len(compressed)))
        await self._send(start)
        await self._send({"type": "http.response.body", "body": compressed})

    def _compressed(self, body: bytes, coding: str) -> bytes:
        kept = self._scope.get("state", {}).get(KEPT_HEAD_STATE)
        if isinstance(kept, KeptHead):
            spliced = kept.compress(body, coding)
            if spliced is not None:
                return spliced
        return self._compression.compress(body, coding)

    async def _stream(self, message: Message) -> None:
        assert self._streaming is not None
        more = bool(message.get("more_body", False))
        out = self._streaming.compress(message.get("body", b""))
        if not more:
            out += self._streaming.finish()
        if out or not more:
            await self._send({"type": "http.response.body", "body": out, "more_body": more})


def _compressible(start: Message, headers: _Headers) -> bool:
    status = int(start["status"])
    if status < 200 or status in _UNCOMPRESSIBLE_STATUSES:
        return False
    if headers.get("content-encoding") or headers.get("content-range"):
        return False
    if "no-transform" in (headers.get("cache-control") or "").lower():
        return False
    media_type = (headers.get("content-type") or "").partition(";")[0].strip().lower()
    return media_type in COMPRESSIBLE_TYPES


class _Headers:
    """The raw headers of an `http.response.start` message, edited in place."""

    def __init__(self, start: Message) -> None:
        self._start = start
        self._raw: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        start["headers"] = self._raw
        self._first = {raw.lower(): value for raw, value in reversed(self._raw)}  # the first of each name

    def get(self, name: str) -> str | None:
        value = self._first.get(name.encode("latin-1"))
        return None if value is None else value.decode("latin-1")

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        key, encoded = name.encode("latin-1"), value.encode("latin-1")
        self._raw.append((key, encoded))
        self._first[key.lower()] = encoded

    def remove(self, name: str) -> None:
        key = name.encode("latin-1").lower()
        if key in self._first:
            del self._first[key]
            self._raw[:] = [(raw, value) for raw, value in self._raw if raw.lower() != key]

    def add_vary(self, header: str) -> None:
        current = self.get("vary")
        if current is None:
            self.set("vary", header)
            return
        listed = {part.strip().lower() for part in current.split(",")}
        if header.lower() not in listed and "*" not in listed:
            self.set("vary", f"{current}, {header}")

    def weaken_etag(self) -> None:
        etag = self.get("etag")
        if etag is not None and etag.startswith('"'):
            self.set("etag", "W/" + etag)
