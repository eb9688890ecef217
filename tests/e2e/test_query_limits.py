"""Each query limit at its edge: the limit passes, the limit + 1 is refused with its code and no upstream call."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.e2e.conftest import GatewayFactory, graphql
from tests.e2e.processes import gateway_environment, gateway_process
from tests.sandbox_harness import RunningSandbox

GRAPHQL_RESPONSE = "application/graphql-response+json"


def nested_introspection(depth: int) -> str:
    """An introspection query exactly `depth` fields deep (within graphql-core's own introspection list limit)."""
    path = ["__schema", "directives", "args", "type", "fields", "args", "type", "fields", "args", "type"]
    opened = path[: depth - 1]
    return "{ " + " { ".join(opened) + " { name" + " }" * len(opened) + " }"


def with_aliases(count: int) -> str:
    return "{ sources { " + " ".join(f"a{i}: name" for i in range(count)) + " } }"


def with_tokens(count: int) -> str:
    """`{ ...F0 ... __typename } fragment F0 on Query { __typename } ...`: 9 tokens a fragment, 1 a `__typename`.

    Fragments keep graphql-core's overlapping-fields check (quadratic in repeated fields) within its budget.
    """
    fragments, extra = divmod(count - 2, 9)
    spreads = " ".join(f"...F{i}" for i in range(fragments))
    definitions = " ".join(f"fragment F{i} on Query {{ __typename }}" for i in range(fragments))
    return "{ " + spreads + " __typename" * extra + " } " + definitions


def with_directives(count: int) -> str:
    return "{ " + " ".join("__typename @include(if: true)" for _ in range(count)) + " }"


def with_root_fields(count: int) -> str:
    return "{ __typename " + " ".join(f"s{i}: sources {{ name }}" for i in range(count - 1)) + " }"


@pytest.fixture
async def client(start_gateway: GatewayFactory) -> httpx.AsyncClient:
    return await start_gateway()


async def assert_refused(response: httpx.Response, code: str, sandbox: RunningSandbox) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" not in body
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]
    assert (await sandbox.stats())["hits"] == {}


