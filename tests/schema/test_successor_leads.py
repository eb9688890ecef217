"""`leads` routed per ITA source code to ITA or to its live successors, executed against fake upstreams: who is asked
with what, the merged order across pages (each lead once), skipped sources, unserved codes, one successor failing,
successor leads by id, `search`'s routing; and `Tender.ocds` / `Contract.ocds`, SAM award notices passed over beside
SAM's own records."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import date, timedelta
from typing import Any

import pytest

from gateway.models import ContractSource, LeadQuery
from gateway.settings import LeadsFrom, Settings, SettingsError
from gateway.upstreams.canadabuys.spec import SPEC as CANADABUYS
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import RecordKind, UpstreamSpec
from gateway.vocabularies import ITA_LEAD_SOURCES
from resolvers.lead_routing import ITA_CODES, route_leads
from schema.leads import LeadSource, SkipReason
from schema.tenders import TenderSource
from tests.schema.fakes import (
    SCHEMA,
    FakeClient,
    FakeKeysetLeadClient,
    FakeMirror,
    FakeQuotaGuard,
    FakeUpstreams,
    contract,
    execute,
    lead,
    standard_clients,
    tender,
)

SUCCESSOR_CRITERIA = frozenset({"keywords", "sources", "countries", "published", "ends"})


def successor(name: str, *codes: str) -> UpstreamSpec:
    return UpstreamSpec(
        name=name,
        title=f"{name} (tests)",
        description=f"A live successor serving {', '.join(codes)} leads, made up for the tests",
        docs_url="https://successor.example/docs",
        licence="CC0 1.0 (test data)",
        attribution="Test leads",
        client="tests.schema.fakes:FakeKeysetLeadClient",
        kinds=frozenset({RecordKind.LEAD}),
        criteria={RecordKind.LEAD: SUCCESSOR_CRITERIA},
        default_ttl_s={RecordKind.LEAD: 60},
        call_cost=0,
        lead_codes=frozenset(codes),
    )


FBO_SUCCESSOR = successor("fbofake", "FBO")
UK_SUCCESSORS = (successor("ukfakea", "UK"), successor("ukfakeb", "UK"))
TEST_SPECS = (
    *(spec for spec in SPECS if spec.name not in {"fbofake", "ukfakea", "ukfakeb"}),
    FBO_SUCCESSOR,
    *UK_SUCCESSORS,
)
START = date(2026, 7, 31)


def dated(prefix: str, source: str, count: int, step: int, offset: int = 0) -> list[Any]:
    """`count` leads of `source`, newest first, `step` days apart from START - offset."""
    return [lead(f"{prefix}{n}", START - timedelta(days=offset + n * step), source=source) for n in range(count)]


def ita_leads() -> list[Any]:
    """ITA's leads of every code, newest first (what ITA answers is filtered by its `sources`)."""
    every = [item for code in ITA_CODES for item in dated(f"ita-{code}-", code, 4, 3, offset=ITA_CODES.index(code))]
    return sorted(every, key=lambda item: item.publish_date, reverse=True)


def world(
    *, ita: bool = True, unconfigured: tuple[str, ...] = (), leads_from: dict[str, LeadsFrom] | None = None
) -> FakeUpstreams:
    clients: dict[str, FakeClient] = {
        "canadabuys": FakeKeysetLeadClient("canadabuys", leads=dated("cb-", "CANADA", 9, 2, offset=1)),
        "fbofake": FakeKeysetLeadClient("fbofake", leads=dated("fbo-", "FBO", 11, 1)),
        "ukfakea": FakeClient("ukfakea", leads=dated("cf-", "UK", 6, 2, offset=1)),
        "ukfakeb": FakeKeysetLeadClient("ukfakeb", leads=dated("fts-", "UK", 5, 3)),
    }
    if ita:
        clients["ita"] = FakeClient("ita", leads=ita_leads())
    kept = {name: client for name, client in clients.items() if name not in unconfigured}
    return FakeUpstreams(
        TEST_SPECS, kept, FakeQuotaGuard({}), {"canadabuys": FakeMirror()} if "canadabuys" in kept else None, leads_from
    )


