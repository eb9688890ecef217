"""API keys, tiers and limits over HTTP (one process, memory limiter): who may call, what it costs, what is refused."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from graphql import parse

from gateway.app import create_app
from gateway.edge.schema import build_schema
from gateway.limits import keys
from gateway.limits.keys import ApiKeys, FileKeyStore
from tests.e2e.conftest import GatewayFactory, gateway_settings, graphql
from tests.e2e.processes import free_port
from tests.sandbox_harness import RunningSandbox

GRAPHQL_RESPONSE = "application/graphql-response+json"
# draft-ietf-httpapi-ratelimit-headers: Structured Field Lists of String items with integer parameters.
POLICY_ITEM = re.compile(r'^"(burst|minute|cost)";q=\d+;w=\d+(;pgw-qu="cost-points")?$')
LIMIT_ITEM = re.compile(r'^"(burst|minute|cost)";r=\d+;t=\d+$')
KNOWN_DOCUMENT = """{
  leads(first: 50) { totalCount }
  federal: contracts(filter: {sources: [SAM]}) { totalCount }
  canadian: contracts(filter: {sources: [CANADA]}) { totalCount }
  rateLimit { tier limit cost remaining resetAt requestsPerMinute }
}"""


def tiers(**limits: dict[str, int]) -> str:
    return json.dumps(limits)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys.json"


@pytest.fixture
async def api_keys(key_file: Path) -> AsyncIterator[ApiKeys]:
    keys = ApiKeys(FileKeyStore(key_file))
    yield keys
    await keys.aclose()


async def keyed_gateway(start_gateway: GatewayFactory, key_file: Path, **overrides: Any) -> httpx.AsyncClient:
    return await start_gateway(anonymous_tier_enabled=False, keys_file=str(key_file), **overrides)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body: dict[str, Any] = response.json()
    assert "data" not in body
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]
    return body


def assert_ratelimit_headers(response: httpx.Response) -> dict[str, dict[str, int]]:
    """Both headers parse as the draft's syntax and name the same policies; returns {policy: {q, w, r, t}}."""
    policies = [item.strip() for item in response.headers["RateLimit-Policy"].split(",")]
    limits = [item.strip() for item in response.headers["RateLimit"].split(",")]
    assert all(POLICY_ITEM.match(item) for item in policies), policies
    assert all(LIMIT_ITEM.match(item) for item in limits), limits
    parsed: dict[str, dict[str, int]] = {}
    for item in policies + limits:
        name, *parameters = item.split(";")
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if value.isdigit():
                parsed.setdefault(name.strip('"'), {})[key] = int(value)
    assert [item.split(";")[0] for item in policies] == [item.split(";")[0] for item in limits]
    return parsed


