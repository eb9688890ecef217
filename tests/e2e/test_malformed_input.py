"""Malformed input never gets a 5xx: every case is answered 4xx, quickly, with an `extensions.code`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import httpx
import pytest

from gateway.edge.graphql_errors import MAX_ERRORS
from tests.sandbox_harness import RunningSandbox

GRAPHQL_RESPONSE = "application/graphql-response+json"
POST_HEADERS = {"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE}
GET_HEADERS = {"Accept": GRAPHQL_RESPONSE}
DEEP_VARIABLES = '{"query": "query($v: JSON) { __typename }", "variables": ' + '{"a": ' * 200 + "1" + "}" * 200 + "}"


@dataclass(frozen=True)
class Case:
    name: str
    status: int
    code: str
    body: bytes | None = None
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=lambda: dict(POST_HEADERS))
    params: dict[str, str] | None = None


def body(value: object) -> bytes:
    return json.dumps(value).encode()


CASES = [
    Case("json array (batch)", 400, "BATCHING_NOT_SUPPORTED", b"[]"),
    Case("batch of two", 400, "BATCHING_NOT_SUPPORTED", body([{"query": "{ __typename }"}] * 2)),
    Case("json string", 400, "BAD_REQUEST", b'"{ __typename }"'),
    Case("json number", 400, "BAD_REQUEST", b"42"),
    Case("json null", 400, "BAD_REQUEST", b"null"),
    Case("json true", 400, "BAD_REQUEST", b"true"),
    Case("empty body", 400, "BAD_REQUEST", b""),
    Case("truncated json", 400, "BAD_REQUEST", b'{"query": "{ __typ'),
    Case("invalid utf-8", 400, "BAD_REQUEST", b'{"query": "{ \xff\xfe __typename }"}'),
    Case("lone surrogate escape", 400, "GRAPHQL_PARSE_FAILED", b'{"query": "{ \\ud800 }"}'),
    Case("nul byte in query", 400, "GRAPHQL_PARSE_FAILED", body({"query": "{ __typename \u0000 }"})),
    Case("json nested 50,000 deep", 400, "BAD_REQUEST", b"[" * 50_000 + b"]" * 50_000),
    Case("variables nested 200 deep", 400, "BAD_REQUEST", DEEP_VARIABLES.encode()),
    Case("query missing", 400, "BAD_REQUEST", body({"variables": {}})),
    Case("query empty", 400, "BAD_REQUEST", body({"query": ""})),
    Case("query blank", 400, "BAD_REQUEST", body({"query": "   "})),
    Case("query number", 400, "BAD_REQUEST", body({"query": 1})),
    Case("query object", 400, "BAD_REQUEST", body({"query": {"q": 1}})),
    Case("query list", 400, "BAD_REQUEST", body({"query": ["{ __typename }"]})),
    Case("variables string", 400, "BAD_REQUEST", body({"query": "{ __typename }", "variables": "{}"})),
    Case("variables list", 400, "BAD_REQUEST", body({"query": "{ __typename }", "variables": [1]})),
    Case("variables false", 400, "BAD_REQUEST", body({"query": "{ __typename }", "variables": False})),
    Case("operationName number", 400, "BAD_REQUEST", body({"query": "{ __typename }", "operationName": 3})),
    Case("operationName list", 400, "BAD_REQUEST", body({"query": "{ __typename }", "operationName": ["a"]})),
    Case("extensions string", 400, "BAD_REQUEST", body({"query": "{ __typename }", "extensions": "x"})),
    Case("persistedQuery null, no query", 400, "BAD_REQUEST", body({"extensions": {"persistedQuery": None}})),
    Case(
        "persistedQuery bad hash",
        400,
        "PERSISTED_QUERY_INVALID",
        body({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": 12}}}),
    ),
    Case("syntax error", 400, "GRAPHQL_PARSE_FAILED", body({"query": "{ leads { "})),
    Case("unknown field", 400, "GRAPHQL_VALIDATION_FAILED", body({"query": "{ nothing }"})),
    Case(
        "variable of the wrong type",
        400,
        "BAD_USER_INPUT",
        body({"query": "query($n: Int) { leads(first: $n) { totalCount } }", "variables": {"n": "ten"}}),
    ),
    Case(
        "page size over 100",
        400,
        "BAD_USER_INPUT",
        body({"query": "{ leads(first: 101) { totalCount } }"}),
    ),
    Case(
        "page size 0 from a variable",
        400,
        "BAD_USER_INPUT",
        body({"query": "query($n: Int) { tenders(first: $n) { totalCount } }", "variables": {"n": 0}}),
    ),
    Case(
        "null for a non-null argument",
        400,
        "BAD_USER_INPUT",
        body(
            {
                "query": "query($l: Language) { contracts(first: 1) { nodes { title(language: $l) } } }",
                "variables": {"l": None},
            }
        ),
    ),
    Case(
        "required variable missing",
        400,
        "BAD_USER_INPUT",
        body({"query": "query($n: Int!) { leads(first: $n) { totalCount } }"}),
    ),
    Case(
        "malformed date literal",
        400,
        "BAD_USER_INPUT",
        body({"query": '{ contracts(filter: {awarded: {start: "2024-13-45"}}) { totalCount } }'}),
    ),
    Case(
        "unknown enum value",
        400,
        "BAD_USER_INPUT",
        body({"query": "{ contracts(filter: {sources: [NOPE]}) { totalCount } }"}),
    ),
    Case(
        "huge int literal",
        400,
        "BAD_USER_INPUT",
        body({"query": "{ leads(first: 99999999999999999999) { totalCount } }"}),
    ),
    Case(
        "content-type text/plain",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        body({"query": "{ __typename }"}),
        headers={"Content-Type": "text/plain", "Accept": GRAPHQL_RESPONSE},
    ),
    Case(
        "content-type missing",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        body({"query": "{ __typename }"}),
        headers={"Accept": GRAPHQL_RESPONSE},
    ),
    Case(
        "content-type form",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        b"query=%7B__typename%7D",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": GRAPHQL_RESPONSE},
    ),
    Case(
        "content-type application/graphql",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        b"{ __typename }",
        headers={"Content-Type": "application/graphql", "Accept": GRAPHQL_RESPONSE},
    ),
    Case(
        "unacceptable accept",
        406,
        "NOT_ACCEPTABLE",
        body({"query": "{ __typename }"}),
        headers={"Content-Type": "application/json", "Accept": "image/png"},
    ),
    Case(
        "content-length not a number",
        400,
        "BAD_REQUEST",
        body({"query": "{ __typename }"}),
        headers={**POST_HEADERS, "Content-Length": "lots"},
    ),
    Case("body over the limit", 413, "PAYLOAD_TOO_LARGE", body({"query": "{ __typename }" + " " * 100_000})),
    Case(
        "headers over the limit",
        431,
        "REQUEST_HEADER_FIELDS_TOO_LARGE",
        body({"query": "{ __typename }"}),
        headers={**POST_HEADERS, "X-Filler": "x" * 17_000},
    ),
    Case("PUT", 405, "METHOD_NOT_ALLOWED", body({"query": "{ __typename }"}), method="PUT"),
    Case("GET without query", 400, "BAD_REQUEST", method="GET", headers=GET_HEADERS, params={}),
    Case(
        "GET with variables not json",
        400,
        "BAD_REQUEST",
        method="GET",
        headers=GET_HEADERS,
        params={"query": "{ __typename }", "variables": "{nope"},
    ),
    Case(
        "GET with extensions not json",
        400,
        "BAD_REQUEST",
        method="GET",
        headers=GET_HEADERS,
        params={"query": "{ __typename }", "extensions": "]"},
    ),
    Case(
        "GET mutation",
        405,
        "OPERATION_NOT_ALLOWED",
        method="GET",
        headers=GET_HEADERS,
        params={"query": "mutation { __typename }"},
    ),
    Case(
        "GET simple request (CSRF)",
        400,
        "CSRF_PREVENTED",
        method="GET",
        headers={"Accept": "*/*"},
        params={"query": "{ __typename }"},
    ),
    Case("subscription", 400, "OPERATION_NOT_ALLOWED", body({"query": "subscription { __typename }"})),
]


def test_the_battery_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_malformed_input_gets_a_4xx_with_a_code(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox, case: Case
) -> None:
    started = time.perf_counter()
    response = await gateway.request(
        case.method, "/graphql", content=case.body, headers=case.headers, params=case.params
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == case.status, response.text
    errors = response.json()["errors"]
    assert errors
    assert [error["extensions"]["code"] for error in errors][:1] == [case.code]
    assert all("code" in error["extensions"] for error in errors)
    assert "Traceback" not in response.text
    assert elapsed < 1.0
    assert (await sandbox.stats())["hits"] == {}


async def test_a_repeated_mistake_is_one_error_and_errors_are_capped(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    repeated = await gateway.post(
        "/graphql", json={"query": "{ leads " + "@scan " * 10 + "{ totalCount } }"}, headers=POST_HEADERS
    )
    assert repeated.status_code == 400
    assert [(error["message"], error["extensions"]["code"]) for error in repeated.json()["errors"]] == [
        ("Unknown directive '@scan'.", "GRAPHQL_VALIDATION_FAILED")
    ]
    many = await gateway.post(
        "/graphql", json={"query": "{ sources { " + " ".join(f"f{n}" for n in range(30)) + " } }"}, headers=POST_HEADERS
    )
    assert many.status_code == 400
    assert len(many.json()["errors"]) == MAX_ERRORS
    assert (await sandbox.stats())["hits"] == {}