LEADS = """query($filter: LeadFilter, $first: Int, $after: String) {
    leads(filter: $filter, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { id leadId source publishDate } }
        skippedSources { source upstream reason criteria }
    } }"""


async def page_through(upstreams: FakeUpstreams, variables: dict[str, Any], first: int = 7) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    after = None
    for _ in range(40):
        outcome = await execute(upstreams, LEADS, {**variables, "first": first, "after": after})
        assert outcome.errors == []
        page = outcome.data["leads"]  # type: ignore[index]
        seen += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("the pages never ended")


def sent_sources(upstreams: FakeUpstreams, name: str) -> set[tuple[str, ...]]:
    return {request["query"].sources for method, request in upstreams.client(name).requests if "leads" in method}


def test_the_lead_source_codes_are_itas() -> None:
    assert [source.name for source in LeadSource] == list(ITA_LEAD_SOURCES.labels) == list(ITA_CODES)
    assert {reason.value for reason in SkipReason} == {"UNANSWERABLE_CRITERIA", "NOT_CONFIGURED"}
    assert CANADABUYS.lead_codes == {"CANADA"}


async def test_every_code_from_its_successors_or_ita_in_one_order_each_lead_once() -> None:
    upstreams = world()
    seen = await page_through(upstreams, {})
    ids = [node["leadId"] for node in seen]
    assert len(ids) == len(set(ids))
    by_source = {code: [node["leadId"] for node in seen if node["source"] == code] for code in ITA_CODES}
    assert len(by_source["CANADA"]) == 9
    assert all(i.startswith("cb-") for i in by_source["CANADA"])
    assert len(by_source["FBO"]) == 11
    assert all(i.startswith("fbo-") for i in by_source["FBO"])
    assert sorted(i.split("-")[0] for i in by_source["UK"]) == ["cf"] * 6 + ["fts"] * 5
    for code in ("AUSTRALIA", "STATE", "MCA", "USTDA"):
        assert by_source[code] == [f"ita-{code}-{n}" for n in range(4)]
    assert len(seen) == 9 + 11 + 11 + 4 * 4
    days = [date.fromisoformat(node["publishDate"]) for node in seen]
    assert days == sorted(days, reverse=True)
    # ITA is asked for the codes it serves (its `sources`), each successor for its own.
    assert sent_sources(upstreams, "ita") == {("AUSTRALIA", "STATE", "MCA", "USTDA")}
    assert sent_sources(upstreams, "canadabuys") == {("CANADA",)}
    assert sent_sources(upstreams, "fbofake") == {("FBO",)}
    assert sent_sources(upstreams, "ukfakea") == sent_sources(upstreams, "ukfakeb") == {("UK",)}
    assert upstreams.client("canadabuys").calls["search_leads"] == 0  # a keyset source pages on its own positions
    assert upstreams.client("ukfakea").calls["search_leads"] > 1  # an offset source by offset


async def test_three_successors_named_page_through_once_each_with_their_global_ids() -> None:
    upstreams = world(ita=False)
    seen = await page_through(upstreams, {"filter": {"sources": ["CANADA", "FBO", "UK"]}}, first=4)
    assert len(seen) == len({node["id"] for node in seen}) == 9 + 11 + 11
    first = await execute(upstreams, LEADS, {"filter": {"sources": ["UK", "FBO", "CANADA"]}, "first": 100})
    assert first.data["leads"]["totalCount"] == 31  # type: ignore[index]
    assert first.data["leads"]["skippedSources"] == []  # type: ignore[index]
    assert "ita" not in upstreams.calls()