async def assert_runs(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text


@pytest.mark.parametrize(
    ("build", "limit", "code"),
    [
        (nested_introspection, 10, "MAX_DEPTH_LIMIT"),
        (with_aliases, 15, "MAX_ALIASES_LIMIT"),
        (with_tokens, 2000, "MAX_TOKENS_LIMIT"),
        (with_directives, 50, "MAX_DIRECTIVES_LIMIT"),
        (with_root_fields, 10, "MAX_ROOT_FIELDS_LIMIT"),
    ],
    ids=["depth", "aliases", "tokens", "directives", "root-fields"],
)
async def test_default_limit_passes_and_one_more_is_refused(
    client: httpx.AsyncClient, sandbox: RunningSandbox, build: object, limit: int, code: str
) -> None:
    assert callable(build)
    await assert_runs(await graphql(client, build(limit)))
    await assert_refused(await graphql(client, build(limit + 1)), code, sandbox)


async def test_limits_are_settings(start_gateway: GatewayFactory, sandbox: RunningSandbox) -> None:
    client = await start_gateway(max_depth=3, max_aliases=2, max_tokens=50, max_directives=1, max_root_fields=2)
    await assert_runs(await graphql(client, nested_introspection(3)))
    await assert_refused(await graphql(client, nested_introspection(4)), "MAX_DEPTH_LIMIT", sandbox)
    await assert_runs(await graphql(client, with_aliases(2)))
    await assert_refused(await graphql(client, with_aliases(3)), "MAX_ALIASES_LIMIT", sandbox)
    await assert_runs(await graphql(client, with_tokens(50)))
    await assert_refused(await graphql(client, with_tokens(51)), "MAX_TOKENS_LIMIT", sandbox)
    await assert_runs(await graphql(client, with_directives(1)))
    await assert_refused(await graphql(client, with_directives(2)), "MAX_DIRECTIVES_LIMIT", sandbox)
    await assert_runs(await graphql(client, with_root_fields(2)))
    await assert_refused(await graphql(client, with_root_fields(3)), "MAX_ROOT_FIELDS_LIMIT", sandbox)


async def test_limits_count_through_fragments(start_gateway: GatewayFactory, sandbox: RunningSandbox) -> None:
    client = await start_gateway(max_depth=3, max_aliases=2)
    deep = "{ ...A } fragment A on Query { __schema { ...B } } fragment B on __Schema { types { fields { name } } }"
    await assert_refused(await graphql(client, deep), "MAX_DEPTH_LIMIT", sandbox)
    aliased = "{ sources { ...F ...F } } fragment F on SourceStatus { a: name b: name }"
    await assert_refused(await graphql(client, aliased), "MAX_ALIASES_LIMIT", sandbox)


async def test_graphiql_introspection_query_fits_the_default_limits(client: httpx.AsyncClient) -> None:
    from graphql import get_introspection_query

    await assert_runs(await graphql(client, get_introspection_query(descriptions=True)))


# Cost: a list field with `first` costs its calls x ceil(first / 10) (`contracts` asks SAM and Canada: 2 calls);
# a field under it costs once per result.
CHEAP = "{ contracts(first: 100) { edges { node { piid } } } leads(first: 10) { totalCount } }"  # 20 + 1
EXPENSIVE = "{ contracts(first: 100) { edges { node { piid } } } leads(first: 11) { totalCount } }"  # 20 + 2


async def test_cost_limit_at_its_edge(start_gateway: GatewayFactory, sandbox: RunningSandbox) -> None:
    client = await start_gateway(max_query_cost=21)
    refused = await graphql(client, EXPENSIVE)
    await assert_refused(refused, "COST_ESTIMATED_TOO_EXPENSIVE", sandbox)
    assert refused.json()["errors"][0]["extensions"] == {
        "code": "COST_ESTIMATED_TOO_EXPENSIVE",
        "cost": 22,
        "limit": 21,
    }
    response = await graphql(client, CHEAP)
    assert response.status_code == 200
    assert response.json()["data"]["contracts"] is not None


async def test_cost_uses_the_variables(start_gateway: GatewayFactory, sandbox: RunningSandbox) -> None:
    client = await start_gateway(max_query_cost=100)
    query = "query($n: Int = 10) { contracts(first: $n) { edges { node { awardFamily { count } } } } }"
    await assert_refused(await graphql(client, query, {"n": 100}), "COST_ESTIMATED_TOO_EXPENSIVE", sandbox)
    response = await graphql(client, query, {"n": 5})  # 2 + 5
    assert response.status_code == 200
    assert "data" in response.json()


def doubling(levels: int, on: str, leaf: str) -> str:
    """Fragments D0..D{levels} on `on`, each spreading the previous one twice: D{levels} expands to 2^levels leaves."""
    spreads = (f"fragment D{i} on {on} {{ ...D{i - 1} ...D{i - 1} }}" for i in range(1, levels + 1))
    return " ".join((f"fragment D0 on {on} {{ {leaf} }}", *spreads))


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("query", "code", "actual"),
    [
        (
            "{ contracts(first: 50) { nodes { ...D30 } } } " + doubling(30, "Contract", "awardFamily { count }"),
            "COST_ESTIMATED_TOO_EXPENSIVE",
            {"cost": 2 * 5 + 50 * 2**30},
        ),
        ("{ ...D30 } " + doubling(30, "Query", "a: sources { name }"), "MAX_ALIASES_LIMIT", {"actual": 2**30}),
    ],
    ids=["cost", "aliases"],
)
async def test_fragments_spread_twice_per_level_are_refused_in_linear_time(
    client: httpx.AsyncClient, sandbox: RunningSandbox, query: str, code: str, actual: dict[str, int]
) -> None:
    """About 260 tokens that expand to 2^30 fields: measured once per fragment, refused before any upstream call."""
    response = await graphql(client, query)
    await assert_refused(response, code, sandbox)
    assert actual.items() <= response.json()["errors"][0]["extensions"].items()


@pytest.fixture
async def body_client(start_gateway: GatewayFactory) -> httpx.AsyncClient:
    return await start_gateway(max_body_bytes=1000)


def padded_body(size: int) -> bytes:
    body = b'{"query": "{ __typename }"}'
    return body[:-1] + b" " * (size - len(body)) + b"}"


