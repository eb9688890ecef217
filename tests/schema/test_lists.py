"""`leads`, `tenders` and `contracts` executed against fake upstreams: the sources asked, the merge, the cursors (old
ones included), partial failure, and the lead fields that were parsed but not exposed."""

from __future__ import annotations

import base64
import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

from gateway.models import Money
from gateway.upstreams.canada.spec import SPEC as CANADA
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import RecordKind
from tests.schema.fakes import FakeClient, execute, lead, standard_upstreams, tender


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def old_cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


LEADS = """query($after: String) { leads(first: 10, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { leadId } } } }"""


async def test_leads_page_through_without_repeats() -> None:
    upstreams = standard_upstreams()
    seen: list[str] = []
    after = None
    for _ in range(5):
        outcome = await execute(upstreams, LEADS, {"after": after})
        assert outcome.errors == []
        page = outcome.data["leads"]  # type: ignore[index]
        assert page["totalCount"] == 25
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [n["leadId"] for n in nodes(page)]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"L{n}" for n in range(25)]
    assert [r[1]["offset"] for r in upstreams.client("ita").requests] == [0, 10, 20]


async def test_old_single_source_cursors_still_page_leads_and_tenders() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, LEADS, {"after": old_cursor(b'{"o":20}')})
    assert [n["leadId"] for n in nodes(outcome.data["leads"])] == [f"L{n}" for n in range(20, 25)]  # type: ignore[index]
    outcome = await execute(
        upstreams,
        "query($a: String) { tenders(first: 2, after: $a) { edges { node { reference } } } }",
        {"a": old_cursor(b'{"o":3}')},
    )
    assert [n["reference"] for n in nodes(outcome.data["tenders"])] == ["T3", "T4"]  # type: ignore[index]


async def test_another_lists_cursor_is_bad_user_input_before_any_call() -> None:
    upstreams = standard_upstreams()
    contracts = await execute(upstreams, "{ contracts(first: 1) { pageInfo { endCursor } } }")
    cursor = contracts.data["contracts"]["pageInfo"]["endCursor"]  # type: ignore[index]
    before = upstreams.total_calls()
    outcome = await execute(upstreams, LEADS, {"after": cursor})
    assert outcome.codes == ["BAD_USER_INPUT"]
    assert outcome.data == {"leads": None}
    assert upstreams.total_calls() == before


CONTRACTS = """query($after: String, $filter: ContractFilter) { contracts(first: 5, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id source piid awardDate } } } }"""


async def test_contracts_merge_newer_award_first_and_page_through_both_sources() -> None:
    upstreams = standard_upstreams()
    seen: list[tuple[str, str]] = []
    after = None
    while True:
        outcome = await execute(upstreams, CONTRACTS, {"after": after})
        assert outcome.errors == []
        page = outcome.data["contracts"]  # type: ignore[index]
        assert page["totalCount"] == 8 + 6
        seen += [(n["source"], n["piid"]) for n in nodes(page)]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 14
    assert [piid for source, piid in seen if source == "SAM"] == [f"P{n}" for n in range(8)]
    assert [piid for source, piid in seen if source == "CANADA"] == [f"C{n}" for n in range(6)]
    assert seen[:4] == [("SAM", "P0"), ("CANADA", "C0"), ("SAM", "P1"), ("SAM", "P2")]


async def test_contract_cursors_of_before_still_work() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, CONTRACTS, {"after": old_cursor(b'{"canada":5,"sam":7}')})
    assert [(n["source"], n["piid"]) for n in nodes(outcome.data["contracts"])] == [  # type: ignore[index]
        ("SAM", "P7"),
        ("CANADA", "C5"),
    ]