async def test_with_only_ita_every_code_is_itas_and_its_query_is_unchanged() -> None:
    upstreams = world(unconfigured=("canadabuys", "fbofake", "ukfakea", "ukfakeb"))
    seen = await page_through(upstreams, {}, first=10)
    assert len(seen) == 7 * 4
    assert sent_sources(upstreams, "ita") == {()}  # every code: ITA is asked as it always was


async def test_the_setting_per_code_chooses_ita_or_the_successors() -> None:
    upstreams = world(leads_from={"CANADA": "ita", "UK": "successor"})
    outcome = await execute(upstreams, LEADS, {"filter": {"sources": ["CANADA", "UK"]}, "first": 100})
    assert outcome.errors == []
    sources = {node["source"] for node in (e["node"] for e in outcome.data["leads"]["edges"])}  # type: ignore[index]
    assert sources == {"CANADA", "UK"}
    assert sent_sources(upstreams, "ita") == {("CANADA",)}
    assert "canadabuys" not in {name for name, calls in upstreams.calls().items() if calls}
    assert sent_sources(upstreams, "ukfakea") == {("UK",)}


async def test_a_code_nothing_serves_is_bad_user_input_naming_the_served_ones_before_any_call() -> None:
    upstreams = world(ita=False)
    outcome = await execute(upstreams, LEADS, {"filter": {"sources": ["CANADA", "AUSTRALIA", "STATE"]}})
    assert outcome.codes == ["BAD_USER_INPUT"]
    error = outcome.errors[0]
    assert "AUSTRALIA, STATE" in error.message
    assert "served here: CANADA, FBO, UK" in error.message
    assert error.original_error.extensions["accepted"] == ["CANADA", "FBO", "UK"]
    assert error.original_error.extensions["argument"] == "filter.sources"
    assert upstreams.total_calls() == 0
    # `successor` for a code with no configured successor: nothing serves it, even with ITA configured.
    only_ita_for_fbo = world(unconfigured=("fbofake",), leads_from={"FBO": "successor"})
    refused = await execute(only_ita_for_fbo, LEADS, {"filter": {"sources": ["FBO"]}})
    assert refused.codes == ["BAD_USER_INPUT"]


async def test_without_sources_the_codes_nothing_serves_are_listed_as_not_configured() -> None:
    upstreams = world(ita=False)
    outcome = await execute(upstreams, LEADS, {"first": 3})
    assert outcome.errors == []
    assert outcome.data["leads"]["skippedSources"] == [  # type: ignore[index]
        {"source": code, "upstream": None, "reason": "NOT_CONFIGURED", "criteria": []}
        for code in ("AUSTRALIA", "STATE", "MCA", "USTDA")
    ]


async def test_a_criterion_a_successor_cannot_answer_skips_it_and_says_why() -> None:
    upstreams = world()
    outcome = await execute(
        upstreams, LEADS, {"filter": {"industries": ["Aerospace"], "tradeRegions": ["NAFTA"]}, "first": 100}
    )
    assert outcome.errors == []
    skipped = outcome.data["leads"]["skippedSources"]  # type: ignore[index]
    assert skipped == [
        {
            "source": "CANADA",
            "upstream": "canadabuys",
            "reason": "UNANSWERABLE_CRITERIA",
            "criteria": ["industries", "tradeRegions"],
        },
        {
            "source": "FBO",
            "upstream": "fbofake",
            "reason": "UNANSWERABLE_CRITERIA",
            "criteria": ["industries", "tradeRegions"],
        },
        {
            "source": "UK",
            "upstream": "ukfakea",
            "reason": "UNANSWERABLE_CRITERIA",
            "criteria": ["industries", "tradeRegions"],
        },
        {
            "source": "UK",
            "upstream": "ukfakeb",
            "reason": "UNANSWERABLE_CRITERIA",
            "criteria": ["industries", "tradeRegions"],
        },
    ]
    assert {name for name, calls in upstreams.calls().items() if calls} == {"ita"}
    assert sent_sources(upstreams, "ita") == {("AUSTRALIA", "STATE", "MCA", "USTDA")}
    # The amendment date is ITA's too: CanadaBuys (whose spec does not answer it) is skipped for it.
    amended = await execute(
        world(), LEADS, {"filter": {"sources": ["CANADA"], "amended": {"start": "2026-01-01"}}, "first": 5}
    )
    assert amended.data["leads"] == {  # type: ignore[index]
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
        "skippedSources": [
            {"source": "CANADA", "upstream": "canadabuys", "reason": "UNANSWERABLE_CRITERIA", "criteria": ["amended"]}
        ],
    }


