"""The SAM imitation in samples mode replays the doc's examples: same records, sections, field names, string types."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.sandbox_harness import RunningSandbox

SEARCH = "contract-awards/v1/search"
KEY = "sam-sandbox-key"


def example(samples_dir: Path, name: str) -> dict[str, Any]:
    path = samples_dir / "sam-contract-awards" / "examples" / name
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def non_string_scalars(node: Any, path: str = "") -> list[str]:
    if isinstance(node, dict):
        return [bad for key, value in node.items() for bad in non_string_scalars(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [bad for item in node for bad in non_string_scalars(item, f"{path}[]")]
    return [] if isinstance(node, str) else [path]


async def search(sandbox: RunningSandbox, query: str) -> tuple[int, Any]:
    async with sandbox.session.get(sandbox.url(f"{SEARCH}?api_key={KEY}&{query}")) as response:
        body = await response.read()
        return response.status, json.loads(body) if body else None


async def test_envelope_and_every_scalar_is_a_string(sample_sandbox: RunningSandbox) -> None:
    status, body = await search(sample_sandbox, "limit=100")
    assert status == 200
    assert set(body) == {"awardSummary", "totalRecords", "limit", "offset"}
    assert (body["totalRecords"], body["limit"], body["offset"]) == ("9", "100", "0")
    assert len(body["awardSummary"]) == 9
    doc_examples = [item for item in body["awardSummary"] if item["contractId"]["piid"] != "NN1234567"]
    assert len(doc_examples) == 8
    assert non_string_scalars({**body, "awardSummary": doc_examples}) == []
    # the draft's DUMMY record is served verbatim, nulls included (clients must tolerate them)
    dummy = next(item for item in body["awardSummary"] if item["contractId"]["piid"] == "NN1234567")
    assert non_string_scalars(dummy) == [
        ".awardDetails.transactionData.closedBy",
        ".awardDetails.transactionData.closedDate",
        ".awardDetails.transactionData.closedStatus",
    ]


async def test_example_1_record_is_served_verbatim(sample_sandbox: RunningSandbox, samples_dir: Path) -> None:
    recorded = example(samples_dir, "contract-awards.md.example1.search.json")
    status, body = await search(
        sample_sandbox,
        "lastModifiedDate=[01/01/2025,]&dollarsObligated=[0.0,100000000.99]&modificationNumber=0"
        "&contractingDepartmentCode=9700",
    )
    assert status == 200
    assert body["awardSummary"] == recorded["awardSummary"]
    assert body["totalRecords"] == "1"


async def test_example_3_request_answers_its_contract_ids(sample_sandbox: RunningSandbox, samples_dir: Path) -> None:
    recorded = example(samples_dir, "contract-awards.md.example3.search-includeSections-contractId.json")
    status, body = await search(
        sample_sandbox,
        "awardOrIDV=IDV&closedDate=[01/01/2025,]&contractingDepartmentCode=4700&includeSections=contractId",
    )
    assert status == 200
    assert body["awardSummary"] == recorded["awardSummary"]
    assert all(set(item) == {"contractId"} for item in body["awardSummary"])


async def test_example_4_awardee_data_lives_inside_award_details(
    sample_sandbox: RunningSandbox, samples_dir: Path
) -> None:
    recorded = example(
        samples_dir, "contract-awards.md.example4.search-includeSections-contractId-awardDetails-awardeeData.json"
    )
    status, body = await search(
        sample_sandbox,
        "coBusSizeDeterminationCode=S&placeOfPerformStateCode=VA&fiscalYear=2025&productOrServiceType=SERVICE"
        "&includeSections=contractId,awardDetails,awardeeData",
    )
    assert status == 200
    assert body["awardSummary"] == recorded["awardSummary"]
    example_1 = example(samples_dir, "contract-awards.md.example1.search.json")["awardSummary"][0]
    status, body = await search(
        sample_sandbox, "piid=SPE3SU25F97V0&includeSections=contractId,awardDetails,awardeeData"
    )
    item = body["awardSummary"][0]
    assert set(item) == {"contractId", "awardDetails"}
    assert item["awardDetails"] == {"awardeeData": example_1["awardDetails"]["awardeeData"]}


async def test_example_5_deleted_records(sample_sandbox: RunningSandbox, samples_dir: Path) -> None:
    recorded = example(samples_dir, "contract-awards.md.example5.search-deletedStatus.json")
    status, body = await search(
        sample_sandbox, "deletedStatus=yes&lastModifiedDate=[10/01/2025,10/02/2025]&includeSections=contractId"
    )
    assert status == 200
    assert body["awardSummary"] == recorded["awardSummary"]
    status, body = await search(sample_sandbox, "piid=DJM17D24D0024")
    assert (status, body) == (204, None)


def openapi_properties(samples_dir: Path, schema: str) -> set[str]:
    text = (samples_dir / "sam-contract-awards/_apidocs/contract-awards/v1/openapi.yaml").read_text(encoding="utf-8")
    block = re.search(rf"^    {schema}:\n(.*?)(?=^    \S)", text, re.MULTILINE | re.DOTALL)
    assert block is not None
    return set(re.findall(r"^        (\w+):", block.group(1), re.MULTILINE))


async def test_piid_aggregation_matches_openapi_and_dummy_sample(
    sample_sandbox: RunningSandbox, samples_dir: Path
) -> None:
    dummy = example(samples_dir, "sam-getList-Contracts-api.md@3508ebff.sample-response.DUMMY.json")
    status, body = await search(sample_sandbox, "piid=NN1234567&piidAggregation=yes")
    assert status == 200
    aggregation = body["piidAggregation"]
    assert aggregation == dummy["piidAggregation"]
    assert set(aggregation) == openapi_properties(samples_dir, "PiidAggregation")
    assert set(aggregation["awardFamilySummary"]) == openapi_properties(samples_dir, "AwardFamilySummary")
    for block in ("referencingDosOrBpaCallsSummary", "bpaSummary", "bpaCallSummary"):
        assert set(aggregation[block]) == {"baseCount", "totalCount", "totalDollars"}
    assert set(body["awardSummary"][0]) == set(dummy["awardSummary"][0])


async def test_piid_aggregation_of_an_award_has_only_the_family_summary(sample_sandbox: RunningSandbox) -> None:
    status, body = await search(sample_sandbox, "piid=SPE3SU25F97V0&piidAggregation=yes&includeSections=contractId")
    assert status == 200
    assert body["piidAggregation"] == {"awardFamilySummary": {"count": "1", "totalDollars": "202.39"}}
