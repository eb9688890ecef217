"""Captures the upstream answers the scenarios need, once per run, from the sandbox, through our gateway.

Our gateway (caches off) is pointed at a recording forwarder in front of the sandbox, and each scenario's capture
query is sent once; the first answer per path is kept with the request it answered. So the captured requests are
exactly those our gateway makes for the scenarios' documents (page sizes, SAM sections), and the upstream server then
serves both gateways these bytes.

Canada cannot page: it answers up to 100 tenders per filter, which a composition of REST sources returns whole while
our gateway returns the first 10. The captured tender list is cut to `TENDER_ROWS` rows so that both gateways answer
the same items.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web

from bench import processes
from bench.compare import services
from bench.compare.scenarios import OURS_CACHES_OFF, Scenario
from bench.upstream_server import Answer

TENDERS_ROUTE = "tenders.json"
TENDER_ROWS = 10
REQUEST_TIMEOUT_S = 30.0
FORWARDED_HEADERS = ("Api-Key", "Accept")


class Recorder:
    """Forwards GETs to the sandbox and keeps the first successful answer per path."""

    def __init__(self, sandbox_url: str, session: aiohttp.ClientSession) -> None:
        self._sandbox_url = sandbox_url
        self._session = session
        self.answers: dict[str, Answer] = {}

    async def forward(self, request: web.Request) -> web.Response:
        target = request.rel_url.raw_path_qs.lstrip("/")
        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        async with self._session.get(self._sandbox_url + target, headers=headers) as answer:
            body = await answer.read()
            content_type = answer.headers.get("Content-Type", "application/json")
            status = answer.status
        route = target.partition("?")[0]
        if status == 200 and route not in self.answers:
            self.answers[route] = Answer(status, content_type, body, _without_key(target))
        return web.Response(body=body, status=status, headers={"Content-Type": content_type})


def _without_key(target: str) -> str:
    """The request as recorded: the SAM key (a query parameter) left out."""
    path, _, query = target.partition("?")
    kept = [part for part in query.split("&") if part and not part.startswith("api_key=")]
    return path + ("?" + "&".join(kept) if kept else "")


@asynccontextmanager
async def _recorder(sandbox_url: str) -> AsyncIterator[tuple[Recorder, str]]:
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        recorder = Recorder(sandbox_url, session)
        app = web.Application()
        app.router.add_get("/{tail:.*}", recorder.forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = processes.free_port()
        site = web.TCPSite(runner, processes.LOOPBACK, port)
        await site.start()
        try:
            yield recorder, f"http://{processes.LOOPBACK}:{port}/"
        finally:
            await runner.cleanup()


def cut_tenders(answer: Answer, rows: int = TENDER_ROWS) -> Answer:
    tenders = json.loads(answer.body)
    if not isinstance(tenders, list):
        return answer
    body = json.dumps(tenders[:rows], indent=2).encode()
    return Answer(answer.status, answer.content_type, body, answer.request)


async def capture(scenarios: Iterable[Scenario], *, keys_file: Path, key: str, log_dir: Path) -> dict[str, Answer]:
    """The answers for every scenario's capture query, asked by our gateway with `key` (issued into `keys_file`)."""
    async with processes.sandbox(log_dir) as sandbox, _recorder(sandbox.base_url) as (recorder, recorder_url):
        env = services.ours_env(recorder_url, keys_file, OURS_CACHES_OFF)
        async with (
            services.ours(env, "capture", services.Cores(None, None), log_dir) as gateway,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as client,
        ):
            for scenario in scenarios:
                if scenario.capture_body is None:
                    continue
                async with client.post(
                    gateway.base_url + "graphql",
                    data=scenario.capture_body.encode(),
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
                ) as response:
                    text = await response.text()
                if response.status != 200 or '"errors"' in text:
                    raise processes.ServiceFailed(
                        f"capture of {scenario.name!r}: our gateway answered HTTP {response.status}: {text[:2000]}\n"
                        f"{processes.log_tail(gateway.log_path)}"
                    )
    answers = dict(recorder.answers)
    if TENDERS_ROUTE in answers:
        answers[TENDERS_ROUTE] = cut_tenders(answers[TENDERS_ROUTE])
    return answers