async def test_one_successor_failing_leaves_the_others_and_an_error_naming_it() -> None:
    upstreams = world(ita=False)
    upstreams.client("fbofake").failing = True
    outcome = await execute(upstreams, LEADS, {"filter": {"sources": ["CANADA", "FBO", "UK"]}, "first": 100})
    assert outcome.errors == []
    page = outcome.data["leads"]  # type: ignore[index]
    assert {edge["node"]["source"] for edge in page["edges"]} == {"CANADA", "UK"}
    assert len(page["edges"]) == 9 + 11
    assert page["totalCount"] is None  # a source failed: the total is unknown
    assert outcome.reported == [("UPSTREAM_UNAVAILABLE", "fbofake", ("leads",))]


async def test_a_successor_lead_by_its_global_id_and_an_old_ita_id() -> None:
    upstreams = world()
    listed = await execute(upstreams, LEADS, {"filter": {"sources": ["UK"]}, "first": 20})
    nodes = [edge["node"] for edge in listed.data["leads"]["edges"]]  # type: ignore[index]
    fts = next(node for node in nodes if node["leadId"] == "fts-2")
    raw = base64.urlsafe_b64decode(fts["id"] + "=" * (-len(fts["id"]) % 4)).decode()
    assert json.loads(raw.removeprefix("v2:")) == ["Lead", "ukfakeb", "fts-2"]
    query = "query($id: ID!) { lead(id: $id) { id leadId source } node(id: $id) { ... on Lead { leadId } } }"
    outcome = await execute(upstreams, query, {"id": fts["id"]})
    assert outcome.data == {"lead": {"id": fts["id"], "leadId": "fts-2", "source": "UK"}, "node": {"leadId": "fts-2"}}
    assert upstreams.client("ukfakeb").calls["lead"] == 2
    old = await execute(upstreams, query.replace("node(id: $id) { ... on Lead { leadId } }", ""), {"id": "ita-MCA-1"})
    assert old.data["lead"]["source"] == "MCA"  # type: ignore[index]
    assert upstreams.client("ita").calls["lead"] == 1


async def test_search_routes_leads_and_shows_a_successors_notices_once() -> None:
    clients = {
        **standard_clients(),
        "canadabuys": FakeKeysetLeadClient(
            "canadabuys", leads=dated("cb-", "CANADA", 3, 1), tenders=[tender("cb-0", date(2026, 9, 1))]
        ),
        "fbofake": FakeKeysetLeadClient("fbofake", leads=dated("fbo-", "FBO", 3, 1)),
    }
    clients["ita"] = FakeClient("ita", leads=ita_leads())
    upstreams = FakeUpstreams(TEST_SPECS, clients, FakeQuotaGuard({}), {"canadabuys": FakeMirror()})
    query = "{ search(first: 50) { sources { upstream kind asked notAskedBecause } } }"
    outcome = await execute(upstreams, query)
    assert outcome.errors == []
    reports = {(r["upstream"], r["kind"]): r for r in outcome.data["search"]["sources"]}  # type: ignore[index]
    assert reports[("ita", "LEAD")]["asked"] is True
    assert reports[("fbofake", "LEAD")]["asked"] is True
    assert reports[("canadabuys", "LEAD")]["notAskedBecause"] == "its leads are its tender notices, searched as tenders"
    assert reports[("canadabuys", "TENDER")]["asked"] is True
    assert sent_sources(upstreams, "ita") == {("AUSTRALIA", "STATE", "UK", "MCA", "USTDA")}
    leads_only = await execute(
        upstreams, "{ search(first: 50, filter: {kinds: [LEAD]}) { sources { upstream kind asked } } }"
    )
    asked = {(r["upstream"], r["kind"]) for r in leads_only.data["search"]["sources"] if r["asked"]}  # type: ignore[index]
    assert asked == {("ita", "LEAD"), ("canadabuys", "LEAD"), ("fbofake", "LEAD")}