async def test_missing_unknown_and_revoked_keys_are_refused_with_401(
    start_gateway: GatewayFactory, key_file: Path, api_keys: ApiKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The gateway looks at its key file on every lookup, not once per keys.RECHECK_S: the revocation below (by
    # another store, as the keys CLI would) is seen by the next request (tests/unit/test_keys.py holds the interval).
    monkeypatch.setattr(keys, "RECHECK_S", 0.0)
    client = await keyed_gateway(start_gateway, key_file)
    issued = await api_keys.create(tier="free", owner="acme")
    unknown = issued.plaintext[:-4] + "AAAA"

    missing = await graphql(client, "{ __typename }")
    assert_error(missing, 401, "UNAUTHENTICATED")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "RateLimit" not in missing.headers
    for presented in (unknown, "pgw_000000000000_" + "x" * 40, "not-a-key"):
        refused = await graphql(client, "{ __typename }", Authorization=f"Bearer {presented}")
        body = assert_error(refused, 401, "UNAUTHENTICATED")
        assert presented not in json.dumps(body)
    assert (await graphql(client, "{ __typename }", **{"X-API-Key": issued.plaintext})).status_code == 200

    await api_keys.revoke(issued.record.key_id)
    revoked = await graphql(client, "{ __typename }", Authorization=f"Bearer {issued.plaintext}")
    assert issued.plaintext not in assert_error(revoked, 401, "UNAUTHENTICATED")["errors"][0]["message"]


async def test_a_presented_bad_key_is_refused_even_when_anonymous_calls_are_served(
    start_gateway: GatewayFactory,
) -> None:
    client = await start_gateway()  # anonymous tier on
    assert (await graphql(client, "{ __typename }")).status_code == 200
    assert_error(await graphql(client, "{ __typename }", Authorization="Bearer pgw_nope"), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer pgw_abc def"},
        {"Authorization": "Bearer pgw_\x01abc"},
        {"X-API-Key": ""},
        {"Authorization": "Bearer " + "k" * 1000},
        {"X-API-Key": "k" * 1000},
        {"Authorization": "Bearer pgw_one", "X-API-Key": "pgw_two"},
    ],
    ids=["empty-bearer", "space", "control-char", "empty-x-api-key", "long-bearer", "long-x-api-key", "two-keys"],
)
async def test_malformed_credentials_are_a_400_with_a_code(
    start_gateway: GatewayFactory, key_file: Path, headers: dict[str, str]
) -> None:
    client = await keyed_gateway(start_gateway, key_file)
    assert_error(await graphql(client, "{ __typename }", **headers), 400, "BAD_REQUEST")


async def test_other_schemes_duplicates_and_huge_headers_never_reach_a_500(
    start_gateway: GatewayFactory, key_file: Path
) -> None:
    client = await keyed_gateway(start_gateway, key_file)
    assert_error(await graphql(client, "{ __typename }", Authorization="Basic dXNlcjpwYXNz"), 401, "UNAUTHENTICATED")
    duplicated = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers=[("Accept", GRAPHQL_RESPONSE), ("X-API-Key", "pgw_a"), ("X-API-Key", "pgw_a")],
    )
    assert_error(duplicated, 400, "BAD_REQUEST")
    huge = await graphql(client, "{ __typename }", Authorization="Bearer " + "k" * 16_384)
    assert huge.status_code == 431
    assert huge.json()["errors"][0]["extensions"]["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    non_latin = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers=[(b"Accept", GRAPHQL_RESPONSE.encode()), (b"Authorization", "Bearer pgw_é".encode())],
    )
    assert_error(non_latin, 400, "BAD_REQUEST")


async def test_health_and_graphiql_need_no_key(start_gateway: GatewayFactory, key_file: Path) -> None:
    client = await keyed_gateway(start_gateway, key_file)
    assert (await client.get("/healthz")).status_code == 200
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert (await client.get("/graphiql/static/graphiql.min.css")).status_code == 200
    keyless_query = await client.get("/graphql", params={"query": "{ __typename }"}, headers={"Accept": "text/html"})
    assert_error(keyless_query, 401, "UNAUTHENTICATED")


async def test_every_response_to_a_key_carries_ratelimit_headers_then_429_with_retry_after(
    start_gateway: GatewayFactory, key_file: Path, api_keys: ApiKeys
) -> None:
    limits = {"requests_per_minute": 3, "burst": 3, "cost_per_hour": 1000, "max_query_cost": 100}
    client = await keyed_gateway(start_gateway, key_file, tiers=tiers(tiny=limits))
    issued = await api_keys.create(tier="tiny", owner="acme")
    auth = {"Authorization": f"Bearer {issued.plaintext}"}

    ok = await graphql(client, "{ sources { name } }", **auth)
    assert ok.status_code == 200
    assert assert_ratelimit_headers(ok) == {
        "minute": {"q": 3, "w": 60, "r": 2, "t": ok_t(ok, "minute")},
        "cost": {"q": 1000, "w": 3600, "r": 1000, "t": 3600},
    }
    bad_document = await graphql(client, "{ nope }", **auth)
    assert bad_document.status_code == 400
    assert assert_ratelimit_headers(bad_document)["minute"]["r"] == 1
    assert (await graphql(client, "{ __typename }", **auth)).status_code == 200

    refused = await graphql(client, "{ __typename }", **auth)
    body = assert_error(refused, 429, "RATE_LIMITED")
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert body["errors"][0]["extensions"]["retryAfter"] == retry_after
    assert assert_ratelimit_headers(refused)["minute"]["r"] == 0


