"""Identifiers, codes and dates are checked against their documented shapes before any upstream call: a value of
another shape is BAD_USER_INPUT naming the argument and the shape, and the sandbox's hit counters show no call. Every
value the upstreams answer with is accepted again as an argument (the shapes are never narrower than the data)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from gateway import formats
from gateway.upstreams.catalog import SPECS
from schema.node import to_global_id
from tests.e2e.conftest import GatewayFactory, graphql
from tests.sandbox_harness import RunningSandbox

# The upstreams with a query API. A mirror refreshes its files in the background, which the sandbox would count
# among the calls a query made.
API_SPECS = tuple(spec for spec in SPECS if spec.name in {"ita", "canada", "sam"})


@pytest.fixture
async def gateway(start_gateway: GatewayFactory) -> httpx.AsyncClient:
    return await start_gateway(specs=API_SPECS)


def forged_id(*fields: str) -> str:
    """A global id as `schema.node` encodes them, naming whatever its fields say (a key the gateway never issued)."""
    return base64.urlsafe_b64encode(("v2:" + json.dumps(list(fields))).encode()).decode().rstrip("=")


async def refused(gateway: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one error of a query refused in execution, after checking that no upstream was asked."""
    response = await graphql(gateway, query, variables)
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"], errors
    error: dict[str, Any] = errors[0]
    return error


@pytest.mark.parametrize(
    ("query", "argument", "shape"),
    [
        ('{ awardFamily(piid: "!Ã") { count } }', "piid", "a PIID: 1 to 50 letters, digits or hyphens"),
        (
            '{ awardFamily(piid: "47QSWA18D008F", referencedIdvPiid: "47QSWA18D008F;") { count } }',
            "referencedIdvPiid",
            "a PIID",
        ),
        ('{ contracts(filter: {piid: "!Ã"}) { totalCount } }', "filter.piid", "a PIID (SAM) or contract number"),
        ('{ contracts(filter: {naics: ["541512", "5"]}) { totalCount } }', "filter.naics[1]", "2 to 6 digits"),
        ('{ contracts(filter: {productOrService: ["X1QAA"]}) { totalCount } }', "filter.productOrService[0]", "PSC"),
        ('{ contracts(filter: {supplierUei: ["HKK3H54PK7C"]}) { totalCount } }', "filter.supplierUei[0]", "12 letters"),
        ('{ contracts(filter: {agencyCode: "97"}) { totalCount } }', "filter.agencyCode", "4 letters or digits"),
        ("{ contracts(filter: {fiscalYear: 25}) { totalCount } }", "filter.fiscalYear", "a fiscal year from 1900"),
        (
            '{ contracts(filter: {placeOfPerformanceState: "Virginia"}) { totalCount } }',
            "filter.placeOfPerformanceState",
            "2 letters",
        ),
        ('{ contracts(filter: {gsins: ["*N76"]}) { totalCount } }', "filter.gsins[0]", "a GSIN"),
        (
            '{ contracts(filter: {awarded: {start: "2025-02-01", end: "2025-01-01"}}) { totalCount } }',
            "filter.awarded",
            "start is on or before its end",
        ),
        (
            '{ contracts(filter: {awarded: {start: "0202-01-01"}}) { totalCount } }',
            "filter.awarded.start",
            "1900-01-01",
        ),
        (
            '{ contracts(filter: {sources: [CANADA], value: {min: "NaN"}}) { totalCount } }',
            "filter.value.min",
            "finite",
        ),
        ('{ leads(filter: {countries: ["GBR"]}) { totalCount } }', "filter.countries[0]", "alpha-2"),
        ('{ leads(filter: {published: {end: "9999-12-31"}}) { totalCount } }', "filter.published.end", "2999-12-31"),
        ('{ tenders(filter: {gsins: ["N-76"]}) { totalCount } }', "filter.gsins[0]", "a GSIN"),
        (
            '{ tenders(filter: {deliveryRegions: ["ON", "Ontario"]}) { totalCount } }',
            "filter.deliveryRegions[1]",
            "NCR",
        ),
        ('{ tenders(filter: {opportunityRegions: ["ZZ"]}) { totalCount } }', "filter.opportunityRegions[0]", "X-INT"),
        (f'{{ contract(id: "{forged_id("Contract", "sam", "!Ã|0||")}") {{ piid }} }}', "id", "a PIID"),
        (f'{{ node(id: "{forged_id("Contract", "sam", "P1|0!||")}") {{ id }} }}', "id", "a modification number"),
        (f'{{ tender(id: "{forged_id("Tender", "canada", "PW-1", "!Ã")}") {{ reference }} }}', "id", "a GSIN"),
        ('{ lead(id: "line\\nbreak") { title } }', "id", "control character"),
    ],
)
async def test_a_value_of_another_shape_is_refused_before_any_upstream_call(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox, query: str, argument: str, shape: str
) -> None:
    error = await refused(gateway, query)
    assert error["extensions"]["argument"] == argument
    assert shape in error["extensions"]["accepted"]
    assert error["message"].startswith(f"`{argument}` must")
    assert (await sandbox.stats())["hits"] == {}


