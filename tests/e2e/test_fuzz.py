"""Property-based fuzzing: no generated query, valid or not, and no generated body gets a 5xx or an error
without a code."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import hypothesis_graphql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from gateway.edge.schema import build_schema

SDL = build_schema().as_str()
CUSTOM_SCALARS = {
    "Date": st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 12, 31)).map(
        lambda day: nodes.String(day.isoformat())
    ),
    "DateTime": st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 12, 31)).map(
        lambda moment: nodes.String(moment.isoformat() + "Z")
    ),
    "Decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1e12, max_value=1e12).map(
        lambda amount: nodes.String(str(amount))
    ),
}
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
REQUEST_KEYS = st.sampled_from(["query", "variables", "operationName", "extensions", "persistedQuery", "x"])


def assert_answered(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    payload: dict[str, Any] = response.json()
    for error in payload.get("errors", []):
        assert error["extensions"]["code"], error


@settings(FUZZ, max_examples=100)
@given(query=hypothesis_graphql.queries(SDL, custom_scalars=CUSTOM_SCALARS))
async def test_valid_queries_never_5xx(gateway: httpx.AsyncClient, query: str) -> None:
    response = await gateway.post("/graphql", json={"query": query}, headers={"Accept": "application/json"})
    assert_answered(response)


@FUZZ
@given(query=hypothesis_graphql.queries(SDL, custom_scalars=CUSTOM_SCALARS, mode=hypothesis_graphql.Mode.NEGATIVE))
async def test_invalid_queries_are_refused_before_execution(gateway: httpx.AsyncClient, query: str) -> None:
    response = await gateway.post(
        "/graphql", json={"query": query}, headers={"Accept": "application/graphql-response+json"}
    )
    assert_answered(response)


@FUZZ
@given(params=st.dictionaries(REQUEST_KEYS, JSON_VALUES, max_size=4))
async def test_arbitrary_request_objects_never_5xx(gateway: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await gateway.post("/graphql", content=json.dumps(params), headers={"Content-Type": "application/json"})
    assert_answered(response)


@FUZZ
@given(raw=st.binary(max_size=200) | JSON_VALUES.map(lambda value: json.dumps(value).encode()))
async def test_arbitrary_bodies_never_5xx(gateway: httpx.AsyncClient, raw: bytes) -> None:
    response = await gateway.post("/graphql", content=raw, headers={"Content-Type": "application/json"})
    assert_answered(response)
    assert response.status_code == 200 or response.json()["errors"]


@FUZZ
@given(query=st.text(max_size=200), variables=st.text(max_size=50))
async def test_arbitrary_get_parameters_never_5xx(gateway: httpx.AsyncClient, query: str, variables: str) -> None:
    response = await gateway.get(
        "/graphql", params={"query": query, "variables": variables}, headers={"Accept": "application/json"}
    )
    assert_answered(response)
