"""Fan-out, call budgets, partial failure and deadlines, proven with the sandbox's counters (no timing asserts)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import GatewayFactory, graphql
from tests.sandbox_harness import RunningSandbox

THREE_UPSTREAMS = """{
  leads(first: 2) { edges { node { title } } }
  tenders(first: 2) { edges { node { reference } } }
  contracts(first: 2, filter: {sources: [SAM]}) { edges { node { piid } } }
}"""


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await graphql(client, query, variables)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def errors_by_field(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(error["path"][0]): error for error in body.get("errors", []) if error.get("path")}


async def test_independent_upstream_calls_overlap(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    for upstream in ("ita", "canada", "sam"):
        await sandbox.set_fault(upstream, latency_ms=300)
    body = await post(gateway, THREE_UPSTREAMS)
    assert "errors" not in body
    assert all(body["data"][field]["edges"] for field in ("leads", "tenders", "contracts"))
    stats = await sandbox.stats()
    assert stats["max_in_flight"]["all"] >= 3


async def test_contracts_ask_sam_and_canada_concurrently(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    for upstream in ("canada", "sam"):
        await sandbox.set_fault(upstream, latency_ms=300)
    body = await post(gateway, "{ contracts(first: 4) { edges { node { source } } } }")
    assert "errors" not in body
    assert (await sandbox.stats())["max_in_flight"]["all"] == 2


async def test_only_selected_upstreams_are_called(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    await post(gateway, "{ tenders(first: 3) { edges { node { reference } } } }")
    hits = (await sandbox.stats())["hits"]
    assert hits == {"canada.tenders": 1}


@pytest.mark.parametrize(
    ("selection", "sections"),
    [
        ("piid modificationNumber", "contractId"),
        ("piid buyer { code }", "contractId,coreData"),
        ("piid value { amount }", "contractId,awardDetails"),
        # SAM's example 4: naming awardeeData narrows awardDetails to the awardee block alone.
        ("supplier { name entity: uniqueEntityId }", "contractId,awardeeData"),
        ("piid ... on Contract { awardDate }", "contractId,awardDetails"),
    ],
)
async def test_sam_sections_follow_the_selection(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox, selection: str, sections: str
) -> None:
    body = await post(
        gateway, f"{{ contracts(first: 3, filter: {{sources: [SAM]}}) {{ edges {{ node {{ {selection} }} }} }} }}"
    )
    assert "errors" not in body
    requests = await sandbox.requests("sam.search")
    assert [r["includeSections"] for r in requests] == [sections]


async def test_value_and_supplier_need_the_whole_record(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    body = await post(
        gateway,
        "{ contracts(first: 3, filter: {sources: [SAM]}) { edges { node { value { amount } supplier { name } } } } }",
    )
    assert "errors" not in body
    assert all(edge["node"]["value"] and edge["node"]["supplier"] for edge in body["data"]["contracts"]["edges"])
    assert ["includeSections" in r for r in await sandbox.requests("sam.search")] == [False]


async def test_award_family_fetched_once_per_piid(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    selection = "edges { node { piid referencedIdvPiid awardFamily { count } } }"
    body = await post(
        gateway,
        f"""{{ a: contracts(first: 30, filter: {{sources: [SAM]}}) {{ {selection} }}
      b: contracts(first: 30, filter: {{sources: [SAM]}}) {{ {selection} }} }}""",
    )
    assert "errors" not in body
    families = {(e["node"]["piid"], e["node"]["referencedIdvPiid"]) for e in body["data"]["a"]["edges"]}
    calls = [r for r in await sandbox.requests("sam.search") if r.get("piidAggregation") == "yes"]
    assert sorted((r["piid"], r.get("referencedIdvPiid")) for r in calls) == sorted(families)
    assert len(calls) < 2 * len(body["data"]["a"]["edges"])


@pytest.mark.parametrize(
    ("plan", "code"),
    [
        ({"error_rate": 1.0, "error_status": 503}, "UPSTREAM_UNAVAILABLE"),
        ({"garbage_rate": 1.0}, "UPSTREAM_BAD_RESPONSE"),
        ({"truncate_rate": 1.0}, "UPSTREAM_BAD_RESPONSE"),
        ({"throttle_rate": 1.0, "retry_after_s": 42}, "UPSTREAM_QUOTA_EXCEEDED"),
        ({"reset_rate": 1.0}, "UPSTREAM_UNAVAILABLE"),
    ],
)
async def test_one_failing_upstream_leaves_the_others(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox, plan: dict[str, Any], code: str
) -> None:
    await sandbox.set_fault("ita", **plan)
    body = await post(gateway, THREE_UPSTREAMS)
    assert body["data"]["leads"] is None
    assert body["data"]["tenders"]["edges"]
    assert body["data"]["contracts"]["edges"]
    error = errors_by_field(body)["leads"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["upstream"] == "ita"
    if code == "UPSTREAM_QUOTA_EXCEEDED":
        assert error["extensions"]["retryAfter"] == 42
    assert "Traceback" not in str(body)


async def test_one_source_of_contracts_failing_keeps_the_other(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    await sandbox.set_fault("sam", error_rate=1.0, error_status=500)
    body = await post(gateway, "{ contracts(first: 5) { totalCount edges { node { source } } } }")
    assert {edge["node"]["source"] for edge in body["data"]["contracts"]["edges"]} == {"CANADA"}
    error = errors_by_field(body)["contracts"]
    assert error["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "upstream": "sam", "status": 500}
    assert body["data"]["contracts"]["totalCount"] is None


async def test_breaker_opens_after_consecutive_failures(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    await sandbox.set_fault("canada", error_rate=1.0, error_status=502)
    for _ in range(3):  # two attempts each (one retry): 6 failures >= the threshold of 5
        await post(gateway, "{ tenders(first: 1) { totalCount } }")
    hits_before = await sandbox.hits("canada.tenders")
    body = await post(gateway, "{ tenders(first: 1) { totalCount } sources { name breakerState reachable } }")
    assert errors_by_field(body)["tenders"]["extensions"]["code"] == "UPSTREAM_CIRCUIT_OPEN"
    assert await sandbox.hits("canada.tenders") == hits_before
    canada = next(s for s in body["data"]["sources"] if s["name"] == "canada")
    assert canada == {"name": "canada", "breakerState": "OPEN", "reachable": False}


async def test_request_deadline_holds_when_an_upstream_hangs(
    start_gateway: GatewayFactory, sandbox: RunningSandbox
) -> None:
    gateway = await start_gateway(request_deadline_s=1.0)
    await sandbox.set_fault("sam", hang=True)
    started = time.monotonic()
    body = await post(gateway, THREE_UPSTREAMS)
    elapsed = time.monotonic() - started
    assert errors_by_field(body)["contracts"]["extensions"]["code"] == "UPSTREAM_TIMEOUT"
    assert body["data"]["leads"]["edges"]
    assert body["data"]["tenders"]["edges"]
    assert elapsed < 5.0  # the deadline is 1 s; a hang would otherwise wait 8 s (upstream timeout) or forever
    assert await sandbox.hits("sam.search") == 1  # timeouts are not retried
