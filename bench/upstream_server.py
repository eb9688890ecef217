"""A near-zero-cost upstream: serves captured upstream answers from memory, by path, to any gateway.

`python -m bench.upstream_server --capture FILE [--host 127.0.0.1] [--port 8200]`

A raw asyncio protocol (uvloop when installed), keep-alive HTTP/1.1, no framework: each answer's bytes (status line,
headers, body) are built once at start, so serving one costs a dictionary look-up and a write. The query string is
ignored, so every request to a path gets that path's captured bytes (a bench varies its queries only to defeat
caches). Control paths, for the bench only:

- `GET /_bench/stats`: requests served per path, unknown paths, most requests in flight at once
- `GET /_bench/reset`: clears those counters
- `GET /_bench/latency/<ms>`: answers every later upstream request after that many milliseconds (0: at once)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

CONTROL_PREFIX = "_bench/"
MAX_HEAD_BYTES = 64 * 1024
MAX_LATENCY_MS = 10_000


@dataclass(frozen=True)
class Answer:
    """One captured upstream answer; `request` is the path and query it answered when captured (for the record)."""

    status: int
    content_type: str
    body: bytes
    request: str = ""


def save_capture(path: Path, answers: Mapping[str, Answer]) -> None:
    payload = {
        route: {
            "status": answer.status,
            "content_type": answer.content_type,
            "request": answer.request,
            "body_base64": base64.b64encode(answer.body).decode("ascii"),
        }
        for route, answer in answers.items()
    }
    path.write_text(json.dumps({"answers": payload}, indent=2) + "\n")


def load_capture(path: Path) -> dict[str, Answer]:
    answers = json.loads(path.read_text())["answers"]
    return {
        route: Answer(
            status=int(raw["status"]),
            content_type=str(raw["content_type"]),
            body=base64.b64decode(raw["body_base64"]),
            request=str(raw.get("request", "")),
        )
        for route, raw in answers.items()
    }


def route_of(target: str) -> str:
    """The path of a request target without its query and leading slashes: `/tenders.json?x=1` -> `tenders.json`."""
    return target.partition("?")[0].lstrip("/")


def _response(status: int, content_type: str, body: bytes, *, close: bool = False) -> bytes:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Status")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        + ("Connection: close\r\n" if close else "")
        + "\r\n"
    )
    return head.encode("ascii") + body


def _json_response(status: int, payload: object) -> bytes:
    return _response(status, "application/json", json.dumps(payload).encode())


class UpstreamServer:
    """The answers and the counters; one `_Connection` per client connection."""

    def __init__(self, answers: Mapping[str, Answer]) -> None:
        self._prebuilt = {
            route: _response(answer.status, answer.content_type, answer.body) for route, answer in answers.items()
        }
        self._not_found = _json_response(404, {"error": "no captured answer for this path"})
        self.latency_s = 0.0
        self.served: Counter[str] = Counter()
        self.unknown = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def answer(self, target: str) -> tuple[bytes, bool]:
        """The response bytes for a request target, and whether they are an upstream answer (False: control)."""
        route = route_of(target)
        if route.startswith(CONTROL_PREFIX):
            return self._control(route.removeprefix(CONTROL_PREFIX)), False
        found = self._prebuilt.get(route)
        if found is None:
            self.unknown += 1
            return self._not_found, True
        self.served[route] += 1
        return found, True

    def _control(self, command: str) -> bytes:
        if command == "stats":
            return _json_response(
                200, {"served": dict(self.served), "unknown": self.unknown, "max_in_flight": self.max_in_flight}
            )
        if command == "reset":
            self.served.clear()
            self.unknown = 0
            self.max_in_flight = self.in_flight
            return _json_response(200, {"reset": True})
        name, _, value = command.partition("/")
        if name == "latency" and value.isdigit() and int(value) <= MAX_LATENCY_MS:
            self.latency_s = int(value) / 1000
            return _json_response(200, {"latency_ms": int(value)})
        return _json_response(400, {"error": f"unknown control command {command!r}"})

    def connection(self) -> asyncio.Protocol:
        return _Connection(self)


class _Connection(asyncio.Protocol):
    """Reads request heads (and skips any body), writes prebuilt answers in order, keeps the connection open."""

    def __init__(self, server: UpstreamServer) -> None:
        self._server = server
        self._buffer = bytearray()
        self._skip = 0  # body bytes of the current request still to discard
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._transport is not None:
            if self._skip:
                dropped = min(self._skip, len(self._buffer))
                del self._buffer[:dropped]
                self._skip -= dropped
                if self._skip:
                    return
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    self._transport.close()
                return
            head = bytes(self._buffer[:end]).decode("latin-1")
            del self._buffer[: end + 4]
            self._handle(head)

    def _handle(self, head: str) -> None:
        request_line, *header_lines = head.split("\r\n")
        parts = request_line.split(" ")
        close = False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length" and value.strip().isdigit():
                self._skip = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if len(parts) != 3:
            self._write(_response(400, "text/plain", b"bad request line", close=True), close=True)
            return
        answer, upstream = self._server.answer(parts[1])
        latency_s = self._server.latency_s
        if upstream and latency_s > 0:
            server = self._server
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            asyncio.get_running_loop().call_later(latency_s, self._write_late, answer, close)
            return
        self._write(answer, close=close)

    def _write_late(self, answer: bytes, close: bool) -> None:
        self._server.in_flight -= 1
        self._write(answer, close=close)

    def _write(self, answer: bytes, *, close: bool) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        self._transport.write(answer)
        if close:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def serve(answers: Mapping[str, Answer], host: str, port: int) -> None:
    server = UpstreamServer(answers)
    listener = await asyncio.get_running_loop().create_server(server.connection, host, port, backlog=1024)
    print(f"upstream: {len(answers)} captured answers on http://{host}:{port}/", flush=True)
    async with listener:
        await listener.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream_server", description=__doc__)
    parser.add_argument("--capture", type=Path, required=True, help="captured answers (bench.upstream_server format)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    args = parser.parse_args(argv)
    answers = load_capture(args.capture)
    loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    try:
        import uvloop  # noqa: PLC0415 - optional: the stdlib loop when it is not installed

        loop_factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=loop_factory) as runner, contextlib.suppress(KeyboardInterrupt):
        runner.run(serve(answers, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
