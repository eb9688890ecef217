"""wrk (Debian's package) as the load: one thread pinned to the load core, a Lua script for bodies and errors.

The script sends the scenario's body with every `MARKER` replaced by a number that grows by one per request from a given
start (so no two requests of a run share an upstream request or a response-cache key), counts answers carrying
GraphQL `errors`, stops after a maximum number of requests, and prints one JSON line with the figures.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.compare import services
from bench.compare.scenarios import MARKER

WRK = "wrk"
REQUEST_TIMEOUT_S = 10
MAX_REQUESTS_PER_RUN = 500_000
RESULT_PREFIX = "BENCH-JSON "

# args: start number, maximum requests, body template file, Authorization header value, Accept-Encoding (or "").
LUA = r"""
local number, limit, authorization
local parts = {} -- the template split at each marker
local answered = 0
local threads = {}
graphql_errors = 0 -- a global: done() reads it from each thread

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  number = tonumber(args[1])
  limit = tonumber(args[2])
  local file = assert(io.open(args[3], "rb"))
  local template = file:read("*a")
  file:close()
  local from = 1
  while true do
    local at = string.find(template, "%MARKER%", from, true)
    if not at then
      table.insert(parts, string.sub(template, from))
      break
    end
    table.insert(parts, string.sub(template, from, at - 1))
    from = at + string.len("%MARKER%")
  end
  authorization = args[4]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  wrk.headers["Authorization"] = authorization
  if args[5] ~= nil and args[5] ~= "" then
    wrk.headers["Accept-Encoding"] = args[5]
  end
  wrk.body = parts[1]
end

function request()
  if #parts == 1 then
    return wrk.format()
  end
  number = number + 1
  return wrk.format(nil, nil, nil, table.concat(parts, tostring(number)))
end

function response(status, headers, body)
  answered = answered + 1
  if status == 200 and string.find(body, '"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
  end
  if answered >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local found = 0
  for _, thread in ipairs(threads) do
    found = found + thread:get("graphql_errors")
  end
  io.write(string.format(
    "%RESULT_PREFIX%{\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"connect_errors\":%d,\"read_errors\":%d," ..
    "\"write_errors\":%d,\"status_errors\":%d,\"timeouts\":%d,\"graphql_errors\":%d,\"p50_us\":%d,\"p90_us\":%d," ..
    "\"p99_us\":%d,\"max_us\":%d,\"mean_us\":%.1f}\n",
    summary.requests, summary.duration, summary.bytes, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout, found,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
""".replace("%MARKER%", MARKER).replace("%RESULT_PREFIX%", RESULT_PREFIX)


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    requests_per_s: float
    errors: int  # connection, read, write, timeout, non-2xx/3xx status, and 200s carrying GraphQL errors
    error_kinds: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def available() -> bool:
    return shutil.which(WRK) is not None


def parse(output: str) -> WrkResult:
    line = next((line for line in output.splitlines() if line.startswith(RESULT_PREFIX)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result line:\n{output[-2000:]}")
    raw = json.loads(line.removeprefix(RESULT_PREFIX))
    kinds = {
        name: int(raw[name])
        for name in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts", "graphql_errors")
        if raw[name]
    }
    duration_s = raw["duration_us"] / 1e6
    requests = int(raw["requests"])
    return WrkResult(
        requests=requests,
        duration_s=round(duration_s, 3),
        requests_per_s=round(requests / duration_s, 1) if duration_s else 0.0,
        errors=sum(kinds.values()),
        error_kinds=kinds,
        p50_ms=round(raw["p50_us"] / 1000, 2),
        p90_ms=round(raw["p90_us"] / 1000, 2),
        p99_ms=round(raw["p99_us"] / 1000, 2),
        max_ms=round(raw["max_us"] / 1000, 2),
        mean_ms=round(raw["mean_us"] / 1000, 2),
    )


class Wrk:
    """Writes the script once; each call is one bounded wrk run against a URL."""

    def __init__(self, scratch: Path, core: int | None, authorization: str) -> None:
        self._scratch = scratch
        self._core = core
        self._authorization = authorization
        self._script = scratch / "bench.lua"
        self._script.write_text(LUA)
        self._templates: dict[str, Path] = {}

    def _template_file(self, template: str) -> Path:
        path = self._templates.get(template)
        if path is None:
            path = self._scratch / f"body-{len(self._templates)}.json"
            path.write_text(template)
            self._templates[template] = path
        return path

    async def run(
        self, url: str, template: str, *, concurrency: int, duration_s: int, start: int, accept_encoding: str = ""
    ) -> WrkResult:
        argv = services.pinned(
            [
                WRK,
                "-t1",
                f"-c{concurrency}",
                f"-d{duration_s}s",
                f"--timeout={REQUEST_TIMEOUT_S}s",
                "-s",
                str(self._script),
                url,
                "--",
                str(start),
                str(MAX_REQUESTS_PER_RUN),
                str(self._template_file(template)),
                self._authorization,
                accept_encoding,
            ],
            self._core,
        )
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), duration_s + REQUEST_TIMEOUT_S + 20)
        except TimeoutError:
            await services.stop(process)
            raise RuntimeError(f"wrk did not finish within {duration_s + REQUEST_TIMEOUT_S + 20} s") from None
        text = output.decode("utf-8", "replace")
        if process.returncode != 0:
            raise RuntimeError(f"wrk exited with {process.returncode}:\n{text[-2000:]}")
        return parse(text)
