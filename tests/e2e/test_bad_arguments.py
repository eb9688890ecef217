"""Bad GraphQL arguments give BAD_USER_INPUT before any upstream call."""

from __future__ import annotations

import base64

import httpx
import pytest

from schema.node import to_global_id
from tests.e2e.conftest import graphql
from tests.sandbox_harness import RunningSandbox

OLD_CONTRACT_ID = base64.urlsafe_b64encode(b"Contract\x1fSAM\x1fP1|0||").decode()  # as 0.1.0 issued them


@pytest.mark.parametrize(
    "query",
    [
        '{ leads(after: "not-a-cursor") { totalCount } }',
        '{ contract(id: "bm9wZQ") { piid } }',
        '{ tender(id: "%%%") { reference } }',
        '{ awardFamily(piid: "  ") { count } }',
        '{ contracts(filter: {piid: "A&B"}) { totalCount } }',
        # the global id of another type, of an upstream the gateway does not know, or of one that has no such type
        f'{{ lead(id: "{to_global_id("Tender", "canada", "PW-XYZ-1")}") {{ title }} }}',
        f'{{ lead(id: "{OLD_CONTRACT_ID}") {{ title }} }}',
        f'{{ node(id: "{to_global_id("Tender", "mars", "T1")}") {{ id }} }}',
        f'{{ tender(id: "{to_global_id("Tender", "sam", "T1")}") {{ reference }} }}',
    ],
)
async def test_refused_in_execution_without_upstream_calls(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox, query: str
) -> None:
    response = await graphql(gateway, query)
    assert response.status_code == 200
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert (await sandbox.stats())["hits"] == {}


@pytest.mark.parametrize(
    "query",
    [
        '{ leads(filter: {published: {start: "2025-13-45"}}) { totalCount } }',
        '{ leads(filter: {published: {start: "yesterday"}}) { totalCount } }',
        "{ leads(filter: {sources: [MARS]}) { totalCount } }",
        '{ leads(first: "ten") { totalCount } }',
        '{ contracts(filter: {value: {min: "lots"}}) { totalCount } }',
        # page sizes out of 1..100: checked with the other inputs before execution (nothing charged)
        "{ leads(first: 101) { totalCount } }",
        "{ leads(first: 0) { totalCount } }",
        "{ tenders(first: -1) { totalCount } }",
        "{ contracts(first: 1000) { totalCount } }",
    ],
)
async def test_bad_literals_are_refused_as_request_errors(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox, query: str
) -> None:
    response = await graphql(gateway, query)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    body = response.json()
    assert "data" not in body
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}
    assert (await sandbox.stats())["hits"] == {}


async def test_bad_variable_values_are_bad_user_input(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    response = await graphql(
        gateway, "query($d: Date) { leads(filter: {published: {start: $d}}) { totalCount } }", {"d": "31/12/2025"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await sandbox.stats())["hits"] == {}


async def test_keywords_sam_refuses_are_refused_before_canada_is_asked(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    response = await graphql(gateway, '{ contracts(filter: {keywords: "R&D"}) { totalCount } }')
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_USER_INPUT"]
    assert (await sandbox.stats())["hits"] == {}
    canada_only = await graphql(gateway, '{ contracts(filter: {keywords: "R&D", sources: [CANADA]}) { totalCount } }')
    assert "errors" not in canada_only.json()