def test_the_routing_of_a_domain_query() -> None:
    route = route_leads(world(), LeadQuery(keywords="pump", sources=("UK", "MCA")))
    assert dict(route.queries) == {
        "ita": LeadQuery(keywords="pump", sources=("MCA",)),
        "ukfakea": LeadQuery(keywords="pump", sources=("UK",)),
        "ukfakeb": LeadQuery(keywords="pump", sources=("UK",)),
    }
    assert route.skipped == ()


# -- OCDS releases and SAM award notices in the other lists ---------------------------------------------------------

RELEASE = {"ocid": "ocds-h6vhtk-04f2b4", "tag": ["compiled"], "tender": {"value": {"amount": 1e6, "currency": "GBP"}}}
TENDERS = "{ tenders(first: 10, filter: {sources: [CANADA]}) { nodes { reference ocid ocds } } }"
CONTRACTS = """query($filter: ContractFilter) { contracts(first: 10, filter: $filter) {
    totalCount pageInfo { hasNextPage } nodes { source piid ocid ocds } } }"""


async def test_ocds_fields_are_the_compiled_release_as_json_and_null_elsewhere() -> None:
    clients = standard_clients()
    canada = clients["canada"]
    canada.tenders = [
        dataclasses.replace(canada.tenders[0], ocid=RELEASE["ocid"], ocds=json.dumps(RELEASE, separators=(",", ":"))),
        canada.tenders[1],
    ]
    canada.contracts = [dataclasses.replace(canada.contracts[0], ocid="ocds-b5fd17-1", ocds='{"ocid":"ocds-b5fd17-1"}')]
    upstreams = FakeUpstreams(SPECS, clients, FakeQuotaGuard({}))
    outcome = await execute(upstreams, TENDERS)
    assert outcome.data["tenders"]["nodes"] == [  # type: ignore[index]
        {"reference": "T0", "ocid": RELEASE["ocid"], "ocds": RELEASE},
        {"reference": "T1", "ocid": None, "ocds": None},
    ]
    contracts = await execute(upstreams, CONTRACTS, {"filter": {"sources": ["CANADA"]}})
    assert contracts.data["contracts"]["nodes"][0]["ocds"] == {"ocid": "ocds-b5fd17-1"}  # type: ignore[index]
    described = SCHEMA.as_str()
    assert "compiled OCDS 1.1 release" in described
    assert "SAMOPPS" in described
    assert "CONTRACTSFINDER" in described
    assert "FINDATENDER" in described


SAMOPPS_FALLBACK = UpstreamSpec(
    name="samopps",
    title="SAM award notices (tests)",
    description="Award notices, made up for the tests",
    docs_url="https://sam.example/docs",
    licence="CC0 1.0 (test data)",
    attribution="Test awards",
    client="tests.schema.fakes:FakeClient",
    kinds=frozenset({RecordKind.CONTRACT}),
    criteria={RecordKind.CONTRACT: frozenset({"keywords", "sources", "piid", "awarded"})},
    default_ttl_s={RecordKind.CONTRACT: 60},
)


