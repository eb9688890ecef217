"""The edge under overload, over real gateway processes (two replicas) sharing a real Redis, the sandbox upstream.

- A burst of 2 x 500 concurrent heavy legal queries (~1,900 tokens, distinct documents) on a key whose tier allows
  100 requests a minute with a burst of 100: exactly 100 are answered with data, every other answer is a 429
  RATE_LIMITED or a 503 SERVER_OVERLOADED, and every answer carries the RateLimit headers. Before load shedding the
  replicas' own saturated loops timed the limiter's Redis calls out and 541-1,000 were admitted.
- Redis stopped in the middle of a burst: the replicas hold each their share of the limit, so the burst is admitted
  within replicas x share, with the RateLimit headers (of the share) still on every answer.
- With an upstream hanging, identical concurrent requests over both replicas all answer within their deadline (made
  once, when each arrived) and half a second, however they wait for one another's execution.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.limits.keys import ApiKeys, FileKeyStore
from gateway.redis import redis_client
from schema.limits import count_tokens
from tests.e2e.processes import GatewayProcess, gateway_environment, gateway_processes
from tests.redis_harness import PrivateRedis, private_redis, require_redis
from tests.sandbox_harness import RunningSandbox

GRAPHQL_RESPONSE = "application/graphql-response+json"
REPLICAS = 2
PER_REPLICA = 500
TIER = "burst100"
LIMIT = 100  # requests a minute, with a burst of as many
SHARE = LIMIT // REPLICAS  # each replica's while Redis is away
TIERS = json.dumps(
    {TIER: {"requests_per_minute": LIMIT, "burst": LIMIT, "cost_per_hour": 10_000_000, "max_query_cost": 1000}}
)
# Every admitted heavy query is served: on a busy 2-core machine the 100 admitted take longer than the default
# queue wait (GATEWAY_MAX_QUEUE_WAIT_S) to work through, and one shed after admission would give its unit back to
# no later caller (the burst is over by then). The rest of the burst is still refused at once (429, or 503 while the
# replica's queue is full).
PATIENT = {"max_queue_wait_s": "60", "request_deadline_s": "75"}
CONTRACT_FIELDS = (
    "__typename id source piid modificationNumber referencedIdvPiid "
    "buyer { __typename code subtier { code name } office { code name } name } "
    "supplier { __typename name uniqueEntityId cageCode } value { __typename amount currency } "
    "totalValue { __typename amount currency } awardDate expiryDate fiscalYear awardType { __typename code name } "
    "naics { __typename code name } productOrService { __typename code name } gsins setAside { code name } "
    "placeOfPerformance { __typename code name } lastModified title url"
)


def heavy_query(number: int) -> str:
    """A legal query of ~1,900 tokens (10 root fields, 10 aliases, depth 5, cost 20), its own document per `number`
    (no parse, validation or response cache helps), whose upstream answers are cached after the first."""
    roots = " ".join(
        f'q{number}r{root}: contracts(first: 10, filter: {{keywords: "overload"}}) {{ totalCount '
        f"pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} "
        f"edges {{ cursor node {{ {CONTRACT_FIELDS} }} }} nodes {{ {CONTRACT_FIELDS} }} }}"
        for root in range(10)
    )
    return "query Heavy { " + roots + " }"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]

    @property
    def code(self) -> str | None:
        errors = self.body.get("errors") or [{}]
        code = errors[0].get("extensions", {}).get("code")
        return code if isinstance(code, str) else None

    @property
    def with_data(self) -> bool:
        return self.status == 200 and self.body.get("data") is not None and "errors" not in self.body

    def policy_limit(self, policy: str) -> int:
        """The `q` of `policy` in RateLimit-Policy: the limit, or this replica's share of it while Redis is away."""
        for item in self.headers["ratelimit-policy"].split(","):
            name, *parameters = item.strip().split(";")
            if name == f'"{policy}"':
                return int(next(p for p in parameters if p.startswith("q="))[2:])
        raise AssertionError(f"no {policy} policy in {self.headers['ratelimit-policy']}")


