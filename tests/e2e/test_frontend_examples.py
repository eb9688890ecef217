"""Frontend apps work out of the box: the Apollo Client and urql examples of docs/frontend.md run against a real
gateway process (paging by `edges`, `possibleTypes` for `Node`, waiting out a 429's Retry-After); the CORS preflight
of common clients passes; connection arguments take null; a persisted-query miss is never cached."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import IntValueNode
from graphql import build_schema as parse_sdl

from gateway.limits.keys import ApiKeys, FileKeyStore
from tests.e2e.conftest import GatewayFactory, graphql
from tests.e2e.processes import REPO_ROOT, gateway_environment, gateway_process, without_gateway_settings
from tests.sandbox_harness import RunningSandbox

FRONTEND = REPO_ROOT / "docs" / "examples" / "frontend"
SUBPROCESS_TIMEOUT_S = 60.0
# The tight tier admits one request a second: the second page is refused with 429 and Retry-After.
TIERS = {
    "tight": {"requests_per_minute": 60, "burst": 1, "cost_per_hour": 10_000, "max_query_cost": 100},
    "roomy": {"requests_per_minute": 1_000, "burst": 1_000, "cost_per_hour": 10_000, "max_query_cost": 100},
}
LOCAL_ORIGIN_REGEX = r"^https?://(localhost|127\.0\.0\.1)(:[0-9]+)?$"  # what `make demo` sets


def installed() -> None:
    if not (FRONTEND / "node_modules" / "@apollo" / "client").is_dir():
        pytest.fail(f"the frontend examples' packages are not installed: run `npm ci` in {FRONTEND} (make pytest does)")


async def run(args: list[str], env: dict[str, str], cwd: Path = REPO_ROOT) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), SUBPROCESS_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def create_key(keys_file: Path, tier: str) -> str:
    """A key of `tier` in the file key store the gateway process reads (as `python -m gateway keys create` makes)."""
    issued = await ApiKeys(FileKeyStore(keys_file)).create(tier=tier, owner="frontend-examples")
    return issued.plaintext


@pytest.mark.timeout(120)
async def test_the_apollo_and_urql_examples_run_against_a_real_gateway(sandbox: RunningSandbox, tmp_path: Path) -> None:
    installed()
    environment = gateway_environment(
        sandbox.base_url, keys_store="file", keys_file=str(tmp_path / "keys.json"), tiers=json.dumps(TIERS)
    )
    tight, roomy = await create_key(tmp_path / "keys.json", "tight"), await create_key(tmp_path / "keys.json", "roomy")
    with gateway_process(environment) as gateway:
        url = f"{gateway.base_url}/graphql"
        env = {**without_gateway_settings(), "PGW_API_KEY": tight}
        code, stdout, stderr = await run(["node", "apollo.mjs", url, "2"], env, FRONTEND)
        assert code == 0, stdout + stderr
        assert "rate limited (HTTP 429); retrying in" in stderr, stderr
        lines = stdout.splitlines()
        assert lines[0].startswith("page 1 (5 results of at most ")
        assert lines[1] == "page 2 (5 more, 10 in the cache)", stdout
        assert len([line for line in lines if line.startswith("  ")]) == 10
        assert lines[-1] == "cached as Node: true"

        env = {**without_gateway_settings(), "PGW_API_KEY": roomy}
        code, stdout, stderr = await run(["node", "urql.mjs", url, "3"], env, FRONTEND)
    assert code == 0, stdout + stderr
    assert [line.split(" (")[0] for line in stdout.splitlines() if line.startswith("page ")] == [
        "page 1",
        "page 2",
        "page 3",
    ]
    assert len([line for line in stdout.splitlines() if line.startswith("  ")]) == 15


PREFLIGHT = {
    "Origin": "http://localhost:5173",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type,authorization,apollographql-client-name,"
    "apollographql-client-version,traceparent,baggage,sentry-trace",
}


async def test_a_local_development_origin_passes_the_preflight_of_common_clients(
    start_gateway: GatewayFactory,
) -> None:
    gateway = await start_gateway(cors_allowed_origin_regex=LOCAL_ORIGIN_REGEX, cors_allowed_headers="x-tenant")
    response = await gateway.options("/graphql", headers=PREFLIGHT)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    allowed = {header.strip().lower() for header in response.headers["access-control-allow-headers"].split(",")}
    assert set(PREFLIGHT["Access-Control-Request-Headers"].split(",")) <= allowed
    extended = await gateway.options("/graphql", headers={**PREFLIGHT, "Access-Control-Request-Headers": "x-tenant"})
    assert extended.status_code == 200
    other = await gateway.options("/graphql", headers={**PREFLIGHT, "Origin": "https://elsewhere.example"})
    assert other.status_code == 400
    answered = await gateway.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Origin": "http://127.0.0.1:3000", "apollographql-client-name": "web"},
    )
    assert answered.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"
    assert "RateLimit" in answered.headers["access-control-expose-headers"]


def test_connection_arguments_are_nullable_with_their_default() -> None:
    schema = parse_sdl((REPO_ROOT / "schema" / "schema.graphql").read_text(encoding="utf-8"))
    query = schema.query_type
    assert query is not None
    for field in ("leads", "tenders", "contracts", "search"):
        first = query.fields[field].args["first"]
        assert str(first.type) == "Int", field
        assert first.ast_node is not None
        assert isinstance(first.ast_node.default_value, IntValueNode), field
        assert first.ast_node.default_value.value == "10", field


async def test_first_null_is_the_default_page(gateway: httpx.AsyncClient) -> None:
    body: dict[str, Any] = (await graphql(gateway, "{ leads(first: null) { edges { cursor } } }")).json()
    assert len(body["data"]["leads"]["edges"]) == 10


async def test_a_persisted_query_miss_is_never_cached(gateway: httpx.AsyncClient) -> None:
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": "a" * 64}})
    response = await gateway.get(
        "/graphql",
        params={"extensions": extensions},
        headers={"Accept": "application/graphql-response+json", "GraphQL-Require-Preflight": "1"},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert response.headers["cache-control"] == "no-store"


async def test_without_cors_a_preflight_says_which_setting_allows_an_origin(gateway: httpx.AsyncClient) -> None:
    response = await gateway.options("/graphql", headers=PREFLIGHT)
    assert response.status_code == 405
    assert "access-control-allow-origin" not in response.headers
    assert "GATEWAY_CORS_ALLOWED_ORIGINS" in response.json()["errors"][0]["message"]