def ok_t(response: httpx.Response, policy: str) -> int:
    """The `t` the server chose (seconds until quota comes back): checked for range, returned for comparison."""
    found = re.search(rf'"{policy}";r=\d+;t=(\d+)', response.headers["RateLimit"])
    assert found is not None
    seconds = int(found.group(1))
    assert 0 <= seconds <= 60
    return seconds


async def test_rate_limit_field_and_extensions_cost_report_what_the_estimator_says(
    start_gateway: GatewayFactory, key_file: Path, api_keys: ApiKeys
) -> None:
    limits = {"requests_per_minute": 100, "burst": 100, "cost_per_hour": 50, "max_query_cost": 20}
    client = await keyed_gateway(start_gateway, key_file, tiers=tiers(metered=limits))
    issued = await api_keys.create(tier="metered", owner="acme")
    expected_cost = build_schema().estimate_cost(parse(KNOWN_DOCUMENT))
    assert expected_cost == 5 + 2 + 2  # leads(first: 50): 5 pages of 10; each contracts list: 1 page of SAM + Canada

    before = datetime.now(UTC).replace(microsecond=0)
    response = await graphql(client, KNOWN_DOCUMENT, **{"X-API-Key": issued.plaintext})
    assert response.status_code == 200, response.text
    body = response.json()
    status = body["data"]["rateLimit"]
    reset_at = datetime.fromisoformat(status.pop("resetAt"))
    assert status == {"tier": "metered", "limit": 50, "cost": 9, "remaining": 41, "requestsPerMinute": 100}
    assert before + timedelta(minutes=59) <= reset_at <= before + timedelta(hours=1, seconds=2)
    cost = body["extensions"]["cost"]
    assert cost["requested"] == 9
    assert {k: v for k, v in cost["budget"].items() if k != "resetAt"} == {"limit": 50, "remaining": 41}
    assert datetime.fromisoformat(cost["budget"]["resetAt"]) == reset_at
    assert assert_ratelimit_headers(response)["cost"]["r"] == 41

    free = await graphql(client, "{ rateLimit { cost remaining } }", **{"X-API-Key": issued.plaintext})
    assert free.json()["data"]["rateLimit"] == {"cost": 0, "remaining": 41}


async def test_a_query_over_its_tiers_maximum_is_refused_before_any_upstream_call(
    start_gateway: GatewayFactory, key_file: Path, api_keys: ApiKeys, sandbox: RunningSandbox
) -> None:
    limits = {"requests_per_minute": 100, "burst": 100, "cost_per_hour": 1000, "max_query_cost": 7}
    client = await keyed_gateway(start_gateway, key_file, tiers=tiers(small=limits))
    issued = await api_keys.create(tier="small", owner="acme")
    document = (
        "{ a: leads(first: 50) { totalCount } b: contracts(filter: {sources: [SAM]}) { totalCount }"
        " c: tenders { totalCount } }"
    )

    refused = await graphql(client, document, Authorization=f"Bearer {issued.plaintext}")
    body = assert_error(refused, 400, "COST_ESTIMATED_TOO_EXPENSIVE")
    assert body["errors"][0]["extensions"] == {"code": "COST_ESTIMATED_TOO_EXPENSIVE", "cost": 8, "limit": 7}
    assert body["extensions"]["cost"]["requested"] == 8
    assert body["extensions"]["cost"]["budget"]["remaining"] == 1000  # nothing charged
    assert (await sandbox.stats())["hits"] == {}


