"""The Find a Tender OCDS API imitation over HTTP: release packages by window and cursor, by notice id and ocid,
record packages, the documented 400/404 bodies, 429/503 pacing on the sandbox clock, and `1e9999`/`000` literals."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from yarl import URL

from tests.sandbox_harness import RunningSandbox

RELEASES = "api/1.0/ocdsReleasePackages"
RECORDS = "api/1.0/ocdsRecordPackages"
KNOBS = "_sandbox/findatender"
FAST = {"requests_per_window": 10_000}  # paging tests are not pacing tests


async def get(sandbox: RunningSandbox, url: str) -> tuple[int, dict[str, str], bytes]:
    async with sandbox.session.get(URL(url, encoded=True)) as response:
        return response.status, dict(response.headers), await response.read()


def parse(body: bytes) -> Any:
    """The body as a lenient client reads it: the publisher's invalid number literals patched first."""
    return json.loads(body.replace(b": 1e9999", b": null").replace(b": 000", b": 0"))


async def set_knobs(sandbox: RunningSandbox, **knobs: Any) -> dict[str, Any]:
    async with sandbox.session.put(sandbox.url(KNOBS), json=knobs) as response:
        assert response.status == 200, await response.text()
        state: dict[str, Any] = await response.json()
        return state


async def follow(sandbox: RunningSandbox, query: str) -> list[dict[str, Any]]:
    url: str | None = sandbox.url(f"{RELEASES}?{query}")
    releases: list[dict[str, Any]] = []
    while url is not None:
        status, _, body = await get(sandbox, url)
        assert status == 200, body
        package = parse(body)
        releases += package["releases"]
        url = package.get("links", {}).get("next")
        if url is not None:
            cursor = URL(url).query["cursor"]
            assert re.fullmatch(r"[A-Za-z0-9=]{1,300}", cursor)
    return releases


async def test_cursors_serve_every_release_once_and_windows_filter(sandbox: RunningSandbox) -> None:
    await set_knobs(sandbox, **FAST)
    releases = await follow(sandbox, "limit=100")
    assert len(releases) == 482
    assert len({release["id"] for release in releases}) == 482
    moments = [datetime.fromisoformat(release["date"]) for release in releases]
    assert moments == sorted(moments)
    start, end = moments[100], moments[300]
    window = f"updatedFrom={start.astimezone(UTC):%Y-%m-%dT%H:%M:%S}&updatedTo={end.astimezone(UTC):%Y-%m-%dT%H:%M:%S}"
    inside = await follow(sandbox, window + "&limit=33")
    assert [r["id"] for r in inside] == [r["id"] for r, m in zip(releases, moments, strict=True) if start <= m <= end]
    awards = await follow(sandbox, "stages=award&limit=100")
    assert {release["tag"][0] for release in awards} == {"award", "contract"}
    tender = await follow(sandbox, "stages=tender,planning&limit=100")
    assert len(tender) + len(awards) == len(releases)


async def test_the_package_envelope(sandbox: RunningSandbox) -> None:
    status, headers, body = await get(sandbox, sandbox.url(f"{RELEASES}?limit=3"))
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    package = parse(body)
    assert list(package) == [
        "uri", "version", "extensions", "publishedDate", "publisher", "license", "publicationPolicy", "releases",
        "links",
    ]  # fmt: skip
    assert package["publisher"] == {
        "name": "Cabinet Office",
        "scheme": "GB-GOR",
        "uid": "D2",
        "uri": "https://www.gov.uk/government/organisations/cabinet-office",
    }
    assert package["license"] == "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
    assert package["version"] == "1.1"
    assert (
        "https://raw.githubusercontent.com/cabinetoffice/ocds_uk_extension/main/extension.json" in package["extensions"]
    )
    assert len(package["releases"]) == 3
    release = package["releases"][0]
    assert re.fullmatch(r"ocds-h6vhtk-[0-9a-f]{6}", release["ocid"])
    assert re.fullmatch(r"\d{6}-\d{4}", release["id"])
    assert release["tender"]["lots"][0]["id"] == "1"