async def test_the_fuzzed_award_family_piid_never_reaches_sam(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    response = await graphql(gateway, "query($p: String!) { awardFamily(piid: $p) { count } }", {"p": "!Ã"})
    body = response.json()
    assert body["data"] == {"awardFamily": None}
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # was UPSTREAM_REJECTED, from SAM
    assert await sandbox.hits("sam.search") == 0


async def test_blank_list_values_are_dropped_and_blank_filters_omitted(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    response = await graphql(
        gateway, '{ contracts(first: 1, filter: {sources: [SAM], piid: " ", naics: [" "]}) { totalCount } }'
    )
    assert "errors" not in response.json()
    assert await sandbox.requests("sam.search") == [{"includeSections": "contractId", "limit": "1", "offset": "0"}]


# -- tolerance: what the upstreams answer is accepted as an argument ------------------------------------------------


async def data_of(gateway: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await graphql(gateway, query, variables)
    body = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


SAM_CONTRACTS = """{ contracts(first: 20, filter: {sources: [SAM]}) { nodes {
    id piid referencedIdvPiid fiscalYear awardDate buyer { code } supplier { uniqueEntityId }
    naics { code } productOrService { code } placeOfPerformance { code } } } }"""
BY_IDENTIFIERS = """query($piid: String, $naics: [String!], $psc: [String!], $uei: [String!], $agency: String,
    $year: Int, $day: Date) { contracts(first: 100, filter: {sources: [SAM], piid: $piid, naics: $naics,
    productOrService: $psc, supplierUei: $uei, agencyCode: $agency, fiscalYear: $year,
    awarded: {start: $day, end: $day}}) { nodes { id } } }"""


async def test_sam_identifiers_of_real_records_find_those_records(gateway: httpx.AsyncClient) -> None:
    records = (await data_of(gateway, SAM_CONTRACTS))["contracts"]["nodes"]
    complete = [r for r in records if r["naics"] and r["productOrService"] and r["supplier"] and r["buyer"]]
    assert complete
    for record in complete[:5]:
        variables = {
            "piid": record["piid"],
            "naics": [record["naics"]["code"]],
            "psc": [record["productOrService"]["code"].lower()],  # case is never refused
            "uei": [record["supplier"]["uniqueEntityId"]],
            "agency": record["buyer"]["code"],
            "year": record["fiscalYear"],
            "day": record["awardDate"],
        }
        found = (await data_of(gateway, BY_IDENTIFIERS, variables))["contracts"]["nodes"]
        assert record["id"] in {node["id"] for node in found}, variables
        again = await data_of(gateway, "query($id: ID!) { contract(id: $id) { piid } }", {"id": record["id"]})
        assert again["contract"] == {"piid": record["piid"]}
    ordered = [r for r in records if r["referencedIdvPiid"]]
    assert ordered
    family = await data_of(
        gateway,
        "query($p: String!, $i: String) { awardFamily(piid: $p, referencedIdvPiid: $i) { piid count } }",
        {"p": ordered[0]["piid"], "i": ordered[0]["referencedIdvPiid"]},
    )
    assert family["awardFamily"]["piid"] == ordered[0]["piid"]


async def test_canadian_codes_of_real_records_find_those_records(gateway: httpx.AsyncClient) -> None:
    tenders = (await data_of(gateway, "{ tenders(first: 30) { nodes { id gsins deliveryRegions } } }"))["tenders"]
    coded = [
        t for t in tenders["nodes"] if t["gsins"] and all(map(formats.CANADIAN_REGION.matches, t["deliveryRegions"]))
    ]
    assert len(coded) >= 5
    for tender in coded[:5]:
        found = await data_of(
            gateway,
            "query($g: [String!], $r: [String!]) { tenders(first: 100, filter: {gsins: $g, deliveryRegions: $r}) "
            "{ nodes { id } } }",
            {"g": [tender["gsins"][0].lower()], "r": [region.lower() for region in tender["deliveryRegions"]]},
        )
        assert tender["id"] in {node["id"] for node in found["tenders"]["nodes"]}
        again = await data_of(gateway, "query($id: ID!) { tender(id: $id) { id } }", {"id": tender["id"]})
        assert again["tender"] == {"id": tender["id"]}
    contracts = await data_of(gateway, "{ contracts(first: 10, filter: {sources: [CANADA]}) { nodes { id piid } } }")
    contract = contracts["contracts"]["nodes"][0]
    by_number = await data_of(
        gateway,
        "query($p: String) { contracts(first: 10, filter: {sources: [CANADA], piid: $p}) { nodes { id } } }",
        {"p": contract["piid"]},
    )
    assert contract["id"] in {node["id"] for node in by_number["contracts"]["nodes"]}


async def test_lead_countries_and_ids_of_real_records_are_accepted(gateway: httpx.AsyncClient) -> None:
    leads = (await data_of(gateway, "{ leads(first: 20) { nodes { id leadId country { code } } } }"))["leads"]
    lead = next(node for node in leads["nodes"] if node["country"])
    found = await data_of(
        gateway,
        "query($c: [String!]) { leads(first: 1, filter: {countries: $c}) { totalCount } }",
        {"c": [lead["country"]["code"].lower()]},
    )
    assert found["leads"]["totalCount"] >= 1
    for key in (lead["id"], lead["leadId"]):
        again = await data_of(gateway, "query($id: ID!) { lead(id: $id) { leadId } }", {"id": key})
        assert again["lead"] == {"leadId": lead["leadId"]}


async def test_an_issued_tender_id_with_a_gsin_hint_is_accepted(gateway: httpx.AsyncClient) -> None:
    issued = to_global_id("Tender", "canada", "PW-NO-SUCH-1", "N7610")
    assert (await data_of(gateway, "query($id: ID!) { tender(id: $id) { id } }", {"id": issued}))["tender"] is None