async def test_a_spent_hourly_cost_budget_is_a_429_with_retry_after_and_no_upstream_call(
    start_gateway: GatewayFactory, key_file: Path, api_keys: ApiKeys, sandbox: RunningSandbox
) -> None:
    limits = {"requests_per_minute": 100, "burst": 100, "cost_per_hour": 10, "max_query_cost": 10}
    client = await keyed_gateway(start_gateway, key_file, tiers=tiers(small=limits))
    issued = await api_keys.create(tier="small", owner="acme")
    auth = {"Authorization": f"Bearer {issued.plaintext}"}

    first = await graphql(client, "{ leads(first: 60) { totalCount } }", **auth)
    assert first.status_code == 200, first.text
    hits_after_first = await sandbox.hits("ita.search")
    refused = await graphql(client, "{ leads(first: 50) { totalCount } }", **auth)
    body = assert_error(refused, 429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert body["errors"][0]["extensions"]["retryAfter"] == int(refused.headers["Retry-After"])
    assert body["extensions"]["cost"] == {
        "requested": 5,
        "budget": {"limit": 10, "remaining": 4, "resetAt": body["extensions"]["cost"]["budget"]["resetAt"]},
    }
    assert await sandbox.hits("ita.search") == hits_after_first
    assert (await graphql(client, "{ leads(first: 40) { totalCount } }", **auth)).status_code == 200


async def test_the_daily_sam_quota_lets_exactly_its_calls_through_then_refuses_until_midnight(
    start_gateway: GatewayFactory, sandbox: RunningSandbox
) -> None:
    client = await start_gateway(quotas={"sam": 10})
    outcomes = []
    for page in range(1, 14):  # distinct documents: no cache can answer one from another
        query = f'{{ contracts(first: 1, filter: {{sources: [SAM], keywords: "p{page}"}}) {{ totalCount }} }}'
        outcomes.append((await graphql(client, query)).json())
    assert await sandbox.hits("sam.search") == 10
    assert all("errors" not in outcome for outcome in outcomes[:10])
    for outcome in outcomes[10:]:
        error = outcome["errors"][0]
        assert error["extensions"]["code"] == "UPSTREAM_QUOTA_EXCEEDED"
        assert error["extensions"]["upstream"] == "sam"
        assert 1 <= error["extensions"]["retryAfter"] <= 86_400
    sources = (await graphql(client, "{ sources { name quotaRemaining } }")).json()["data"]["sources"]
    assert {source["name"]: source["quotaRemaining"] for source in sources} == {
        "ita": None,
        "canada": None,
        "sam": 0,
        "canadabuys": None,
        "samopps": None,  # a mirror upstream, not configured here
        "contractsfinder": None,
        "findatender": None,
    }


async def test_the_sam_quota_resets_at_utc_midnight(sandbox: RunningSandbox) -> None:
    now = [datetime(2025, 3, 1, 23, 59, 30, tzinfo=UTC)]
    app = create_app(gateway_settings(sandbox, quotas={"sam": 2}), quota_clock=lambda: now[0])
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway.test") as client,
    ):

        async def ask(page: int) -> dict[str, Any]:
            query = f'{{ contracts(first: 1, filter: {{sources: [SAM], keywords: "p{page}"}}) {{ totalCount }} }}'
            body: dict[str, Any] = (await graphql(client, query)).json()
            return body

        assert "errors" not in await ask(1)
        assert "errors" not in await ask(2)
        spent = (await ask(3))["errors"][0]["extensions"]
        assert (spent["code"], spent["retryAfter"]) == ("UPSTREAM_QUOTA_EXCEEDED", 30)
        now[0] += timedelta(seconds=31)
        assert "errors" not in await ask(4)
    assert await sandbox.hits("sam.search") == 3


async def test_an_upstream_429_pauses_calls_for_its_retry_after(
    start_gateway: GatewayFactory, sandbox: RunningSandbox
) -> None:
    client = await start_gateway()
    await sandbox.set_fault("sam", throttle_rate=1.0, retry_after_s=120)
    first = (await graphql(client, "{ contracts(first: 1, filter: {sources: [SAM]}) { totalCount } }")).json()
    await sandbox.clear_fault("sam")
    second = (await graphql(client, "{ contracts(first: 2, filter: {sources: [SAM]}) { totalCount } }")).json()
    assert first["errors"][0]["extensions"]["code"] == "UPSTREAM_QUOTA_EXCEEDED"
    assert second["errors"][0]["extensions"]["code"] == "UPSTREAM_QUOTA_EXCEEDED"
    assert 1 <= second["errors"][0]["extensions"]["retryAfter"] <= 120
    assert await sandbox.hits("sam.search") == 1


