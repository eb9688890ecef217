"""The SAM opportunities daily extract as S3 serves it: the real header, Windows-1252 bytes, the API's notices with
their description text, ETag / Last-Modified / 304 / HEAD / Range, new publications, and broken bodies."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from tests.sandbox_harness import SANDBOX_API_KEYS, RunningSandbox

EXTRACT = "falextracts/Contract%20Opportunities/datagov/ContractOpportunitiesFullCSV.csv"
KNOBS = "_sandbox/samopps"
TODAY = datetime.now(UTC).date()


def documented_header(upstream_docs: Path) -> list[str]:
    """The 47 columns as the README lists them, `X{a, b}` groups expanded (`{…}`: the previous group's parts)."""
    readme = (upstream_docs / "sam-opportunities" / "README.md").read_text(encoding="utf-8")
    listing = readme.split("47 columns: `", 1)[1].split("` — and", 1)[0]
    listing = " ".join(listing.split())
    columns: list[str] = []
    parts: list[str] = []
    for found in re.findall(r"[^,{]+\{[^}]*\}|[^,]+", listing):
        name = found.strip()
        if "{" in name:
            prefix, inner = name.rstrip("}").split("{")
            parts = parts if inner == "…" else [part.strip() for part in inner.split(",")]
            columns += [prefix + part for part in parts]
        else:
            columns.append(name)
    return columns


async def fetch(
    sandbox: RunningSandbox, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, CIMultiDict[str], bytes]:
    async with sandbox.session.request(method, sandbox.url(EXTRACT), headers=headers or {}) as response:
        return response.status, response.headers.copy(), await response.read()


async def set_knobs(sandbox: RunningSandbox, **knobs: Any) -> dict[str, Any]:
    async with sandbox.session.put(sandbox.url(KNOBS), json=knobs) as response:
        assert response.status == 200, await response.text()
        state: dict[str, Any] = await response.json()
        return state


def rows_of(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("cp1252"), newline="")))