async def test_a_notice_and_a_process_by_id(sandbox: RunningSandbox) -> None:
    await set_knobs(sandbox, **FAST)
    releases = await follow(sandbox, "limit=100")
    by_ocid: dict[str, list[str]] = {}
    for release in releases:
        by_ocid.setdefault(release["ocid"], []).append(release["id"])
    ocid, ids = next((ocid, ids) for ocid, ids in by_ocid.items() if len(ids) >= 3)
    status, _, body = await get(sandbox, sandbox.url(f"{RELEASES}/{ids[1]}"))
    assert status == 200
    assert [release["id"] for release in parse(body)["releases"]] == [ids[1]]
    status, _, body = await get(sandbox, sandbox.url(f"{RELEASES}/{ocid}"))
    assert [release["id"] for release in parse(body)["releases"]] == ids
    status, _, body = await get(sandbox, sandbox.url(f"{RECORDS}/{ocid}"))
    assert status == 200
    package = parse(body)
    assert package["packages"] == [package["uri"]]
    record = package["records"][0]
    assert list(record) == ["ocid", "releases", "compiledRelease", "versionedRelease"]
    assert [release["id"] for release in record["releases"]] == ids
    compiled = record["compiledRelease"]
    assert compiled["tag"] == ["compiled"]
    assert compiled["ocid"] == ocid
    assert compiled["date"] == record["releases"][-1]["date"]
    assert compiled["id"] == f"{ocid}-{compiled['date']}"
    assert record["versionedRelease"]["ocid"] == ocid
    assert record["versionedRelease"]["initiationType"][0]["releaseID"] == ids[0]


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (f"{RELEASES}/999999-2001", "/api/1.0/ocdsReleasePackages"),
        (f"{RELEASES}/ocds-h6vhtk-ffffff", "/api/1.0/ocdsReleasePackages"),
        (f"{RELEASES}/not-an-id", "/api/1.0/ocdsReleasePackages"),
        (f"{RECORDS}/ocds-h6vhtk-ffffff", "/api/1.0/ocdsRecordPackages"),
        (RECORDS, "/api/1.0/ocdsRecordPackages"),
    ],
)
async def test_unknown_ids_are_the_documented_404(sandbox: RunningSandbox, path: str, where: str) -> None:
    status, headers, body = await get(sandbox, sandbox.url(path))
    assert status == 404
    assert headers["Content-Type"].startswith("application/json")
    answer = json.loads(body)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", answer.pop("timestamp"))
    assert answer == {
        "status": 404,
        "error": "Not found",
        "message": "",
        "path": where,
        "exception": "'identifier' is not found",
    }


async def test_bad_parameters_are_the_documented_400(sandbox: RunningSandbox) -> None:
    status, _, body = await get(sandbox, sandbox.url(f"{RELEASES}?statuses=active"))
    answer = json.loads(body)
    del answer["timestamp"]
    assert (status, answer) == (
        400,
        {
            "status": 400,
            "error": "Bad Request",
            "message": "Request parameters unknown",
            "path": "/api/1.0/ocdsReleasePackages",
            "exception": "Request parameter 'statuses' is not recognised, allowed parameters are: stages, limit, "
            "cursor, updatedFrom, updatedTo",
        },
    )
    for query in ("limit=0", "limit=101", "stages=implementation", "updatedFrom=01/02/2026", "cursor=!!"):
        status, _, body = await get(sandbox, sandbox.url(f"{RELEASES}?{query}"))
        assert status == 400, query
        assert json.loads(body)["message"] == "Request parameters invalid", query