async def test_an_unreachable_key_store_is_a_503_with_a_code(start_gateway: GatewayFactory) -> None:
    client = await start_gateway(
        anonymous_tier_enabled=False, keys_store="redis", keys_redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    refused = await graphql(client, "{ __typename }", Authorization="Bearer pgw_0123456789ab_" + "s" * 43)
    assert_error(refused, 503, "KEY_STORE_UNAVAILABLE")
    assert refused.headers["Retry-After"] == "1"


CACHED_DOCUMENT = "{ contracts(first: 30, filter: {sources: [SAM]}) { edges { node { piid } } } }"


async def test_a_response_cache_hit_is_priced_like_an_execution(
    start_gateway: GatewayFactory, key_file: Path, api_keys: ApiKeys, sandbox: RunningSandbox
) -> None:
    gateway = await keyed_gateway(start_gateway, key_file)
    key = (await api_keys.create(tier="standard", owner="cache-price")).plaintext
    headers = {"Accept": GRAPHQL_RESPONSE, "X-API-Key": key}
    first = (await gateway.post("/graphql", json={"query": CACHED_DOCUMENT}, headers=headers)).json()
    second = (await gateway.post("/graphql", json={"query": CACHED_DOCUMENT}, headers=headers)).json()
    assert second["extensions"]["cache"]["response"]["status"] == "HIT"
    assert first["extensions"]["cost"]["requested"] == second["extensions"]["cost"]["requested"] == 6
    remaining = [body["extensions"]["cost"]["budget"]["remaining"] for body in (first, second)]
    assert remaining[0] - remaining[1] == 6
    assert await sandbox.hits("sam.search") == 1


async def rich_and_poor(
    start_gateway: GatewayFactory, key_file: Path, api_keys: ApiKeys
) -> tuple[httpx.AsyncClient, str, str]:
    """A gateway and two keys: one standard, one of a tier whose single-query maximum CACHED_DOCUMENT exceeds."""
    small = tiers(small={"requests_per_minute": 100, "burst": 100, "cost_per_hour": 1000, "max_query_cost": 2})
    gateway = await keyed_gateway(start_gateway, key_file, tiers=small)
    rich = (await api_keys.create(tier="standard", owner="rich")).plaintext
    poor = (await api_keys.create(tier="small", owner="poor")).plaintext
    return gateway, rich, poor


async def test_a_cached_answer_does_not_lift_a_tier_maximum(
    start_gateway: GatewayFactory, key_file: Path, api_keys: ApiKeys, sandbox: RunningSandbox
) -> None:
    gateway, rich, poor = await rich_and_poor(start_gateway, key_file, api_keys)
    warmed = await gateway.post("/graphql", json={"query": CACHED_DOCUMENT}, headers={"X-API-Key": rich})
    assert warmed.json()["data"]["contracts"]["edges"]
    refused = await gateway.post(
        "/graphql", json={"query": CACHED_DOCUMENT}, headers={"Accept": GRAPHQL_RESPONSE, "X-API-Key": poor}
    )
    assert_error(refused, 400, "COST_ESTIMATED_TOO_EXPENSIVE")
    assert await sandbox.hits("sam.search") == 1


async def test_one_callers_refusal_never_reaches_a_concurrent_caller(
    start_gateway: GatewayFactory, key_file: Path, api_keys: ApiKeys, sandbox: RunningSandbox
) -> None:
    gateway, rich, poor = await rich_and_poor(start_gateway, key_file, api_keys)
    await sandbox.set_fault("sam", latency_ms=300)

    async def ask(key: str) -> httpx.Response:
        return await gateway.post(
            "/graphql", json={"query": CACHED_DOCUMENT}, headers={"Accept": GRAPHQL_RESPONSE, "X-API-Key": key}
        )

    answers = await asyncio.gather(*(ask(key) for key in (poor, rich, poor, rich)))
    for answer, key in zip(answers, (poor, rich, poor, rich), strict=True):
        if key == poor:
            assert_error(answer, 400, "COST_ESTIMATED_TOO_EXPENSIVE")
        else:
            assert answer.status_code == 200
            assert answer.json()["data"]["contracts"]["edges"]
    assert await sandbox.hits("sam.search") == 1


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("{ leads(first: 101) { totalCount } }", None),
        ("query($n: Int) { leads(first: $n) { totalCount } }", {"n": 0}),
        ("query($n: Int!) { leads(first: $n) { totalCount } }", {"n": "ten"}),
        ("query($l: Language) { contracts(first: 5) { nodes { title(language: $l) } } }", {"l": None}),
    ],
)
async def test_inputs_refused_before_execution_are_bad_user_input_and_cost_nothing(  # noqa: PLR0917 - fixtures
    start_gateway: GatewayFactory,
    key_file: Path,
    api_keys: ApiKeys,
    sandbox: RunningSandbox,
    document: str,
    variables: dict[str, Any] | None,
) -> None:
    limits = {"requests_per_minute": 100, "burst": 100, "cost_per_hour": 100, "max_query_cost": 100}
    client = await keyed_gateway(start_gateway, key_file, tiers=tiers(metered=limits))
    issued = await api_keys.create(tier="metered", owner="acme")
    refused = await graphql(client, document, variables, Authorization=f"Bearer {issued.plaintext}")
    body = assert_error(refused, 400, "BAD_USER_INPUT")
    assert body["extensions"]["cost"]["requested"] == 0
    assert body["extensions"]["cost"]["budget"]["remaining"] == 100
    assert assert_ratelimit_headers(refused)["cost"]["r"] == 100
    assert (await sandbox.stats())["hits"] == {}