async def api_notices(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    window = (TODAY - timedelta(days=200)).strftime("%m/%d/%Y"), (TODAY + timedelta(days=30)).strftime("%m/%d/%Y")
    query = f"api_key={SANDBOX_API_KEYS['sam']}&postedFrom={window[0]}&postedTo={window[1]}&limit=1000"
    async with sandbox.session.get(sandbox.url(f"opportunities/v2/search?{query}")) as response:
        assert response.status == 200
        items: list[dict[str, Any]] = (await response.json())["opportunitiesData"]
        return items


async def test_the_file_has_the_real_header_in_windows_1252(sandbox: RunningSandbox, upstream_docs: Path) -> None:
    status, headers, body = await fetch(sandbox)
    assert status == 200
    assert headers["Content-Type"] == "text/csv"  # no charset: S3 does not say the file is Windows-1252
    header = body.split(b"\r\n", 1)[0].decode("ascii").split(",")
    assert header == documented_header(upstream_docs)
    assert len(header) == 47
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert b"\x92" in body  # U+2019 in cp1252
    text = body.decode("cp1252")
    assert "\u2019" in text
    assert "é" in text
    assert "\u2013" in text


async def test_rows_are_the_api_notices_with_their_description_text(sandbox: RunningSandbox) -> None:
    _, _, body = await fetch(sandbox)
    rows = rows_of(body)
    notices = await api_notices(sandbox)
    assert [row["NoticeId"] for row in rows] == [notice["noticeId"] for notice in notices]
    assert len(rows) == 600
    by_id = {notice["noticeId"]: notice for notice in notices}
    for row in rows:
        notice = by_id[row["NoticeId"]]
        assert row["Title"] == notice["title"]
        assert row["Sol#"] == notice["solicitationNumber"]
        assert row["Type"] == notice["type"]
        assert row["BaseType"] == notice["baseType"]
        assert row["Active"] == notice["active"]
        assert row["ResponseDeadLine"] == (notice["responseDeadLine"] or "")
        assert row["NaicsCode"] == notice["naicsCode"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}-0[45]", row["PostedDate"])
        assert row["PostedDate"][:10] == notice["postedDate"]
        assert row["Link"] == notice["uiLink"]
        assert row["PrimaryContactEmail"] == notice["pointOfContact"][0]["email"]
        assert row["AwardNumber"] == (notice.get("award") or {}).get("number", "")
        assert row["Description"].startswith("The ")
        assert "\n" in row["Description"]
    sample = rows[0]
    link = by_id[sample["NoticeId"]]["description"] + f"&api_key={SANDBOX_API_KEYS['sam']}"
    async with sandbox.session.get(link) as response:
        assert (await response.json())["description"] == sample["Description"]


async def test_etag_last_modified_and_conditional_requests(sandbox: RunningSandbox) -> None:
    status, headers, body = await fetch(sandbox)
    assert status == 200
    assert headers["ETag"] == f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
    assert headers["Accept-Ranges"] == "bytes"
    published = parsedate_to_datetime(headers["Last-Modified"])
    assert published == datetime.combine(TODAY, datetime.min.time(), UTC) - timedelta(hours=2)
    status, again, body_again = await fetch(sandbox, {"If-None-Match": headers["ETag"]})
    assert (status, body_again, again["ETag"]) == (304, b"", headers["ETag"])
    assert (await fetch(sandbox, {"If-None-Match": '"another"'}))[0] == 200
    assert (await fetch(sandbox, {"If-Modified-Since": headers["Last-Modified"]}))[0] == 304
    earlier = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert (await fetch(sandbox, {"If-Modified-Since": earlier}))[0] == 200
    status, _, refused = await fetch(sandbox, {"If-Match": '"another"'})
    assert status == 412
    assert b"PreconditionFailed" in refused
    status, head, head_body = await fetch(sandbox, method="HEAD")
    assert (status, head_body) == (200, b"")
    assert int(head["Content-Length"]) == len(body)
    assert head["ETag"] == headers["ETag"]


async def test_byte_ranges(sandbox: RunningSandbox) -> None:
    _, headers, body = await fetch(sandbox)
    size = len(body)
    status, part_headers, part = await fetch(sandbox, {"Range": "bytes=100-199"})
    assert (status, part, part_headers["Content-Range"]) == (206, body[100:200], f"bytes 100-199/{size}")
    status, _, tail = await fetch(sandbox, {"Range": "bytes=-50"})
    assert (status, tail) == (206, body[-50:])
    status, _, rest = await fetch(sandbox, {"Range": f"bytes={size - 10}-"})
    assert (status, rest) == (206, body[-10:])
    status, unsatisfiable, _ = await fetch(sandbox, {"Range": f"bytes={size}-"})
    assert (status, unsatisfiable["Content-Range"]) == (416, f"bytes */{size}")
    status, _, whole = await fetch(sandbox, {"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert (status, whole) == (200, body)  # the file changed since: the whole new file
    status, _, matched = await fetch(sandbox, {"Range": "bytes=0-9", "If-Range": headers["ETag"]})
    assert (status, matched) == (206, body[:10])


async def test_a_new_publication_changes_adds_and_removes_rows(sandbox: RunningSandbox) -> None:
    _, first_headers, first = await fetch(sandbox)
    await sandbox.set_clock("2031-02-03T04:05:06+00:00")
    state = await set_knobs(sandbox, publication=1)
    assert state["knobs"]["publication"] == 1
    status, headers, second = await fetch(sandbox, {"If-None-Match": first_headers["ETag"]})
    assert status == 200
    assert headers["ETag"] != first_headers["ETag"]
    assert parsedate_to_datetime(headers["Last-Modified"]) == datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    before = {row["NoticeId"]: row for row in rows_of(first)}
    after = {row["NoticeId"]: row for row in rows_of(second)}
    removed, added = before.keys() - after.keys(), after.keys() - before.keys()
    changed = {key for key in before.keys() & after.keys() if before[key] != after[key]}
    assert (len(removed), len(added), len(changed)) == (12, 18, 24)
    new_day = (TODAY + timedelta(days=1)).isoformat()
    assert all(after[key]["PostedDate"].startswith(new_day) for key in added)
    notices = {notice["noticeId"] for notice in await api_notices(sandbox)}
    assert notices == after.keys()  # the API answers from the same publication
    assert (await fetch(sandbox, {"If-None-Match": headers["ETag"]}))[0] == 304
    await set_knobs(sandbox, publication=0)
    assert (await fetch(sandbox))[1]["ETag"] == first_headers["ETag"]


async def test_truncated_and_garbage_bodies(sandbox: RunningSandbox) -> None:
    _, headers, body = await fetch(sandbox)
    await set_knobs(sandbox, truncate="file")
    status, cut_headers, cut = await fetch(sandbox)
    assert status == 200
    assert body.startswith(cut)
    assert len(cut) < len(body)
    assert not cut.endswith(b"\r\n")
    assert cut_headers["ETag"] != headers["ETag"]
    await set_knobs(sandbox, truncate="connection")
    async with sandbox.session.get(sandbox.url(EXTRACT)) as response:
        assert response.headers["Content-Length"] == str(len(body))
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    await set_knobs(sandbox, truncate=None, garbage=True)
    status, _, garbage = await fetch(sandbox)
    assert status == 200
    assert garbage.startswith(b"<html>")
    async with sandbox.session.put(sandbox.url(KNOBS), json={"truncate": "half"}) as response:
        assert response.status == 400
        assert "truncate must be one of" in (await response.json())["error"]
    async with sandbox.session.delete(sandbox.url(KNOBS)) as response:
        assert (await response.json())["knobs"]["garbage"] is False
    assert (await fetch(sandbox))[2] == body


async def test_route_faults_and_counters_apply(sandbox: RunningSandbox) -> None:
    await fetch(sandbox, method="HEAD")
    await fetch(sandbox)
    assert await sandbox.hits("samopps.extract") == 2
    await sandbox.set_fault("samopps", error_rate=1.0, error_status=503)
    assert (await fetch(sandbox))[0] == 503


async def test_the_dataset_knobs_resize_it(sandbox: RunningSandbox) -> None:
    state = await set_knobs(sandbox, notices=50, seed=7)
    assert state["notices"] == 50
    _, _, body = await fetch(sandbox)
    assert len(rows_of(body)) == 50
    assert json.dumps(state["knobs"]) == json.dumps(
        {"notices": 50, "seed": 7, "publication": 0, "truncate": None, "garbage": False}
    )
    assert date.fromisoformat(state["last_modified"][:10]) == TODAY - timedelta(days=1)