async def test_a_sam_award_notice_beside_sams_record_of_its_award_is_passed_over() -> None:
    specs = SPECS if any(spec.name == "samopps" for spec in SPECS) else (*SPECS, SAMOPPS_FALLBACK)
    clients = standard_clients()
    sam = clients["sam"]  # P0..P7, awarded 2025-05-29, -27, ...
    notices = FakeClient(
        "samopps",
        contracts=[
            contract(ContractSource.SAMOPPS, "N1", date(2025, 5, 29), piid="P0"),  # SAM's P0: passed over
            contract(ContractSource.SAMOPPS, "N2", date(2025, 5, 28), piid="Q1"),  # no SAM record: shown
            contract(ContractSource.SAMOPPS, "N3", date(2025, 5, 25), piid="p 2"),  # SAM's P2 (spaces, case): over
            contract(ContractSource.SAMOPPS, "N4", date(2025, 5, 1), piid="Q2"),
        ],
    )
    del clients["canada"]
    upstreams = FakeUpstreams(specs, {**clients, "samopps": notices}, FakeQuotaGuard({}))
    outcome = await execute(upstreams, CONTRACTS, {"filter": {"sources": ["SAM", "SAMOPPS"]}})
    assert outcome.errors == []
    nodes = outcome.data["contracts"]["nodes"]  # type: ignore[index]
    assert [(node["source"], node["piid"]) for node in nodes] == [
        ("SAM", "P0"),
        ("SAMOPPS", "Q1"),
        ("SAM", "P1"),
        ("SAM", "P2"),
        ("SAM", "P3"),
        ("SAM", "P4"),
        ("SAM", "P5"),
        ("SAM", "P6"),
        ("SAM", "P7"),
        ("SAMOPPS", "Q2"),
    ]
    assert sam.calls["search_contracts"] == 1


def test_the_source_enums_name_every_upstream_of_their_kind() -> None:
    assert {source.upstream for source in TenderSource} == {s.name for s in SPECS if s.serves(RecordKind.TENDER)}
    assert {source.value.lower() for source in ContractSource} == {
        s.name for s in SPECS if s.serves(RecordKind.CONTRACT)
    }


def test_the_setting_per_code_is_read_and_checked() -> None:
    settings = Settings.from_env({"GATEWAY_LEADS_UK_FROM": "ita", "GATEWAY_LEADS_FBO_FROM": "successor"})
    assert settings.leads_from() == dict.fromkeys(ITA_CODES, "auto") | {"UK": "ita", "FBO": "successor"}
    with pytest.raises(SettingsError, match="GATEWAY_LEADS_CANADA_FROM must be one of auto, successor, ita"):
        Settings.from_env({"GATEWAY_LEADS_CANADA_FROM": "canadabuys"})


async def test_award_notices_passed_over_stay_behind_the_cursor_across_pages() -> None:
    specs = SPECS if any(spec.name == "samopps" for spec in SPECS) else (*SPECS, SAMOPPS_FALLBACK)
    clients = standard_clients()
    del clients["canada"]
    notices = FakeClient(
        "samopps",
        contracts=[
            contract(ContractSource.SAMOPPS, "N1", date(2025, 5, 29), piid="P0"),
            contract(ContractSource.SAMOPPS, "N2", date(2025, 5, 28), piid="Q1"),
            contract(ContractSource.SAMOPPS, "N3", date(2025, 5, 25), piid="P2"),
        ],
    )
    query = """query($after: String) { contracts(first: 1, after: $after, filter: {sources: [SAM, SAMOPPS]}) {
        pageInfo { hasNextPage endCursor } nodes { source piid } } }"""
    upstreams = FakeUpstreams(specs, {**clients, "samopps": notices}, FakeQuotaGuard({}))
    seen: list[tuple[str, str]] = []
    after = None
    for _ in range(20):
        page = (await execute(upstreams, query, {"after": after})).data["contracts"]  # type: ignore[index]
        seen += [(node["source"], node["piid"]) for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [("SAM", "P0"), ("SAMOPPS", "Q1"), *(("SAM", f"P{n}") for n in range(1, 8))]