async def test_requests_over_the_queue_are_shed_before_the_limiter_and_those_shed_later_give_their_unit_back(
    start_gateway: GatewayFactory, key_file: Path, api_keys: ApiKeys, sandbox: RunningSandbox
) -> None:
    limits = {"requests_per_minute": 50, "burst": 50, "cost_per_hour": 1000, "max_query_cost": 100}
    client = await keyed_gateway(
        start_gateway,
        key_file,
        tiers=tiers(metered=limits),
        max_concurrent_executions=1,
        max_queued_requests=1,
        max_queue_wait_s=0.2,
    )
    auth = {"Authorization": f"Bearer {(await api_keys.create(tier='metered', owner='acme')).plaintext}"}
    await sandbox.set_fault("ita", latency_ms=800)  # the first request holds the only slot meanwhile

    async def ask(after_s: float, number: int) -> httpx.Response:
        await asyncio.sleep(after_s)
        return await graphql(client, f'{{ leads(filter: {{keywords: "k{number}"}}) {{ totalCount }} }}', **auth)

    executing, shed_waiting, shed_at_once = await asyncio.gather(ask(0, 1), ask(0.1, 2), ask(0.15, 3))
    assert executing.status_code == 200, executing.text
    for shed in (shed_waiting, shed_at_once):
        body = assert_error(shed, 503, "SERVER_OVERLOADED")
        assert shed.headers["Retry-After"] == "1"
        assert body["errors"][0]["extensions"]["retryAfter"] == 1
        assert_ratelimit_headers(shed)
    # Counted: the one that executed; not the one shed before the limiter, nor the one shed after it (given back).
    await sandbox.clear_fault("ita")
    after = await graphql(client, "{ __typename }", **auth)
    assert assert_ratelimit_headers(after)["minute"]["r"] == 50 - 2


async def test_ratelimit_headers_are_sent_while_the_limiter_decides_alone(
    start_gateway: GatewayFactory, key_file: Path, api_keys: ApiKeys
) -> None:
    limits = {"requests_per_minute": 10, "burst": 10, "cost_per_hour": 1000, "max_query_cost": 100}
    unreachable = f"redis://127.0.0.1:{free_port()}/0"  # the limiter decides on this replica's share
    client = await keyed_gateway(start_gateway, key_file, tiers=tiers(metered=limits), redis_url=unreachable)
    auth = {"Authorization": f"Bearer {(await api_keys.create(tier='metered', owner='acme')).plaintext}"}
    answers = [await graphql(client, "{ __typename }", **auth) for _ in range(6)]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    headers = [assert_ratelimit_headers(answer) for answer in answers]
    # The share of two replicas (GATEWAY_LIMITER_FALLBACK_REPLICAS) as the limit, counted here.
    assert [parsed["minute"]["q"] for parsed in headers] == [5] * 6
    assert [parsed["minute"]["r"] for parsed in headers] == [4, 3, 2, 1, 0, 0]
