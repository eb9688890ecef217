"""The SAM imitation on generated data: envelope, sections, filters, paging and piidAggregation over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from tests.sandbox_harness import RunningSandbox

SEARCH = "contract-awards/v1/search"
KEY = "sam-sandbox-key-system"
EXAMPLES = (
    "example1.search",
    "example2.search",
    "example4.search-includeSections-contractId-awardDetails-awardeeData",
    "example6.extract-file",
)


async def search(sandbox: RunningSandbox, query: str) -> tuple[int, Any]:
    url = URL(sandbox.url(f"{SEARCH}?api_key={KEY}&{query}"), encoded=True)
    async with sandbox.session.get(url) as response:
        body = await response.read()
        return response.status, json.loads(body) if body else None


async def records(sandbox: RunningSandbox, query: str) -> list[dict[str, Any]]:
    status, body = await search(sandbox, f"limit=100&{query}")
    assert status == 200, body
    items: list[dict[str, Any]] = body["awardSummary"]
    return items


async def total(sandbox: RunningSandbox, query: str) -> int:
    status, body = await search(sandbox, f"includeSections=contractId&{query}")
    return 0 if status == 204 else int(body["totalRecords"])


def key_paths(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + key
            yield from key_paths(value, f"{prefix}{key}.")
    elif isinstance(node, list):
        for item in node:
            yield from key_paths(item, prefix)


def scalars(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for value in node.values():
            yield from scalars(value)
    elif isinstance(node, list):
        for item in node:
            yield from scalars(item)
    else:
        yield node


def load_example(samples_dir: Path, name: str) -> dict[str, Any]:
    path = samples_dir / "sam-contract-awards" / "examples" / f"contract-awards.md.{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


async def test_default_envelope_and_all_scalars_are_strings(sandbox: RunningSandbox) -> None:
    status, body = await search(sandbox, "")
    assert status == 200
    assert list(body) == ["awardSummary", "totalRecords", "limit", "offset"]
    assert (body["totalRecords"], body["limit"], body["offset"]) == ("3000", "10", "0")
    assert len(body["awardSummary"]) == 10
    assert {type(value) for value in scalars(body)} == {str}


async def test_sections_have_example_1_field_names(sandbox: RunningSandbox, samples_dir: Path) -> None:
    example_1 = load_example(samples_dir, "example1.search")["awardSummary"][0]
    recorded_paths = {
        path
        for name in EXAMPLES
        for item in load_example(samples_dir, name)["awardSummary"]
        for path in key_paths(item)
    }
    items = await records(sandbox, "contractingDepartmentCode=9700&awardOrIDVTypeCode=C&modificationNumber=0")
    assert len(items) > 10
    for item in items:
        assert list(item) == ["contractId", "coreData", "awardDetails"]
        for section in ("contractId", "coreData", "awardDetails"):
            assert set(item[section]) == set(example_1[section]), section
        assert set(key_paths(item)) <= recorded_paths
    for item in await records(sandbox, "modificationNumber=!0"):
        assert set(item["contractId"]) - set(example_1["contractId"]) == {"reasonForModification"}
        assert set(item["coreData"]) == set(example_1["coreData"])


async def test_dates_come_in_the_three_upstream_shapes(sandbox: RunningSandbox) -> None:
    item = (await records(sandbox, "closedStatus=Y&awardOrIDV=Award"))[0]
    dates, transaction = item["awardDetails"]["dates"], item["awardDetails"]["transactionData"]
    assert datetime.strptime(dates["dateSigned"], "%Y-%m-%dT00:00:00Z")
    assert datetime.strptime(transaction["approvedDate"], "%Y-%m-%dT%H:%M:%SZ")
    assert datetime.strptime(transaction["lastModifiedDate"], "%Y-%m-%dT%H:%M:%SZ")
    assert datetime.strptime(transaction["createdDate"], "%Y-%m-%dT%H:%M:%S.000Z")
    assert datetime.strptime(dates["periodOfPerformanceStartDate"], "%Y-%m-%d 00:00:00.000")
    assert datetime.strptime(transaction["closedDate"], "%Y-%m-%d %H:%M:%S.000")


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ("contractId", {"contractId": None}),
        ("coreData", {"coreData": None}),
        ("contractId,awardDetails,awardeeData", {"contractId": None, "awardDetails": {"awardeeData"}}),
        ("awardDetails,nasaSpecific", {"awardDetails": {"nasaSpecificData"}}),
        ("contractId,coreData", {"contractId": None, "coreData": None}),
    ],
)
async def test_include_sections(sandbox: RunningSandbox, sections: str, expected: dict[str, Any]) -> None:
    for item in await records(sandbox, f"contractingDepartmentCode=8000&includeSections={sections}"):
        assert set(item) == set(expected)
        for section, inner in expected.items():
            if inner is not None:
                assert set(item[section]) == inner


async def test_full_award_details_include_awardee_and_nasa_data(sandbox: RunningSandbox) -> None:
    item = (await records(sandbox, "contractingDepartmentCode=8000&includeSections=awardDetails"))[0]
    assert {"dates", "dollars", "awardeeData", "nasaSpecificData"} <= set(item["awardDetails"])


async def test_or_and_not_on_codes(sandbox: RunningSandbox) -> None:
    bakeries, software = await total(sandbox, "naicsCode=311812"), await total(sandbox, "naicsCode=541512")
    assert bakeries > 0
    assert software > 0
    assert await total(sandbox, "naicsCode=311812~541512") == bakeries + software
    assert await total(sandbox, "naicsCode=!311812") == 3000 - bakeries
    items = await records(sandbox, "naicsCode=311812~541512&includeSections=coreData")
    assert {item["coreData"]["productOrServiceInformation"]["principalNaics"][0]["code"] for item in items} == {
        "311812",
        "541512",
    }


async def test_not_on_the_parameter_name_as_in_example_2(sandbox: RunningSandbox) -> None:
    items = await records(sandbox, "modificationNumber!=0&includeSections=contractId")
    assert items
    assert all(item["contractId"]["modificationNumber"] != "0" for item in items)
    assert await total(sandbox, "modificationNumber!=0") + await total(sandbox, "modificationNumber=0") == 3000


async def test_percent_encoded_and_raw_syntax_agree(sandbox: RunningSandbox) -> None:
    raw = await total(sandbox, "naicsCode=311812~541512&dateSigned=[01/01/2024,]&awardOrIDV=!IDV")
    encoded = await total(sandbox, "naicsCode=311812%7E541512&dateSigned=%5B01%2F01%2F2024%2C%5D&awardOrIDV=%21IDV")
    assert raw == encoded
    assert raw > 0


async def test_date_ranges(sandbox: RunningSandbox) -> None:
    items = await records(sandbox, "dateSigned=[01/01/2024,06/30/2024]&includeSections=awardDetails")
    assert items
    for item in items:
        signed = date.fromisoformat(item["awardDetails"]["dates"]["dateSigned"][:10])
        assert date(2024, 1, 1) <= signed <= date(2024, 6, 30)
    everything = await total(sandbox, "")
    before, after = await total(sandbox, "dateSigned=[,12/31/2023]"), await total(sandbox, "dateSigned=[01/01/2024,]")
    assert before + after == everything
    single = (await records(sandbox, "includeSections=awardDetails"))[0]["awardDetails"]["dates"]["dateSigned"]
    day = date.fromisoformat(single[:10]).strftime("%m/%d/%Y")
    assert await total(sandbox, f"dateSigned={day}") >= 1


async def test_dollar_ranges(sandbox: RunningSandbox) -> None:
    items = await records(sandbox, "dollarsObligated=[1000,5000.50]&includeSections=awardDetails")
    assert items
    assert all(
        Decimal(1000) <= Decimal(item["awardDetails"]["dollars"]["actionObligation"]) <= Decimal("5000.50")
        for item in items
    )
    negatives = await records(sandbox, "dollarsObligated=[,-0.01]&includeSections=awardDetails")
    assert negatives
    assert all(Decimal(item["awardDetails"]["dollars"]["actionObligation"]) < 0 for item in negatives)


async def test_partial_name_match_is_case_insensitive(sandbox: RunningSandbox) -> None:
    items = await records(sandbox, "awardeeLegalBusinessName=valley&includeSections=awardeeData")
    assert items
    for item in items:
        assert "VALLEY" in item["awardDetails"]["awardeeData"]["awardeeHeader"]["legalBusinessName"]
    assert await total(sandbox, "contractingDepartmentName=defense") == await total(
        sandbox, "contractingDepartmentCode=9700"
    )


async def test_place_of_performance_and_free_text(sandbox: RunningSandbox) -> None:
    items = await records(sandbox, "placeOfPerformStateCode=VA&includeSections=coreData")
    assert items
    assert all(item["coreData"]["principalPlaceOfPerformance"]["state"]["code"] == "VA" for item in items)
    piid = (await records(sandbox, "placeOfPerformStateCode=VA&includeSections=contractId"))[0]["contractId"]["piid"]
    found = await records(sandbox, f"q={piid.lower()}&includeSections=contractId")
    assert found
    assert all(piid in (item["contractId"]["piid"], item["contractId"].get("referencedIDVPiid")) for item in found)
    assert await total(sandbox, "q=NO+SUCH+WORDS+ANYWHERE") == 0


async def test_paging_uses_a_page_index(sandbox: RunningSandbox) -> None:
    _, whole = await search(sandbox, "limit=15&includeSections=contractId")
    pages = []
    for offset in range(3):
        status, body = await search(sandbox, f"limit=5&offset={offset}&includeSections=contractId")
        assert status == 200
        assert (body["limit"], body["offset"], body["totalRecords"]) == ("5", str(offset), "3000")
        pages += body["awardSummary"]
    assert pages == whole["awardSummary"]
    status, body = await search(sandbox, "limit=100&offset=4000&includeSections=contractId")
    assert (status, body["awardSummary"]) == (200, [])


async def test_no_match_is_204_without_a_body(sandbox: RunningSandbox) -> None:
    assert await search(sandbox, "piid=NOSUCHPIID") == (204, None)


async def idv_piid(sandbox: RunningSandbox, type_code: str) -> str:
    item = (await records(sandbox, f"awardOrIDV=IDV&awardOrIDVTypeCode={type_code}&modificationNumber=0"))[0]
    piid: str = item["contractId"]["piid"]
    return piid


async def family_totals(sandbox: RunningSandbox, query: str) -> tuple[int, int, Decimal]:
    items = await records(sandbox, f"{query}&includeSections=contractId,awardDetails")
    dollars = sum((Decimal(item["awardDetails"]["dollars"]["actionObligation"]) for item in items), Decimal(0))
    bases = len({(i["contractId"]["piid"]) for i in items if i["contractId"]["modificationNumber"] == "0"})
    return bases, len(items), dollars


async def test_piid_aggregation_of_an_idv_counts_its_orders(sandbox: RunningSandbox) -> None:
    piid = await idv_piid(sandbox, "B")
    status, body = await search(sandbox, f"piid={piid}&piidAggregation=yes")
    assert status == 200
    aggregation = body["piidAggregation"]
    assert list(aggregation) == ["awardFamilySummary", "referencingDosOrBpaCallsSummary"]
    family = await family_totals(sandbox, f"piid={piid}")
    assert aggregation["awardFamilySummary"]["count"] == str(family[1]) == body["totalRecords"]
    assert Decimal(aggregation["awardFamilySummary"]["totalDollars"]) == family[2]
    bases, count, dollars = await family_totals(sandbox, f"referencedIdvPiid={piid}")
    orders = aggregation["referencingDosOrBpaCallsSummary"]
    assert (orders["baseCount"], orders["totalCount"]) == (str(bases), str(count))
    assert Decimal(orders["totalDollars"]) == dollars
    assert list(body) == ["piidAggregation", "awardSummary", "totalRecords", "limit", "offset"]


async def test_piid_aggregation_of_an_fss_counts_bpas_and_calls(sandbox: RunningSandbox) -> None:
    piid = await idv_piid(sandbox, "C")
    status, body = await search(sandbox, f"piid={piid}&piidAggregation=yes")
    assert status == 200
    aggregation = body["piidAggregation"]
    assert list(aggregation) == ["awardFamilySummary", "bpaSummary", "bpaCallSummary"]
    bpas = await records(sandbox, f"referencedIdvPiid={piid}&includeSections=contractId")
    assert aggregation["bpaSummary"]["totalCount"] == str(len(bpas))
    bpa_piids = "~".join(sorted({item["contractId"]["piid"] for item in bpas}))
    _, calls, dollars = await family_totals(sandbox, f"referencedIdvPiid={bpa_piids}")
    assert aggregation["bpaCallSummary"]["totalCount"] == str(calls)
    assert Decimal(aggregation["bpaCallSummary"]["totalDollars"]) == dollars


async def test_piid_aggregation_of_an_award_has_no_order_blocks(sandbox: RunningSandbox) -> None:
    piid = (await records(sandbox, "awardOrIDVTypeCode=D&awardOrIDV=AWARD"))[0]["contractId"]["piid"]
    _, body = await search(sandbox, f"piid={piid}&piidAggregation=yes")
    assert list(body["piidAggregation"]) == ["awardFamilySummary"]


async def test_piid_aggregation_needs_referenced_idv_when_piid_is_shared(sandbox: RunningSandbox) -> None:
    status, body = await search(sandbox, "piid=0001&piidAggregation=yes")
    assert status == 400
    assert "'referencedIdvPiid' when the 'piid' is not unique" in body["message"]
    idv = (await records(sandbox, "piid=0001&includeSections=contractId"))[0]["contractId"]["referencedIDVPiid"]
    status, body = await search(sandbox, f"piid=0001&referencedIdvPiid={idv}&piidAggregation=yes")
    assert status == 200
    assert int(body["piidAggregation"]["awardFamilySummary"]["count"]) == int(body["totalRecords"]) >= 1


async def test_deleted_status_serves_recently_deleted_records(sandbox: RunningSandbox) -> None:
    status, body = await search(sandbox, "deletedStatus=yes&limit=100&includeSections=contractId,awardDetails")
    assert status == 200
    assert body["totalRecords"] == "30"
    live = await total(sandbox, f"piid={body['awardSummary'][0]['contractId']['piid']}")
    assert live == 0