async def burst(
    session: aiohttp.ClientSession, replicas: list[GatewayProcess], queries: list[str], key: str
) -> list[Answer]:
    """`queries` split evenly over `replicas`, all sent at once, one connection each."""
    headers = {"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE, "Authorization": f"Bearer {key}"}
    bodies = [json.dumps({"query": query}).encode() for query in queries]

    async def send(replica: GatewayProcess, body: bytes) -> Answer:
        async with session.post(f"{replica.base_url}/graphql", data=body, headers=headers) as response:
            received = {name.lower(): value for name, value in response.headers.items()}
            return Answer(response.status, received, json.loads(await response.read()))

    return list(await asyncio.gather(*(send(replicas[n % len(replicas)], body) for n, body in enumerate(bodies))))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as opened:
        yield opened


@pytest.fixture
async def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys.json"


async def issue_key(key_file: Path) -> str:
    keys = ApiKeys(FileKeyStore(key_file))
    try:
        return (await keys.create(tier=TIER, owner="overload-test")).plaintext
    finally:
        await keys.aclose()


@pytest.fixture
def server() -> Iterator[PrivateRedis]:
    with private_redis() as running:
        yield running


def replica_environment(sandbox: RunningSandbox, redis_url: str, key_file: Path, **settings: str) -> dict[str, str]:
    return gateway_environment(
        sandbox.base_url,
        quotas={"sam": 0},  # no daily quota: the burst is about the callers' limits
        redis_url=redis_url,
        keys_store="file",
        keys_file=str(key_file),
        tiers=TIERS,
        **settings,
    )


def assert_refused_with_codes(answers: list[Answer]) -> None:
    for answer in answers:
        assert "ratelimit" in answer.headers, answer
        assert "ratelimit-policy" in answer.headers, answer
        if answer.with_data:
            continue
        assert (answer.status, answer.code) in {(429, "RATE_LIMITED"), (503, "SERVER_OVERLOADED")}, answer
        assert int(answer.headers["retry-after"]) >= 1


def test_the_heavy_query_is_legal_and_about_1900_tokens() -> None:
    assert 1_850 <= count_tokens(heavy_query(PER_REPLICA * REPLICAS), 3_000) <= 2_000


@pytest.mark.timeout(180)
async def test_a_burst_of_heavy_queries_over_two_replicas_admits_exactly_the_limit(
    sandbox: RunningSandbox, session: aiohttp.ClientSession, key_file: Path
) -> None:
    redis_url = require_redis()
    namespace = f"test-overload-{uuid.uuid4().hex[:10]}"
    key = await issue_key(key_file)
    env = replica_environment(sandbox, redis_url, key_file, redis_namespace=namespace, **PATIENT)
    try:
        with gateway_processes(REPLICAS, env) as replicas:
            answers = await burst(session, replicas, [heavy_query(n) for n in range(REPLICAS * PER_REPLICA)], key)
    finally:
        client = redis_client(redis_url, timeout_s=2, pool_size=2)
        try:
            doomed = [name async for name in client.scan_iter(match=f"{namespace}:*", count=1000)]
            if doomed:
                await client.delete(doomed)
        finally:
            client.connection_pool.disconnect()
    outcomes = Counter((answer.status, answer.code) for answer in answers if not answer.with_data)
    assert sum(answer.with_data for answer in answers) == LIMIT, outcomes
    assert_refused_with_codes(answers)
    assert set(outcomes) <= {(429, "RATE_LIMITED"), (503, "SERVER_OVERLOADED")}


@pytest.mark.timeout(120)
async def test_redis_stopped_mid_burst_leaves_each_replica_its_share(
    sandbox: RunningSandbox, session: aiohttp.ClientSession, key_file: Path, server: PrivateRedis
) -> None:
    key = await issue_key(key_file)
    heartbeat_s = 1.0  # an entry lives 3 beats: a busy replica's stays counted
    env = replica_environment(sandbox, server.url, key_file, limiter_heartbeat_s=str(heartbeat_s))
    with gateway_processes(REPLICAS, env) as replicas:
        before = await burst(session, replicas, ["{ __typename }"] * (REPLICAS * 20), key)
        await asyncio.sleep(1.5 * heartbeat_s)  # the replica that started first has counted the second by now
        await asyncio.to_thread(server.stop)
        during = await burst(session, replicas, ["{ __typename }"] * (REPLICAS * (PER_REPLICA - 20)), key)
    assert all(answer.with_data and answer.policy_limit("minute") == LIMIT for answer in before)
    admitted = [answer for answer in before + during if answer.with_data]
    assert 20 * REPLICAS < len(admitted) <= REPLICAS * SHARE
    assert_refused_with_codes(during)
    # Decided by each replica alone: the headers give its share as the limit.
    assert {answer.policy_limit("minute") for answer in during} == {SHARE}


@pytest.mark.timeout(120)
async def test_identical_requests_waiting_on_a_hanging_upstream_answer_within_their_deadline(
    sandbox: RunningSandbox, session: aiohttp.ClientSession
) -> None:
    deadline_s = 2.0
    redis_url = require_redis()
    namespace = f"test-deadline-{uuid.uuid4().hex[:10]}"
    env = gateway_environment(
        sandbox.base_url,
        redis_url=redis_url,
        redis_namespace=namespace,  # one upstream cache for both replicas: they wait on one another's fetch
        anonymous_tier_enabled="true",
        tiers=json.dumps({"anonymous": {"requests_per_minute": 1_000, "burst": 1_000}}),
        request_deadline_s=str(deadline_s),
    )
    query = '{ contracts(first: 5, filter: {sources: [SAM], keywords: "hanging"}) { totalCount } }'
    body = json.dumps({"query": query}).encode()
    headers = {"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE}

    async def timed(replica: GatewayProcess, after_s: float) -> tuple[float, int, dict[str, Any]]:
        await asyncio.sleep(after_s)
        started = time.monotonic()
        async with session.post(f"{replica.base_url}/graphql", data=body, headers=headers) as response:
            answer = json.loads(await response.read())
            return time.monotonic() - started, response.status, answer

    try:
        with gateway_processes(REPLICAS, env) as replicas:
            await sandbox.set_fault("sam", hang=True)
            # Spread over a second: each arrives while others' executions (or their re-runs) are in flight.
            answers = await asyncio.gather(*(timed(replicas[n % REPLICAS], n * 0.025) for n in range(40)))
    finally:
        await sandbox.clear_fault("sam")
        client = redis_client(redis_url, timeout_s=2, pool_size=2)
        try:
            doomed = [name async for name in client.scan_iter(match=f"{namespace}:*", count=1000)]
            if doomed:
                await client.delete(doomed)
        finally:
            client.connection_pool.disconnect()
    slowest = max(elapsed for elapsed, _, _ in answers)
    assert slowest <= deadline_s + 0.5, sorted(round(elapsed, 2) for elapsed, _, _ in answers)
    codes = Counter((status, error["extensions"]["code"]) for _, status, body in answers for error in body["errors"])
    assert codes == {(200, "UPSTREAM_TIMEOUT"): 40}
