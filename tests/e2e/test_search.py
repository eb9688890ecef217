"""The cross-source `search`: only the kinds asked and selected are searched, concurrently, failing alone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import graphql
from tests.sandbox_harness import RunningSandbox

ROUTES = ("ita.search", "canada.tenders", "canada.contracts", "sam.search")
EVERY_KIND = """query($k: String!) { search(keywords: $k, first: 5) {
    leads { title } tenders { reference } contracts { source piid } } }"""


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await graphql(client, query, variables)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def hits(sandbox: RunningSandbox) -> dict[str, int]:
    counted: dict[str, int] = (await sandbox.stats())["hits"]
    return {route: counted.get(route, 0) for route in ROUTES}


async def test_every_kind_is_searched_with_the_keywords(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    body = await post(gateway, EVERY_KIND, {"k": " software "})
    assert "errors" not in body, body["errors"]
    found = body["data"]["search"]
    assert all(found[kind] for kind in ("leads", "tenders", "contracts"))
    assert all(len(found[kind]) <= 5 for kind in ("leads", "tenders", "contracts"))
    assert {c["source"] for c in found["contracts"]} <= {"SAM", "CANADA"}
    assert [r["q"] for r in await sandbox.requests("ita.search")] == ["software"]
    assert [r["keywords"] for r in await sandbox.requests("canada.tenders")] == ["SOFTWARE"]
    assert [r["keywords"] for r in await sandbox.requests("canada.contracts")] == ["SOFTWARE"]
    assert [r["q"] for r in await sandbox.requests("sam.search")] == ["software"]


async def test_lead_titles_hold_the_keywords(gateway: httpx.AsyncClient) -> None:
    body = await post(gateway, '{ search(keywords: "engineering", first: 20) { leads { title } } }')
    titles = [lead["title"] for lead in body["data"]["search"]["leads"]]
    assert titles
    assert all("engineering" in title.lower() for title in titles)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('{ search(keywords: "software") { tenders { reference } } }', {"canada.tenders": 1}),
        ('{ search(keywords: "software") { leads { title } } }', {"ita.search": 1}),
        (
            '{ search(keywords: "software") { contracts { piid } } }',
            {"canada.contracts": 1, "sam.search": 1},
        ),
        ('{ search(keywords: "software") { __typename } }', {}),
        (
            '{ search(keywords: "software", kinds: [LEAD]) { leads { title } tenders { reference } } }',
            {"ita.search": 1},
        ),
        (
            '{ search(keywords: "software") { ...K } } fragment K on SearchResults { tenders { reference } }',
            {"canada.tenders": 1},
        ),
        (
            'query($all: Boolean = false) { search(keywords: "software") { leads { title } '
            "contracts @include(if: $all) { piid } } }",
            {"ita.search": 1},
        ),
    ],
    ids=["tenders", "leads", "contracts", "typename", "kinds", "fragment", "include-false"],
)
async def test_only_kinds_asked_and_selected_call_upstreams(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox, query: str, expected: dict[str, int]
) -> None:
    body = await post(gateway, query)
    assert "errors" not in body, body["errors"]
    assert await hits(sandbox) == {route: expected.get(route, 0) for route in ROUTES}
    if "kinds" in query:
        assert body["data"]["search"]["tenders"] is None
        assert body["data"]["search"]["leads"]


async def test_selected_upstreams_are_asked_concurrently(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    for upstream in ("ita", "canada", "sam"):
        await sandbox.set_fault(upstream, latency_ms=300)
    body = await post(gateway, EVERY_KIND, {"k": "services"})
    assert "errors" not in body, body["errors"]
    stats = await sandbox.stats()
    assert stats["max_in_flight"]["all"] >= 3
    assert await hits(sandbox) == dict.fromkeys(ROUTES, 1)


def errors_by_path(body: dict[str, Any]) -> dict[tuple[str | int, ...], dict[str, Any]]:
    return {tuple(error["path"]): error for error in body.get("errors", []) if error.get("path")}


async def test_a_failing_upstream_nulls_its_kind_alone(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    await sandbox.set_fault("ita", error_rate=1.0)
    body = await post(gateway, EVERY_KIND, {"k": "services"})
    found = body["data"]["search"]
    assert found["leads"] is None
    assert found["tenders"]
    assert found["contracts"]
    [error] = body["errors"]
    assert error["path"] == ["search", "leads"]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["extensions"]["upstream"] == "ita"


async def test_a_failing_contract_source_keeps_the_other(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    await sandbox.set_fault("sam", error_rate=1.0)
    body = await post(gateway, '{ found: search(keywords: "services") { leads { title } c: contracts { source } } }')
    assert body["data"]["found"]["leads"]
    assert {c["source"] for c in body["data"]["found"]["c"]} == {"CANADA"}
    error = errors_by_path(body)[("found", "c")]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["extensions"]["upstream"] == "sam"


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ('keywords: ""', "keywords"),
        ('keywords: "   "', "keywords"),
        (f'keywords: "{"x" * 201}"', "keywords"),
        ('keywords: "software", first: 0', "first"),
        ('keywords: "software", first: 101', "first"),
        ('keywords: "software", kinds: []', "kinds"),
        ('keywords: "R&D"', "keywords"),  # SAM refuses & in `q`: refused before Canada or ITA is asked
    ],
)
async def test_bad_arguments_are_refused_before_any_call(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox, arguments: str, argument: str
) -> None:
    body = await post(
        gateway, f"{{ search({arguments}) {{ leads {{ title }} tenders {{ reference }} contracts {{ piid }} }} }}"
    )
    assert body["data"]["search"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert (await sandbox.stats())["hits"] == {}


async def test_keywords_sam_refuses_are_fine_when_contracts_are_not_selected(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    body = await post(gateway, '{ search(keywords: "R&D") { tenders { reference } } }')
    assert "errors" not in body, body["errors"]
    assert await hits(sandbox) == {"ita.search": 0, "canada.tenders": 1, "canada.contracts": 0, "sam.search": 0}
