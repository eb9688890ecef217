"""Two real `python -m gateway` processes, one Redis, the sandbox: each counts in /metrics what it served, its JSON
access lines carry the request ids the sandbox's request log recorded for the upstream calls, and no log line holds
a key, a query variable or a contact."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.limits.keys import ApiKeys, redis_client
from gateway.settings import Settings
from tests.e2e.processes import (
    REPO_ROOT,
    free_port,
    gateway_environment,
    stop,
    wait_for_health,
    without_gateway_settings,
)
from tests.redis_harness import require_redis, unique_namespace
from tests.sandbox_harness import SANDBOX_API_KEYS, RunningSandbox

GRAPHQL_RESPONSE = "application/graphql-response+json"
OWNER = "observability-test@example.org"  # a contact: never in a log line
# One SAM call per request (a keyword no other request asks for: the shared cache cannot answer it).
QUERY = "query Awards($kw: String) { contracts(first: 1, filter: {sources: [SAM], keywords: $kw}) { totalCount } }"
REQUESTS_PER_REPLICA = (3, 2)


@dataclass(frozen=True)
class LoggedGateway:
    base_url: str
    log: Path  # the process's stdout and stderr

    def lines(self) -> list[str]:
        return [line for line in self.log.read_text(encoding="utf-8").splitlines() if line.strip()]

    def access_lines(self) -> list[dict[str, Any]]:
        records = [json.loads(line) for line in self.lines()]
        return [record for record in records if record.get("logger") == "gateway.access"]


@contextmanager
def logged_gateways(count: int, environment: Mapping[str, str], logs: Path) -> Iterator[list[LoggedGateway]]:
    """`count` gateways started at once, each writing its stdout and stderr to a file of `logs`."""
    with ExitStack() as stack:
        started: list[tuple[LoggedGateway, subprocess.Popen[bytes]]] = []
        for number in range(count):
            port = free_port()
            env = without_gateway_settings() | {**environment, "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port)}
            log = logs / f"gateway-{number}.log"
            with log.open("wb") as sink:
                process = subprocess.Popen(
                    [sys.executable, "-m", "gateway", "serve"], env=env, cwd=REPO_ROOT, stdout=sink, stderr=sink
                )
            stack.callback(stop, process)
            started.append((LoggedGateway(f"http://127.0.0.1:{port}", log), process))
        for gateway, process in started:
            wait_for_health(gateway.base_url + "/healthz", process, stderr=gateway.log)
        yield [gateway for gateway, _ in started]


@pytest.fixture
async def namespace() -> AsyncIterator[str]:
    url = require_redis()
    name = unique_namespace("observability")
    yield name
    client = redis_client(url, timeout_s=5, pool_size=2)
    doomed = [key async for key in client.scan_iter(match=f"{name}:*")]
    if doomed:
        await client.delete(doomed)
    client.connection_pool.disconnect()


def samples(exposition: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples named `name` (parsed by the client library's parser), by their sorted labels."""
    found = {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name
    }
    assert found, f"/metrics has no sample {name}"
    return found


@pytest.mark.timeout(90)
async def test_two_replicas_count_what_they_served_and_log_the_ids_their_upstream_saw(
    sandbox: RunningSandbox, namespace: str, tmp_path: Path
) -> None:
    shared = {"redis_url": require_redis(), "keys_store": "redis", "redis_namespace": namespace}
    keys = ApiKeys.from_settings(Settings(redis_url=require_redis(), keys_store="redis", redis_namespace=namespace))
    issued = await keys.create(tier="standard", owner=OWNER)
    await keys.aclose()
    environment = gateway_environment(sandbox.base_url, log_format="json", **shared)
    run = uuid.uuid4().hex[:8]
    variable_values = [f"secretword{run}n{n}" for n in range(sum(REQUESTS_PER_REPLICA))]
    sent: dict[int, list[str]] = {0: [], 1: []}
    with logged_gateways(2, environment, tmp_path) as replicas:
        async with httpx.AsyncClient(timeout=30) as client:
            values = iter(variable_values)
            for number, (replica, count) in enumerate(zip(replicas, REQUESTS_PER_REPLICA, strict=True)):
                for n in range(count):
                    request_id = f"obs-{run}-{number}-{n}"
                    answer = await client.post(
                        replica.base_url + "/graphql",
                        json={"query": QUERY, "variables": {"kw": next(values)}},
                        headers={
                            "Accept": GRAPHQL_RESPONSE,
                            "Authorization": f"Bearer {issued.plaintext}",
                            "X-Request-Id": request_id,
                        },
                    )
                    assert answer.status_code == 200, answer.text
                    assert "errors" not in answer.json(), answer.text
                    assert answer.headers["X-Request-Id"] == request_id
                    sent[number].append(request_id)
            keyless = await client.post(replicas[1].base_url + "/graphql", json={"query": QUERY})
            assert keyless.status_code == 401
            expositions = [(await client.get(replica.base_url + "/metrics")).text for replica in replicas]
    upstream_log = await sandbox.request_log()  # the processes have stopped: every line they wrote is in their logs

    # /metrics: each replica counts what it served, no more.
    for number, exposition in enumerate(expositions):
        served = REQUESTS_PER_REPLICA[number]
        requests = samples(exposition, "gateway_requests_total")
        assert requests[(("code", "none"), ("operation", "other"), ("status", "200"))] == served
        refused = (("code", "UNAUTHENTICATED"), ("operation", "other"), ("status", "401"))
        assert requests.get(refused, 0) == (1 if number == 1 else 0)
        calls = samples(exposition, "gateway_upstream_calls_total")
        assert calls[(("outcome", "ok"), ("upstream", "sam"))] == served
        refusals = samples(exposition, "gateway_refusals_total") if number == 1 else {}
        assert refusals.get((("reason", "unauthenticated"), ("tier", "none")), 0) == (1 if number == 1 else 0)
        durations = samples(exposition, "gateway_request_duration_seconds_count")
        assert durations[(("operation", "other"),)] == served + (1 if number == 1 else 0)

    # Access lines: one per request, carrying the id the sandbox saw on the upstream call.
    seen_upstream = Counter(entry["request_id"] for entry in upstream_log if entry["route"] == "sam.search")
    for number, replica in enumerate(replicas):
        lines = {line["request_id"]: line for line in replica.access_lines()}
        for request_id in sent[number]:
            line = lines[request_id]
            assert line["status"] == 200
            assert line["key_id"] == issued.record.key_id
            assert line["tier"] == "standard"
            assert line["operation"] == "Awards"
            assert line["upstream_calls"] == 1
            assert line["upstreams"] == ["sam:ok"]
            assert line["cost"] >= 1
            assert line["response_cache"] == "miss"
            assert seen_upstream[request_id] == 1
        assert not set(lines) & set(sent[1 - number])  # a replica logs only what it served

    # Every line of both processes is JSON, and none holds a secret, a variable or a contact.
    secret_part = issued.plaintext.removeprefix(issued.record.public_prefix)
    secrets = [issued.plaintext, secret_part, OWNER, *SANDBOX_API_KEYS.values()]
    for replica in replicas:
        for line in replica.lines():
            json.loads(line)
            for secret in [*secrets, *variable_values]:
                assert secret not in line
