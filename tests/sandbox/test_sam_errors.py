"""Each documented SAM error the imitation reproduces, checked against the doc's transcription of its bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from tests.sandbox_harness import RunningSandbox

SEARCH = "contract-awards/v1/search"
KEY = "sam-sandbox-key-system"
MANY = "~".join(f"{n:06d}" for n in range(101))
UEIS = "~".join(f"UEI{n:09d}" for n in range(101))


def documented(samples_dir: Path, condition: str) -> dict[str, Any]:
    path = samples_dir / "sam-contract-awards" / "examples" / "contract-awards.md.http-response-codes.json"
    table = json.loads(path.read_text(encoding="utf-8"))["errors"]
    row: dict[str, Any] = next(row for row in table if row["condition"] == condition)
    return row


async def call(sandbox: RunningSandbox, query: str, path: str = SEARCH) -> tuple[int, Any, str]:
    async with sandbox.session.get(URL(sandbox.url(f"{path}?{query}"), encoded=True)) as response:
        body = await response.read()
        return response.status, json.loads(body) if body else None, response.content_type


@pytest.mark.parametrize(
    ("query", "condition"),
    [
        ("dateSigned=2025-01-01", 'Invalid "Date" format'),
        ("lastModifiedDate=[01/01/2025,13/45/2025]", 'Invalid "Date" format'),
        ("approvedDate=[01/01/2025", 'Invalid "Date" format'),
        ("dollarsObligated=1,000", 'Invalid "Dollar" format'),
        ("totalDollarsObligated=[five,10]", 'Invalid "Dollar" format'),
        (
            "q=roads%20includeSections=contractId",
            "If 'includeSections', 'emailId' or 'format' is sent in the \"q\" parameter",
        ),
        ("q=format:csv", "If 'includeSections', 'emailId' or 'format' is sent in the \"q\" parameter"),
        (f"awardeeUniqueEntityId={UEIS}", "More than 100 UEI values are sent"),
        (f"ultimateParentUniqueEntityId={UEIS}", "More than 100 Parent UEI values are sent"),
        (f"consortiaUEI={UEIS}", "More than 100 Consortia UEI values are sent"),
        (f"awardeeCageCode={MANY}", "More than 100 CAGE Code values are sent"),
        (f"productOrServiceCode={MANY}", "More than 100 PSC Codes are sent"),
        (f"naicsCode={MANY}", "More than 100 NAICS Codes are sent"),
        ("emailId=yes", '"emailId" is sent on its own'),
        ("piidAggregation=yes", '"piidaggregation" is sent on its own'),
        ("piidAggregation=yes&piid=0002", '"piidaggregation" is sent with a PIID that is not unique'),
        ("limit=101", "Query parameter limit sent with a value greater than 100"),
        ("limit=100&offset=4001", "Query parameter 'limit' multiplied by 'offset' is greater than 400,000"),
    ],
)
async def test_documented_400s(sandbox: RunningSandbox, samples_dir: Path, query: str, condition: str) -> None:
    row = documented(samples_dir, condition)
    status, body, content_type = await call(sandbox, f"api_key={KEY}&{query}")
    assert (status, content_type) == (400, "application/json")
    assert body == {"message": row["message"], "detail": row["detail"]}


async def test_unknown_parameter_is_named(sandbox: RunningSandbox, samples_dir: Path) -> None:
    row = documented(samples_dir, "Invalid Search Parameter")
    status, body, _ = await call(sandbox, f"api_key={KEY}&awardeeNickname=ACME")
    assert status == 400
    assert body == {
        "message": row["message"].replace("< user-provided invalid parameter >", "awardeeNickname"),
        "detail": row["detail"],
    }


@pytest.mark.parametrize(
    ("query", "condition"),
    [("", "Missing API Key"), ("api_key=", "Missing API Key"), ("api_key=not-a-key", "An invalid API Key")],
)
async def test_documented_403s(sandbox: RunningSandbox, samples_dir: Path, query: str, condition: str) -> None:
    status, body, _ = await call(sandbox, query)
    assert status == 403
    assert body["message"] == documented(samples_dir, condition)["message"]


@pytest.mark.parametrize("value", ["A%26B", "A|B", "A%7CB", "A{B", "A%7DB", "A%5EB", "A%5CB"])
async def test_forbidden_characters_are_refused(sandbox: RunningSandbox, value: str) -> None:
    status, body, _ = await call(sandbox, f"api_key={KEY}&awardeeLegalBusinessName={value}")
    assert status == 400
    assert "not allowed" in body["message"]


@pytest.mark.parametrize(
    "query",
    [
        "limit=ten",
        "offset=-1",
        "includeSections=contractId,budget",
        "format=xml",
        "dateSigned=[,]",
        "fiscalYear=2025&naicsCode=!null&q=%00%ff",
        "dollarsObligated=1e5",
    ],
)
async def test_malformed_input_gets_an_upstream_style_answer_not_a_500(sandbox: RunningSandbox, query: str) -> None:
    status, body, _ = await call(sandbox, f"api_key={KEY}&{query}")
    assert status in {200, 204, 400}
    if status == 400:
        assert set(body) == {"message", "detail"}


async def test_limit_100_is_allowed(sandbox: RunningSandbox) -> None:
    status, body, _ = await call(sandbox, f"api_key={KEY}&limit=100&includeSections=contractId")
    assert (status, len(body["awardSummary"]), body["limit"]) == (200, 100, "100")


async def test_extract_token_then_not_ready_then_file(sandbox: RunningSandbox, samples_dir: Path) -> None:
    example = json.loads(
        (samples_dir / "sam-contract-awards/examples/contract-awards.md.example6.extract-token.json").read_text(
            encoding="utf-8"
        )
    )
    status, token_body, _ = await call(sandbox, f"api_key={KEY}&format=JSON&emailId=Yes&naicsCode=311812")
    assert status == 200
    assert set(token_body) == set(example)
    assert token_body["message"] == example["message"]
    token = token_body["exportToken"]
    assert token_body["presignedUrl"].endswith(
        f"/contract-awards/v1/download?api_key=REPLACE_WITH_API_KEY&token={token}"
    )
    download = f"api_key={KEY}&token={token}"
    row = documented(samples_dir, "JSON or CSV file generation is in-progress")
    status, body, _ = await call(sandbox, download, "contract-awards/v1/download")
    assert (status, body) == (400, {"message": row["message"], "details": row["detail"]})
    status, body, _ = await call(sandbox, download, "contract-awards/v1/download")
    assert status == 200
    _, search_body, _ = await call(sandbox, f"api_key={KEY}&naicsCode=311812")
    assert body["totalRecords"] == search_body["totalRecords"]
    assert len(body["awardSummary"]) == int(search_body["totalRecords"])
    assert body["offset"] == "null"


async def test_csv_extract_and_expired_token(sandbox: RunningSandbox, samples_dir: Path) -> None:
    _, token_body, _ = await call(sandbox, f"api_key={KEY}&format=csv&piid=0001&includeSections=contractId")
    download = f"api_key={KEY}&token={token_body['exportToken']}"
    await call(sandbox, download, "contract-awards/v1/download")
    async with sandbox.session.get(URL(sandbox.url(f"contract-awards/v1/download?{download}"), encoded=True)) as resp:
        assert (resp.status, resp.content_type) == (200, "text/csv")
        lines = (await resp.text()).splitlines()
    assert lines[0].startswith("contractId.subtier.code,contractId.subtier.name,contractId.piid")
    assert all(",0001," in line for line in lines[1:])
    row = documented(samples_dir, "Using an expired Token for downloading JSON or CSV files")
    status, body, _ = await call(sandbox, f"api_key={KEY}&token=nosuchtoken", "contract-awards/v1/download")
    assert (status, body) == (400, {"message": row["message"], "detail": row["detail"]})
    status, _, _ = await call(sandbox, "token=nosuchtoken", "contract-awards/v1/download")
    assert status == 403
