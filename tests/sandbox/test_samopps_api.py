"""The SAM.gov Get Opportunities v2 imitation over HTTP: the doc's envelope and examples, parameters, errors, paging,
the key quota shared with Contract Awards, the description link, and award numbers that join Contract Awards."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.samopps_data import PTYPES
from tests.sandbox_harness import SANDBOX_API_KEYS, RunningSandbox

SEARCH = "opportunities/v2/search"
KEY = SANDBOX_API_KEYS["sam"]
NONFED = "sam-sandbox-key-nonfed"  # 10 calls a day
DEPRECATED_V1_FIELDS = {"department", "subTier", "office"}  # Example 1 predates v2's fullParentPath* fields


def mmddyyyy(day: date) -> str:
    return day.strftime("%m/%d/%Y")


TODAY = datetime.now(UTC).date()
WHOLE_RANGE = f"postedFrom={mmddyyyy(TODAY - timedelta(days=200))}&postedTo={mmddyyyy(TODAY + timedelta(days=30))}"


async def call(sandbox: RunningSandbox, query: str, *, key: str | None = KEY) -> tuple[int, Any]:
    prefix = f"api_key={key}&" if key is not None else ""
    async with sandbox.session.get(sandbox.url(f"{SEARCH}?{prefix}{query}")) as response:
        return response.status, json.loads(await response.read())


async def everything(sandbox: RunningSandbox, query: str = "") -> list[dict[str, Any]]:
    status, body = await call(sandbox, f"{WHOLE_RANGE}&limit=1000&{query}")
    assert status == 200, body
    assert body["totalRecords"] == len(body["opportunitiesData"])
    items: list[dict[str, Any]] = body["opportunitiesData"]
    return items


def doc_examples(upstream_docs: Path) -> list[Any]:
    page = (upstream_docs / "sam-opportunities" / "get-opportunities-public-api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<code><pre>(.*?)</pre></code>", page, flags=re.DOTALL)
    return [json.loads(block) for block in blocks if block.lstrip().startswith("{")]


def json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def assert_shape_covers(example: dict[str, Any], served: dict[str, Any], path: str = "") -> None:
    """Every key of the doc's example is served, with the example's JSON type (null in the example: any type)."""
    for key, value in example.items():
        assert key in served, f"{path}{key} missing"
        if value is None or served[key] is None:
            continue
        assert json_type(served[key]) == json_type(value), f"{path}{key}: {served[key]!r} vs {value!r}"
        if isinstance(value, dict):
            assert_shape_covers(value, served[key], f"{path}{key}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            assert_shape_covers(value[0], served[key][0], f"{path}{key}[].")


async def test_the_envelope_and_records_have_the_documented_shape(sandbox: RunningSandbox, upstream_docs: Path) -> None:
    example1, example2 = doc_examples(upstream_docs)
    status, body = await call(sandbox, f"{WHOLE_RANGE}&ptype=a&limit=50")
    assert status == 200
    assert list(body) == ["totalRecords", "limit", "offset", "opportunitiesData", "links"]
    assert (body["limit"], body["offset"]) == (50, 0)
    assert json_type(body["totalRecords"]) == json_type(example1["totalRecords"]) == "number"
    assert set(body["links"][0]) == set(example1["links"][0])
    assert body["links"][0]["rel"] == "self"
    assert "api_key" not in body["links"][0]["href"]
    award_notice = next(  # a US awardee and place of performance, as in the example (foreign ones have no state)
        item
        for item in body["opportunitiesData"]
        if "state" in item["award"]["awardee"]["location"] and "state" in item["placeOfPerformance"]
    )
    assert_shape_covers(example2, award_notice)
    v1_record = {k: v for k, v in example1["opportunitiesData"][0].items() if k not in DEPRECATED_V1_FIELDS}
    assert_shape_covers(v1_record, award_notice)
    assert award_notice["type"] == "Award Notice"
    assert re.fullmatch(r"[0-9a-f]{32}", award_notice["noticeId"])
    assert award_notice["active"] in {"Yes", "No"}
    assert award_notice["uiLink"] == f"https://sam.gov/opp/{award_notice['noticeId']}/view"
    description_link = f"/prod/opportunities/v1/noticedesc?noticeid={award_notice['noticeId']}"
    assert award_notice["description"].endswith(description_link)
    assert len(award_notice["fullParentPathName"].split(".")) == len(award_notice["fullParentPathCode"].split(".")) == 3
    assert re.fullmatch(r"\d+\.\d{2}", award_notice["award"]["amount"])
    contact = award_notice["pointOfContact"][0]
    assert contact["type"] == "primary"
    assert "@" in contact["email"]
    assert re.fullmatch(r"\d{10}", contact["phone"])


async def test_default_limit_is_one_and_offset_skips_records(sandbox: RunningSandbox) -> None:
    status, body = await call(sandbox, WHOLE_RANGE)
    assert status == 200
    assert body["limit"] == 1
    assert len(body["opportunitiesData"]) == 1
    listing = await everything(sandbox)
    assert body["totalRecords"] == len(listing) == 600
    served: list[str] = []
    for offset in range(0, len(listing), 250):
        status, page = await call(sandbox, f"{WHOLE_RANGE}&limit=250&offset={offset}")
        assert status == 200
        assert page["offset"] == offset
        served += [item["noticeId"] for item in page["opportunitiesData"]]
    assert served == [item["noticeId"] for item in listing]
    assert len(set(served)) == 600
    posted = [item["postedDate"] for item in listing]
    assert posted == sorted(posted, reverse=True)


async def test_limit_zero_answers_the_total_only(sandbox: RunningSandbox) -> None:
    status, body = await call(sandbox, f"{WHOLE_RANGE}&limit=0")
    assert status == 200
    assert body["totalRecords"] == 600
    assert body["opportunitiesData"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=5", "PostedFrom and PostedTo are mandatory"),
        ("postedFrom=01/01/2026&limit=5", "PostedFrom and PostedTo are mandatory"),
        ("postedFrom=2026-01-01&postedTo=01/31/2026", "Invalid Date Entered. Expected date format is MM/dd/yyyy"),
        ("postedFrom=02/30/2026&postedTo=03/31/2026", "Invalid Date Entered. Expected date format is MM/dd/yyyy"),
        ("postedFrom=01/01/2025&postedTo=01/02/2026", "Date range must be 1 year(s) apart"),
        (f"{WHOLE_RANGE}&rdlfrom=01/01/2025&rdlto=06/01/2026", "Date range must be 1 year(s) apart"),
        (f"{WHOLE_RANGE}&rdlfrom=1/1/2026", "Invalid Date Entered. Expected date format is MM/dd/yyyy"),
        (f"{WHOLE_RANGE}&limit=1001", "Limit valid range is 0-1000. Please provide valid input."),
        (f"{WHOLE_RANGE}&limit=ten", "limit/offset must be a positive number."),
        (f"{WHOLE_RANGE}&offset=-1", "limit/offset must be a positive number."),
    ],
)
async def test_bad_requests_answer_the_documented_messages(sandbox: RunningSandbox, query: str, message: str) -> None:
    assert await call(sandbox, query) == (400, {"errorCode": "400", "errorMessage": message})


async def test_a_year_apart_is_allowed(sandbox: RunningSandbox) -> None:
    status, _ = await call(sandbox, "postedFrom=01/01/2025&postedTo=01/01/2026&limit=0")
    assert status == 404  # valid range, nothing posted then


async def test_no_hits_is_404_no_data_found(sandbox: RunningSandbox) -> None:
    assert await call(sandbox, f"{WHOLE_RANGE}&noticeid=0000") == (
        404,
        {"errorCode": "404", "errorMessage": "No Data found"},
    )


async def test_keys_are_checked_first(sandbox: RunningSandbox) -> None:
    assert await call(sandbox, WHOLE_RANGE, key=None) == (
        403,
        {"error": {"code": "API_KEY_MISSING", "message": "No api_key was supplied"}},
    )
    assert await call(sandbox, "limit=5", key="not-a-key") == (
        403,
        {"error": {"code": "API_KEY_INVALID", "message": "An invalid api_key was supplied"}},
    )


async def test_the_daily_quota_is_shared_with_contract_awards(sandbox: RunningSandbox) -> None:
    await sandbox.set_clock("2030-05-05T12:00:00+00:00")
    for _ in range(5):
        async with sandbox.session.get(sandbox.url(f"contract-awards/v1/search?api_key={NONFED}&limit=1")) as r:
            assert r.status == 200
    for _ in range(4):
        assert (await call(sandbox, "limit=1", key=NONFED))[0] == 400  # bad input counts too
    assert (await call(sandbox, f"{WHOLE_RANGE}", key=NONFED))[0] == 200
    async with sandbox.session.get(sandbox.url(f"{SEARCH}?api_key={NONFED}&{WHOLE_RANGE}")) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == str(12 * 3600)
        assert await response.json() == {
            "code": "900804",
            "message": "Message throttled out",
            "description": "You have exceeded your quota .You can access API after 2030-May-06 00:00:00+0000 UTC",
            "nextAccessTime": "2030-May-06 00:00:00+0000 UTC",
        }
    async with sandbox.session.get(sandbox.url(f"contract-awards/v1/search?api_key={NONFED}")) as response:
        assert response.status == 429
    assert (await call(sandbox, f"{WHOLE_RANGE}&limit=0"))[0] == 200  # another key, its own quota


async def test_the_description_link_answers_the_text_and_costs_a_call(sandbox: RunningSandbox) -> None:
    await sandbox.set_clock("2030-05-07T12:00:00+00:00")
    _, body = await call(sandbox, WHOLE_RANGE, key=NONFED)
    link = body["opportunitiesData"][0]["description"]
    async with sandbox.session.get(f"{link}&api_key={NONFED}") as response:
        assert response.status == 200
        text = (await response.json())["description"]
    assert "Résumés of key personnel" in text
    assert "\u2019" in text
    async with sandbox.session.get(sandbox.url(f"prod/opportunities/v1/noticedesc?noticeid=abc&api_key={KEY}")) as r:
        assert (r.status, await r.json()) == (404, {"errorCode": "404", "errorMessage": "Description Not Found"})
    async with sandbox.session.get(link) as response:
        assert response.status == 403
    for _ in range(8):
        await call(sandbox, WHOLE_RANGE, key=NONFED)
    async with sandbox.session.get(f"{link}&api_key={NONFED}") as response:
        assert response.status == 429


async def test_ptype_matches_the_current_type_repeated_or_comma_separated(sandbox: RunningSandbox) -> None:
    listing = await everything(sandbox)
    for code, name in PTYPES.items():
        expected = [item["noticeId"] for item in listing if item["type"] == name]
        if expected:
            assert [item["noticeId"] for item in await everything(sandbox, f"ptype={code}")] == expected
    both = {item["noticeId"] for item in listing if item["type"] in {"Solicitation", "Combined Synopsis/Solicitation"}}
    assert {item["noticeId"] for item in await everything(sandbox, "ptype=o&ptype=k")} == both
    assert {item["noticeId"] for item in await everything(sandbox, "ptype=o,k")} == both
    assert (await call(sandbox, f"{WHOLE_RANGE}&ptype=f"))[0] == 404  # retired


async def test_filters_match_their_fields(sandbox: RunningSandbox) -> None:
    listing = await everything(sandbox)
    sample = next(
        item
        for item in listing
        if item["typeOfSetAside"] and item["responseDeadLine"] and "state" in item["placeOfPerformance"]
    )
    place = sample["placeOfPerformance"]
    checks: dict[str, Callable[[dict[str, Any]], bool]] = {
        f"noticeid={sample['noticeId']}": lambda item: item["noticeId"] == sample["noticeId"],
        f"solnum={sample['solicitationNumber']}": lambda item: (
            item["solicitationNumber"] == sample["solicitationNumber"]
        ),
        "title=SUPPORT": lambda item: "SUPPORT" in item["title"].upper(),
        f"state={place['state']['code']}": lambda item: (
            item["placeOfPerformance"].get("state", {}).get("code") == place["state"]["code"]
        ),
        f"zip={place['zip']}": lambda item: item["placeOfPerformance"]["zip"] == place["zip"],
        f"ncode={sample['naicsCode']}": lambda item: item["naicsCode"] == sample["naicsCode"],
        f"ccode={sample['classificationCode']}": lambda item: (
            item["classificationCode"] == sample["classificationCode"]
        ),
        f"typeOfSetAside={sample['typeOfSetAside']}": lambda item: item["typeOfSetAside"] == sample["typeOfSetAside"],
        "typeOfSetAsideDescription=HUBZone": lambda item: "HUBZone" in (item["typeOfSetAsideDescription"] or ""),
        "organizationCode=4732": lambda item: "4732" in item["fullParentPathCode"].split("."),
        "organizationName=NAVY": lambda item: "NAVY" in item["fullParentPathName"],
    }
    for query, matches in checks.items():
        found = await everything(sandbox, query)
        assert found, query
        assert all(matches(item) for item in found), query
        assert [item for item in listing if matches(item)] == found, query
    deadline = date.fromisoformat(sample["responseDeadLine"][:10])
    window = f"rdlfrom={mmddyyyy(deadline)}&rdlto={mmddyyyy(deadline + timedelta(days=3))}"
    found = await everything(sandbox, window)
    assert sample["noticeId"] in {item["noticeId"] for item in found}
    last = deadline + timedelta(days=3)
    assert all(deadline <= date.fromisoformat(item["responseDeadLine"][:10]) <= last for item in found)


async def test_posted_dates_bound_the_answer(sandbox: RunningSandbox) -> None:
    listing = await everything(sandbox)
    day = date.fromisoformat(listing[40]["postedDate"])
    status, body = await call(sandbox, f"postedFrom={mmddyyyy(day)}&postedTo={mmddyyyy(day)}&limit=1000")
    assert status == 200
    assert {item["noticeId"] for item in body["opportunitiesData"]} == {
        item["noticeId"] for item in listing if item["postedDate"] == day.isoformat()
    }


async def test_award_notices_join_contract_awards_by_award_number(sandbox: RunningSandbox) -> None:
    awards = [item for item in await everything(sandbox, "ptype=a") if item.get("award")]
    joined = 0
    for notice in awards:
        piid = notice["award"]["number"]
        url = sandbox.url(f"contract-awards/v1/search?api_key={KEY}&piid={piid}")
        async with sandbox.session.get(url) as response:
            if response.status == 204:
                continue
            record = (await response.json())["awardSummary"][0]
        joined += 1
        assert record["contractId"]["piid"] == piid
        uei = record["awardDetails"]["awardeeData"]["awardeeUEIInformation"]["uniqueEntityId"]
        assert uei == notice["award"]["awardee"]["ueiSAM"]
    async with sandbox.session.get(sandbox.url("_sandbox/samopps")) as response:
        assert joined == (await response.json())["joined_piids"]
    assert joined >= 30
    assert len(awards) - joined >= 30  # the others exist nowhere else


async def test_requests_are_counted_per_route(sandbox: RunningSandbox) -> None:
    await call(sandbox, WHOLE_RANGE)
    await call(sandbox, "limit=1")
    async with sandbox.session.get(sandbox.url("prod/opportunities/v1/noticedesc?noticeid=x&api_key=" + KEY)) as r:
        assert r.status == 404
    assert await sandbox.hits("samopps.search") == 2
    assert await sandbox.hits("samopps.description") == 1
    assert all("api_key" not in query for query in await sandbox.requests("samopps.search"))