async def test_pacing_answers_429_then_503_with_retry_after(sandbox: RunningSandbox) -> None:
    start = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
    await sandbox.set_clock(start.isoformat())
    for second in range(12):  # the default: 12 requests per 2 minutes
        await sandbox.set_clock((start + timedelta(seconds=5 * second)).isoformat())
        assert (await get(sandbox, sandbox.url(f"{RELEASES}?limit=1")))[0] == 200
    await sandbox.set_clock((start + timedelta(seconds=90)).isoformat())
    answers = [await get(sandbox, sandbox.url(f"{RECORDS}/ocds-h6vhtk-05c000")) for _ in range(4)]
    assert [status for status, _, _ in answers] == [429, 429, 503, 503]
    assert [body for _, _, body in answers] == [b"Too Many Requests"] * 2 + [b"Service Unavailaible"] * 2
    assert {headers["Retry-After"] for _, headers, _ in answers} == {"30"}  # until the first request leaves
    await sandbox.set_clock((start + timedelta(seconds=120)).isoformat())
    assert (await get(sandbox, sandbox.url(f"{RELEASES}?limit=1")))[0] == 200
    assert (await get(sandbox, sandbox.url(f"{RELEASES}?limit=1")))[0] == 429  # 5 s later the next one frees
    await set_knobs(sandbox, force_status=503, retry_after_s=7)
    status, headers, _ = await get(sandbox, sandbox.url(f"{RELEASES}?limit=1"))
    assert (status, headers["Retry-After"]) == (503, "7")
    async with sandbox.session.delete(sandbox.url(KNOBS)) as response:
        assert (await response.json())["knobs"]["requests_per_window"] == 12


async def test_number_literals_strict_parsers_reject(sandbox: RunningSandbox) -> None:
    await set_knobs(sandbox, **FAST)
    bodies = []
    url: str | None = sandbox.url(f"{RELEASES}?limit=100")
    while url is not None:
        _, _, body = await get(sandbox, url)
        bodies.append(body)
        url = parse(body).get("links", {}).get("next")
    whole = b"".join(bodies)
    assert whole.count(b'"amount": 1e9999') == 38
    assert whole.count(b'"amount": 000') == 2
    quirky = [body for body in bodies if b"1e9999" in body or b": 000" in body]
    for body in quirky:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(body)
    await set_knobs(sandbox, number_quirks_share=0.0)
    _, _, clean = await get(sandbox, sandbox.url(f"{RELEASES}?limit=100"))
    assert orjson.loads(clean)["releases"]
    await set_knobs(sandbox, number_quirks_share=1.0)
    _, _, every = await get(sandbox, sandbox.url(f"{RELEASES}?limit=100"))
    with_value = sum("value" in release["tender"] for release in orjson.loads(clean)["releases"])
    assert every.count(b"1e9999") == with_value


async def test_counters_per_route(sandbox: RunningSandbox) -> None:
    await get(sandbox, sandbox.url(f"{RELEASES}?limit=1"))
    await get(sandbox, sandbox.url(f"{RELEASES}/000001-2020"))
    await get(sandbox, sandbox.url(f"{RECORDS}/ocds-h6vhtk-000000"))
    stats = await sandbox.stats()
    assert {k: v for k, v in stats["hits"].items() if k.startswith("findatender.")} == {
        "findatender.releases": 1,
        "findatender.release": 1,
        "findatender.record": 1,
    }


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"force_status": 500}, "force_status must be one of None, 429, 503"),
        ({"requests_per_window": 0}, "requests_per_window must be an integer of at least 1"),
        ({"number_quirks_share": 2}, "number_quirks_share must be a number between 0 and 1"),
        ({"pace": 1}, "unknown knobs: pace"),
        ([], "the knobs are a JSON object"),
    ],
)
async def test_malformed_knobs_are_refused(sandbox: RunningSandbox, knobs: Any, message: str) -> None:
    async with sandbox.session.put(sandbox.url(KNOBS), json=knobs) as response:
        assert (response.status, await response.json()) == (400, {"error": message})
    async with sandbox.session.get(sandbox.url(KNOBS)) as response:
        assert (await response.json())["knobs"]["requests_per_window"] == 12