async def test_body_at_the_limit_runs_and_one_byte_more_is_refused_unread(
    body_client: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    headers = {"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE}
    response = await body_client.post("/graphql", content=padded_body(1000), headers=headers)
    await assert_runs(response)
    response = await body_client.post("/graphql", content=padded_body(1001), headers=headers)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert (await sandbox.stats())["hits"] == {}


async def test_streamed_body_over_the_limit_is_cut_off(body_client: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    headers = {"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE}
    response = await body_client.post("/graphql", content=chunks(padded_body(1000)), headers=headers)
    assert "content-length" not in response.request.headers
    await assert_runs(response)
    response = await body_client.post("/graphql", content=chunks(padded_body(1001)), headers=headers)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert (await sandbox.stats())["hits"] == {}


async def test_default_body_limit_is_100_kb(client: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    headers = {"Content-Type": "application/json"}
    await assert_runs(await client.post("/graphql", content=padded_body(100_000), headers=headers))
    response = await client.post("/graphql", content=padded_body(100_001), headers=headers)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_oversized_headers_are_refused(client: httpx.AsyncClient) -> None:
    response = await graphql(client, "{ __typename }", None, **{"X-Padding": "x" * 20_000})
    assert response.status_code == 431
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"


class TestProfiles:
    async def test_prod_refuses_introspection(self, start_gateway: GatewayFactory, sandbox: RunningSandbox) -> None:
        client = await start_gateway(profile="prod")
        response = await graphql(client, '{ __type(name: "Query") { name } }')
        await assert_refused(response, "GRAPHQL_VALIDATION_FAILED", sandbox)
        assert "introspection" in response.json()["errors"][0]["message"]
        await assert_runs(await graphql(client, "{ __typename sources { name } }"))

    async def test_dev_allows_introspection(self, client: httpx.AsyncClient) -> None:
        response = await graphql(client, '{ __type(name: "Query") { name } }')
        assert response.json()["data"] == {"__type": {"name": "Query"}}

    async def test_prod_hides_field_suggestions(self, start_gateway: GatewayFactory) -> None:
        client = await start_gateway(profile="prod")
        response = await graphql(client, "{ leadz { totalCount } }")
        message = response.json()["errors"][0]["message"]
        assert message == "Cannot query field 'leadz' on type 'Query'."

    async def test_dev_shows_field_suggestions(self, client: httpx.AsyncClient) -> None:
        response = await graphql(client, "{ leadz { totalCount } }")
        assert "Did you mean" in response.json()["errors"][0]["message"]

    async def test_prod_has_no_graphiql(self, start_gateway: GatewayFactory) -> None:
        client = await start_gateway(profile="prod")
        response = await client.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code == 404


def send_whole_then_read(port: int, head: bytes, body: bytes) -> bytes:
    """A client that sends its whole request before reading a byte of the answer, then reads until the server closes
    the connection (a reset raises ConnectionResetError)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(head + body)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
        return received


def chunked(body: bytes, size: int = 65536) -> bytes:
    pieces = [b"%x\r\n%s\r\n" % (len(body[at : at + size]), body[at : at + size]) for at in range(0, len(body), size)]
    return b"".join(pieces) + b"0\r\n\r\n"


@pytest.mark.timeout(60)
def test_a_whole_5_mib_body_sent_before_reading_gets_the_413_and_a_clean_close() -> None:
    """uvicorn closed the connection with the unread body in its buffer: the client got a reset, not the 413."""
    env = gateway_environment("http://127.0.0.1:9/", anonymous_tier_enabled="true")  # no upstream is asked
    body = padded_body(5 * 1024 * 1024)
    declared = (
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    streamed = (
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    with gateway_process(env) as running:
        for head, sent in ((declared, body), (streamed, chunked(body))):
            answer = send_whole_then_read(running.port, head, sent)
            status_line, _, rest = answer.partition(b"\r\n")
            assert status_line == b"HTTP/1.1 413 Request Entity Too Large", answer[:200]
            headers, _, content = rest.partition(b"\r\n\r\n")
            assert b"connection: close" in headers.lower()
            assert json.loads(content)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
