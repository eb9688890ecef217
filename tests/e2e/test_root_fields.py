"""Every root field with its filters, over HTTP, against the sandbox."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from gateway.settings import UpstreamSettings
from gateway.upstreams.catalog import SPECS
from tests.e2e.conftest import GatewayFactory, graphql, sandbox_upstreams
from tests.sandbox_harness import RunningSandbox


async def data_of(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await graphql(client, query, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


async def test_leads_page_and_follow_cursor(gateway: httpx.AsyncClient) -> None:
    query = """query($after: String) { leads(first: 5, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { id leadId source title country { code name } publishDate industries } } } }"""
    first = (await data_of(gateway, query))["leads"]
    assert len(first["edges"]) == 5
    assert first["totalCount"] > 5
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    second = (await data_of(gateway, query, {"after": first["pageInfo"]["endCursor"]}))["leads"]
    first_ids = {n["leadId"] for n in nodes(first)}
    assert not first_ids & {n["leadId"] for n in nodes(second)}
    assert second["pageInfo"]["hasPreviousPage"] is True


async def test_lead_filters_narrow_results(gateway: httpx.AsyncClient) -> None:
    sample = nodes(
        (await data_of(gateway, "{ leads(first: 20) { edges { node { source country { code } } } } }"))["leads"]
    )
    source, country = sample[0]["source"], sample[0]["country"]["code"]
    filtered = (
        await data_of(
            gateway,
            """query($s: [LeadSource!], $c: [String!]) { leads(first: 50, filter: {sources: $s, countries: $c}) {
            totalCount edges { node { source country { code } } } } }""",
            {"s": [source], "c": [country]},
        )
    )["leads"]
    assert filtered["totalCount"] >= 1
    assert all(n["source"] == source and n["country"]["code"] == country for n in nodes(filtered))


async def test_lead_by_global_id_and_by_ita_id(gateway: httpx.AsyncClient) -> None:
    lead = nodes((await data_of(gateway, "{ leads(first: 1) { edges { node { id leadId title } } } }"))["leads"])[0]
    by_global = await data_of(gateway, "query($id: ID!) { lead(id: $id) { leadId title } }", {"id": lead["id"]})
    assert by_global["lead"] == {"leadId": lead["leadId"], "title": lead["title"]}
    by_ita = await data_of(gateway, "query($id: ID!) { lead(id: $id) { leadId } }", {"id": lead["leadId"]})
    assert by_ita["lead"] == {"leadId": lead["leadId"]}
    missing = await data_of(gateway, '{ lead(id: "no-such-lead") { leadId } }')
    assert missing["lead"] is None


async def test_lead_values_and_the_url_of_leads_that_give_only_urls(gateway: httpx.AsyncClient) -> None:
    query = """query($s: [LeadSource!]) { leads(first: 20, filter: {sources: $s}) {
        nodes { url urls contractValue { amount currency } projectSize { amount currency } } } }"""
    australia = (await data_of(gateway, query, {"s": ["AUSTRALIA"]}))["leads"]["nodes"]
    assert any(n["contractValue"] for n in australia)
    assert {n["contractValue"]["currency"] for n in australia if n["contractValue"]} == {"AUD"}
    state = (await data_of(gateway, query, {"s": ["STATE"]}))["leads"]["nodes"]
    assert any(n["projectSize"] for n in state)
    assert {n["projectSize"]["currency"] for n in state if n["projectSize"]} == {"USD"}
    canada = (await data_of(gateway, query, {"s": ["CANADA"]}))["leads"]["nodes"]
    with_urls = [n for n in canada if n["urls"]]
    assert with_urls
    assert all(n["url"] == n["urls"][0] for n in with_urls)


async def test_tenders_with_filters_and_languages(gateway: httpx.AsyncClient) -> None:
    sample = nodes(
        (await data_of(gateway, "{ tenders(first: 10) { edges { node { gsins deliveryRegions } } } }"))["tenders"]
    )
    with_gsin = next(n for n in sample if n["gsins"])
    prefix = with_gsin["gsins"][0][:3]
    tenders = (
        await data_of(
            gateway,
            """query($g: [String!]) { tenders(first: 20, filter: {gsins: $g}) {
            totalCount edges { node { id reference gsins closingDate title titleFr: title(language: FR)
            buyer url urlFr: url(language: FR) } } } }""",
            {"g": [prefix]},
        )
    )["tenders"]
    assert tenders["totalCount"] >= 1
    for tender in nodes(tenders):
        assert any(code.startswith(prefix) for code in tender["gsins"])
        assert tender["url"] != tender["urlFr"]
    closing = [n["closingDate"] for n in nodes(tenders) if n["closingDate"]]
    assert closing == sorted(closing)


async def test_tender_by_id_and_node(gateway: httpx.AsyncClient) -> None:
    tender = nodes((await data_of(gateway, "{ tenders(first: 3) { edges { node { id reference } } } }"))["tenders"])[2]
    found = await data_of(gateway, "query($id: ID!) { tender(id: $id) { reference } }", {"id": tender["id"]})
    assert found["tender"] == {"reference": tender["reference"]}
    node = await data_of(
        gateway, "query($id: ID!) { node(id: $id) { __typename ... on Tender { reference } } }", {"id": tender["id"]}
    )
    assert node["node"] == {"__typename": "Tender", "reference": tender["reference"]}


CONTRACT_FIELDS = "id source piid title value { amount currency } awardDate supplier { name }"


async def test_contracts_merge_both_sources_keeping_each_order(gateway: httpx.AsyncClient) -> None:
    query = (
        "query($s: [ContractSource!], $n: Int!) { contracts(first: $n, filter: {sources: $s}) { totalCount "
        f"edges {{ node {{ {CONTRACT_FIELDS} }} }} }} }}"
    )
    merged = (await data_of(gateway, query, {"s": None, "n": 100}))["contracts"]
    sam = (await data_of(gateway, query, {"s": ["SAM"], "n": 100}))["contracts"]
    canada = (await data_of(gateway, query, {"s": ["CANADA"], "n": 100}))["contracts"]
    assert merged["totalCount"] == sam["totalCount"] + canada["totalCount"]
    merged_nodes = nodes(merged)
    assert {n["source"] for n in merged_nodes} == {"SAM", "CANADA"}
    currencies = {n["source"]: n["value"]["currency"] for n in merged_nodes if n["value"]}
    assert currencies == {"SAM": "USD", "CANADA": "CAD"}
    for source, alone in (("SAM", sam), ("CANADA", canada)):
        part = [n["id"] for n in merged_nodes if n["source"] == source]
        assert part == [n["id"] for n in nodes(alone)][: len(part)]


async def test_contract_cursor_pages_do_not_overlap(gateway: httpx.AsyncClient) -> None:
    query = """query($after: String) { contracts(first: 10, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { id } } } }"""
    first = (await data_of(gateway, query))["contracts"]
    second = (await data_of(gateway, query, {"after": first["pageInfo"]["endCursor"]}))["contracts"]
    first_ids = {n["id"] for n in nodes(first)}
    second_ids = {n["id"] for n in nodes(second)}
    assert len(first_ids) == len(second_ids) == 10
    assert not first_ids & second_ids


async def test_sam_only_filter_asks_only_sam(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    sam = nodes(
        (
            await data_of(
                gateway, "{ contracts(first: 5, filter: {sources: [SAM]}) { edges { node { piid naics { code } } } } }"
            )
        )["contracts"]
    )
    naics = next(n["naics"]["code"] for n in sam if n["naics"])
    await sandbox.reset()
    found = (
        await data_of(
            gateway,
            """query($n: [String!]) { contracts(first: 20, filter: {naics: $n}) {
        edges { node { source naics { code } } } } }""",
            {"n": [naics]},
        )
    )["contracts"]
    assert nodes(found)
    assert all(n["source"] == "SAM" and n["naics"]["code"] == naics for n in nodes(found))
    assert await sandbox.hits("canada.contracts") == 0


async def test_contract_by_id_for_each_source(gateway: httpx.AsyncClient) -> None:
    for source in ("SAM", "CANADA"):
        contract = nodes(
            (
                await data_of(
                    gateway,
                    "query($s: [ContractSource!]) { contracts(first: 3, filter: {sources: $s}) { edges { node { "
                    "id source piid } } } }",
                    {"s": [source]},
                )
            )["contracts"]
        )[2]
        found = await data_of(gateway, "query($id: ID!) { contract(id: $id) { source piid } }", {"id": contract["id"]})
        assert found["contract"] == {"source": source, "piid": contract["piid"]}


async def test_award_family_root_field_and_on_contract(gateway: httpx.AsyncClient) -> None:
    contract = nodes(
        (
            await data_of(
                gateway,
                """{ contracts(first: 1, filter: {sources: [SAM]}) {
        edges { node { piid awardFamily { piid count totalDollars { amount currency } } } } } }""",
            )
        )["contracts"]
    )[0]
    family = contract["awardFamily"]
    assert family["piid"] == contract["piid"]
    assert family["count"] >= 1
    assert family["totalDollars"]["currency"] == "USD"
    root = await data_of(
        gateway, "query($p: String!) { awardFamily(piid: $p) { piid count } }", {"p": contract["piid"]}
    )
    assert root["awardFamily"] == {"piid": contract["piid"], "count": family["count"]}


async def test_sources_reports_each_upstream(gateway: httpx.AsyncClient) -> None:
    await data_of(gateway, "{ tenders(first: 1) { totalCount } }")
    sources = (
        await data_of(
            gateway,
            """{ sources { name reachable breakerState lastSuccess configured licence attribution documentationUrl
        leadSources { source } } }""",
        )
    )["sources"]
    by_name = {s["name"]: s for s in sources}
    assert list(by_name) == [spec.name for spec in SPECS]
    mirrors = {spec.name for spec in SPECS if spec.mirror}  # tests/e2e/test_canadabuys.py, test_successor_leads.py
    assert all(by_name[name]["configured"] is False for name in mirrors)
    sources = [s for s in sources if s["name"] not in mirrors]
    assert by_name["canada"]["lastSuccess"] is not None
    assert all(s["breakerState"] == "CLOSED" and s["reachable"] and s["configured"] for s in sources)
    assert all(s["licence"] and s["attribution"] and s["documentationUrl"].startswith("https://") for s in sources)
    assert by_name["ita"]["leadSources"]
    assert by_name["sam"]["leadSources"] is None


async def test_an_upstream_not_configured_is_never_asked(
    start_gateway: GatewayFactory, sandbox: RunningSandbox
) -> None:
    upstreams = sandbox_upstreams(SPECS, sandbox.base_url, {})
    gateway = await start_gateway(upstreams={**upstreams, "ita": UpstreamSettings("", upstreams["ita"].ttl_s)})
    data = await data_of(
        gateway,
        """{ leads { totalCount } search(keywords: "software", first: 2) { sources { upstream asked notAskedBecause }
        nodes { __typename } } sources { name configured reachable leadSources { source } } }""",
    )
    assert data["leads"] == {"totalCount": 0}
    assert {node["__typename"] for node in data["search"]["nodes"]} <= {"Tender", "Contract"}
    [ita_leads] = [s for s in data["search"]["sources"] if s["upstream"] == "ita"]
    assert ita_leads == {"upstream": "ita", "asked": False, "notAskedBecause": "it is not configured on this gateway"}
    ita = next(s for s in data["sources"] if s["name"] == "ita")
    assert ita == {"name": "ita", "configured": False, "reachable": False, "leadSources": None}
    assert await sandbox.hits("ita.search") == 0
    lead = await graphql(gateway, '{ lead(id: "some-ita-id") { title } }')
    assert [e["extensions"]["code"] for e in lead.json()["errors"]] == ["NOT_FOUND"]


async def test_a_gsins_filter_asks_only_canada(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    canada = nodes(
        (await data_of(gateway, "{ contracts(first: 10, filter: {sources: [CANADA]}) { edges { node { gsins } } } }"))[
            "contracts"
        ]
    )
    prefix = next(n["gsins"][0] for n in canada if n["gsins"])[:3]
    await sandbox.reset()
    found = nodes(
        (
            await data_of(
                gateway,
                "query($g: [String!]) { contracts(first: 20, filter: {gsins: $g}) { "
                "edges { node { source gsins } } } }",
                {"g": [prefix]},
            )
        )["contracts"]
    )
    assert found
    assert all(n["source"] == "CANADA" and any(g.startswith(prefix) for g in n["gsins"]) for n in found)
    assert await sandbox.hits("sam.search") == 0


async def test_a_piid_filter_asks_canada_too(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    canada = nodes(
        (await data_of(gateway, "{ contracts(first: 3, filter: {sources: [CANADA]}) { edges { node { piid } } } }"))[
            "contracts"
        ]
    )
    piid = canada[1]["piid"]
    await sandbox.reset()
    found = nodes(
        (
            await data_of(
                gateway,
                "query($p: String) { contracts(first: 20, filter: {piid: $p}) { edges { node { source piid } } } }",
                {"p": piid},
            )
        )["contracts"]
    )
    assert {"source": "CANADA", "piid": piid} in found  # (Canada's answer may come from the cache)
    assert [r["piid"] for r in await sandbox.requests("sam.search")] == [piid]


def legacy_id(*fields: str) -> str:
    """A global id as 0.1.0 issued it: base64url of the fields joined by U+001F, unpadded."""
    return base64.urlsafe_b64encode("\x1f".join(fields).encode()).decode().rstrip("=")


async def test_ids_and_cursors_issued_before_still_work(gateway: httpx.AsyncClient) -> None:
    tender = nodes(
        (await data_of(gateway, "{ tenders(first: 2) { edges { node { id reference gsins } } } }"))["tenders"]
    )[1]
    old_tender_id = legacy_id("Tender", tender["reference"], tender["gsins"][0] if tender["gsins"] else "")
    assert old_tender_id != tender["id"]
    found = await data_of(
        gateway, "query($id: ID!) { node(id: $id) { ... on Tender { reference } } }", {"id": old_tender_id}
    )
    assert found["node"] == {"reference": tender["reference"]}
    leads = nodes((await data_of(gateway, "{ leads(first: 4) { edges { node { leadId } } } }"))["leads"])
    old_cursor = base64.urlsafe_b64encode(b'{"o":2}').decode().rstrip("=")
    after = await data_of(
        gateway, "query($a: String) { leads(first: 2, after: $a) { edges { node { leadId } } } }", {"a": old_cursor}
    )
    assert nodes(after["leads"]) == leads[2:4]
    by_old_id = await data_of(
        gateway, "query($id: ID!) { lead(id: $id) { leadId } }", {"id": legacy_id("Lead", leads[0]["leadId"])}
    )
    assert by_old_id["lead"] == leads[0]


async def test_contracts_by_place_of_performance_state(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    found = (
        await data_of(
            gateway,
            """{ contracts(first: 20, filter: {placeOfPerformanceState: "VA"}) {
        edges { node { source } } } }""",
        )
    )["contracts"]
    assert nodes(found)
    assert all(n["source"] == "SAM" for n in nodes(found))
    assert [r["placeOfPerformStateCode"] for r in await sandbox.requests("sam.search")] == ["VA"]
    assert await sandbox.hits("canada.contracts") == 0