async def test_contracts_ask_only_the_sources_listed_and_able() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, CONTRACTS, {"filter": {"sources": ["CANADA"]}})
    assert {n["source"] for n in nodes(outcome.data["contracts"])} == {"CANADA"}  # type: ignore[index]
    assert upstreams.client("sam").calls == {}
    outcome = await execute(upstreams, CONTRACTS, {"filter": {"gsins": ["N76"]}})
    assert {n["source"] for n in nodes(outcome.data["contracts"])} == {"CANADA"}  # type: ignore[index]
    assert upstreams.client("sam").calls == {}
    outcome = await execute(upstreams, CONTRACTS, {"filter": {"naics": ["541511"]}})
    assert upstreams.client("canada").calls["search_contracts"] == 2  # not asked the third time
    outcome = await execute(upstreams, CONTRACTS, {"filter": {"piid": "C3"}})
    assert upstreams.client("canada").calls["search_contracts"] == 3  # a PIID is a Canadian contract number
    assert upstreams.client("sam").calls["search_contracts"] == 2


async def test_contracts_pass_the_selected_fields_to_the_clients() -> None:
    upstreams = standard_upstreams()
    await execute(
        upstreams, "{ contracts(first: 2) { nodes { piid supplier { name } ... on Contract { awardDate } } } }"
    )
    [(_, request)] = upstreams.client("sam").requests
    assert request["selection"] == frozenset({"piid", "supplier", "award_date"})


async def test_a_query_a_contract_source_refuses_is_bad_user_input_before_any_call() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, CONTRACTS, {"filter": {"keywords": "R&D"}})
    assert outcome.codes == ["BAD_USER_INPUT"]
    assert upstreams.total_calls() == 0
    outcome = await execute(upstreams, CONTRACTS, {"filter": {"keywords": "R&D", "sources": ["CANADA"]}})
    assert outcome.errors == []


async def test_one_contract_source_failing_keeps_the_other_with_an_error_naming_it() -> None:
    upstreams = standard_upstreams()
    upstreams.client("sam").failing = True
    outcome = await execute(upstreams, CONTRACTS)
    page = outcome.data["contracts"]  # type: ignore[index]
    assert {n["source"] for n in nodes(page)} == {"CANADA"}
    assert page["totalCount"] is None
    assert outcome.errors == []
    assert outcome.reported == [("UPSTREAM_UNAVAILABLE", "sam", ("contracts",))]


async def test_every_source_failing_nulls_the_list_with_the_first_error() -> None:
    upstreams = standard_upstreams()
    upstreams.client("sam").failing = True
    upstreams.client("canada").failing = True
    outcome = await execute(upstreams, CONTRACTS)
    assert outcome.data == {"contracts": None}
    assert outcome.codes == ["UPSTREAM_UNAVAILABLE"]
    assert outcome.errors[0].original_error.upstream == "sam"


async def test_the_only_lead_source_failing_nulls_leads_alone() -> None:
    upstreams = standard_upstreams()
    upstreams.client("ita").failing = True
    outcome = await execute(upstreams, "{ leads { totalCount } tenders(first: 1) { totalCount } }")
    assert outcome.data == {"leads": None, "tenders": {"totalCount": 12}}
    assert outcome.codes == ["UPSTREAM_UNAVAILABLE"]


async def test_an_upstream_not_configured_is_not_asked_and_adds_no_error() -> None:
    upstreams = standard_upstreams(unconfigured=("canada",))
    outcome = await execute(upstreams, "{ contracts(first: 3) { totalCount nodes { source } } tenders { totalCount } }")
    assert outcome.errors == []
    assert outcome.reported == []
    assert outcome.data == {
        "contracts": {"totalCount": 8, "nodes": [{"source": "SAM"}] * 3},
        "tenders": {"totalCount": 0},
    }


FOURTH = dataclasses.replace(
    CANADA,
    name="fourth",
    title="A test-only tender feed",
    kinds=frozenset({RecordKind.TENDER}),
    criteria={RecordKind.TENDER: frozenset({"keywords"})},
    default_ttl_s={RecordKind.TENDER: 60},
)


async def test_a_fourth_upstream_serving_tenders_joins_tenders_closing_soonest_first() -> None:
    fourth = FakeClient("fourth", tenders=[tender("F0", date(2025, 7, 2)), tender("F1", date(2025, 7, 30))])
    upstreams = standard_upstreams(specs=(*SPECS, FOURTH), fourth=fourth)
    query = """query($after: String) { tenders(first: 4, after: $after) {
        totalCount pageInfo { endCursor } nodes { id reference closingDate } } }"""
    first = (await execute(upstreams, query)).data["tenders"]  # type: ignore[index]
    assert first["totalCount"] == 14
    assert [n["reference"] for n in first["nodes"]] == ["T0", "T1", "F0", "T2"]
    after = first["pageInfo"]["endCursor"]
    second = (await execute(upstreams, query, {"after": after})).data["tenders"]  # type: ignore[index]
    assert [n["reference"] for n in second["nodes"]] == ["T3", "T4", "T5", "T6"]
    assert [r[1]["offset"] for r in fourth.requests] == [0, 1]
    found = await execute(
        upstreams, "query($id: ID!) { node(id: $id) { ... on Tender { reference } } }", {"id": first["nodes"][2]["id"]}
    )
    assert found.data == {"node": {"reference": "F0"}}
    # a filter the fourth upstream cannot answer leaves it out
    await execute(upstreams, '{ tenders(filter: {gsins: ["N76"]}) { totalCount } }')
    assert fourth.calls["search_tenders"] == 2


async def test_lead_values_and_the_url_of_leads_that_give_only_urls() -> None:
    ita = FakeClient(
        "ita",
        leads=[
            lead("AU1", date(2025, 5, 1), source="AUSTRALIA", contract_value=Money(Decimal("11731.17"), "AUD")),
            lead("ST1", date(2025, 4, 1), source="STATE", project_size=Money(Decimal("5000000"), "USD")),
            lead("CA1", date(2025, 3, 1), source="CANADA", urls=("https://a.test/1", "https://a.test/2")),
            lead("UK1", date(2025, 2, 1), source="UK", url="https://uk.test/1", urls=("https://uk.test/other",)),
        ],
    )
    upstreams = standard_upstreams(ita=ita)
    outcome = await execute(
        upstreams,
        "{ leads { nodes { leadId url urls contractValue { amount currency } projectSize { amount currency } } } }",
    )
    assert outcome.data == {
        "leads": {
            "nodes": [
                {
                    "leadId": "AU1",
                    "url": None,
                    "urls": [],
                    "contractValue": {"amount": "11731.17", "currency": "AUD"},
                    "projectSize": None,
                },
                {
                    "leadId": "ST1",
                    "url": None,
                    "urls": [],
                    "contractValue": None,
                    "projectSize": {"amount": "5000000", "currency": "USD"},
                },
                {
                    "leadId": "CA1",
                    "url": "https://a.test/1",
                    "urls": ["https://a.test/1", "https://a.test/2"],
                    "contractValue": None,
                    "projectSize": None,
                },
                {
                    "leadId": "UK1",
                    "url": "https://uk.test/1",
                    "urls": ["https://uk.test/other"],
                    "contractValue": None,
                    "projectSize": None,
                },
            ]
        }
    }


async def test_award_families_come_from_the_contracts_own_upstream_once_per_piid() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(
        upstreams,
        """{ a: contracts(first: 6) { nodes { source piid awardFamily { count } } }
             b: contracts(first: 6) { nodes { piid awardFamily { count } } } }""",
    )
    assert outcome.errors == []
    by_source = {(n["source"], n["piid"]): n["awardFamily"] for n in outcome.data["a"]["nodes"]}  # type: ignore[index]
    assert all(family is None for (source, _), family in by_source.items() if source == "CANADA")
    assert all(family["count"] >= 1 for (source, _), family in by_source.items() if source == "SAM")
    sam_piids = {piid for source, piid in by_source if source == "SAM"}
    assert upstreams.client("sam").calls["award_family"] == len(sam_piids)
    assert "award_family" not in upstreams.client("canada").calls
