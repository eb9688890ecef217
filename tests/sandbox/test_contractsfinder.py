"""The Contracts Finder OCDS search imitation over HTTP: the real package's shape and values, cursors followed to
the end, publication windows and stages, errors, 403 pacing on the sandbox clock, mojibake, later publications."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from yarl import URL

from tests.sandbox_harness import RunningSandbox

SEARCH = "Published/Notices/OCDS/Search"
KNOBS = "_sandbox/contractsfinder"
SAMPLE = Path("uk-ocds") / "cf_ocds_search_limit1_2022-10-18.json"
MOJIBAKE = ("â€™", "Â£", "â€¯")
PLUS_ONE = timezone(timedelta(hours=1))


async def get(sandbox: RunningSandbox, url: str) -> tuple[int, str]:
    async with sandbox.session.get(URL(url, encoded=True)) as response:
        return response.status, await response.text()


async def package(sandbox: RunningSandbox, query: str) -> dict[str, Any]:
    status, text = await get(sandbox, sandbox.url(f"{SEARCH}?{query}"))
    assert status == 200, text
    body: dict[str, Any] = json.loads(text)
    return body


async def follow(sandbox: RunningSandbox, query: str) -> tuple[list[dict[str, Any]], int]:
    """Every release from the first page to the last, and the number of pages."""
    url: str | None = sandbox.url(f"{SEARCH}?{query}")
    releases: list[dict[str, Any]] = []
    pages = 0
    while url is not None:
        status, text = await get(sandbox, url)
        assert status == 200, text
        body = json.loads(text)
        releases += body["releases"]
        pages += 1
        url = body.get("links", {}).get("next")
    return releases, pages


async def set_knobs(sandbox: RunningSandbox, **knobs: Any) -> dict[str, Any]:
    async with sandbox.session.put(sandbox.url(KNOBS), json=knobs) as response:
        assert response.status == 200, await response.text()
        state: dict[str, Any] = await response.json()
        return state


def shape(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(key path, JSON type) for every value; list items share the path with `[]`."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from shape(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        yield path, "array"
        for item in node:
            yield from shape(item, path + "[]")
    else:
        kind = {str: "string", bool: "boolean", type(None): "null"}.get(type(node), "number")
        yield path, kind


async def test_packages_have_the_shape_and_values_of_the_real_sample(
    sandbox: RunningSandbox, samples_dir: Path
) -> None:
    sample = json.loads((samples_dir / SAMPLE).read_text(encoding="utf-8"))
    served = await package(sandbox, "limit=100&stages=award")
    assert list(served) == list(sample)
    assert set(shape(sample)) <= set(shape(served)), sorted(set(shape(sample)) - set(shape(served)))
    for key in ("version", "extensions", "publisher", "license", "publicationPolicy"):
        assert served[key] == sample[key], key
    assert served["license"] == "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
    assert all(release["tag"] == ["award"] for release in served["releases"])
    award = served["releases"][0]["awards"][0]
    assert award["status"] == "active"
    assert award["value"]["currency"] == "GBP"
    assert award["documents"][0]["url"].startswith("https://www.contractsfinder.service.gov.uk/Notice/")
    assert served["uri"].endswith(f"/{SEARCH}?limit=100&stages=award")


async def test_cursors_serve_every_release_exactly_once_in_date_order(sandbox: RunningSandbox) -> None:
    releases, pages = await follow(sandbox, "limit=100")
    async with sandbox.session.get(sandbox.url(KNOBS)) as response:
        state = await response.json()
    assert len(releases) == state["releases"] == 506
    assert pages == 6
    ids = [release["id"] for release in releases]
    assert len(set(ids)) == len(ids)
    moments = [datetime.fromisoformat(release["date"]) for release in releases]
    assert moments == sorted(moments)
    assert {release["date"][-1] for release in releases} == {"Z", "0"}  # `Z` and `+01:00` both


async def test_the_cursor_carries_the_query_like_the_live_one(sandbox: RunningSandbox) -> None:
    body = await package(sandbox, "limit=2&stages=tender")
    link = URL(body["links"]["next"])
    assert link.path == "/" + SEARCH
    assert (link.query["limit"], link.query["stages"]) == ("2", "tender")
    decoded = base64.b64decode(link.query["cursor"]).decode()
    assert decoded.startswith("limit=2|stages=tender|nextCursor=")
    second = await package(sandbox, f"limit=2&stages=tender&cursor={link.raw_query_string.split('cursor=')[1]}")
    assert {r["id"] for r in second["releases"]}.isdisjoint({r["id"] for r in body["releases"]})


async def test_publication_windows_and_stages_filter(sandbox: RunningSandbox) -> None:
    everything, _ = await follow(sandbox, "limit=100")
    middle = datetime.fromisoformat(everything[200]["date"])
    start, end = middle - timedelta(days=3), middle + timedelta(days=3)
    expected = [r["id"] for r in everything if start <= datetime.fromisoformat(r["date"]) <= end]
    bst = start.astimezone(PLUS_ONE).isoformat(), end.astimezone(PLUS_ONE).isoformat()
    assert bst[0].endswith("+01:00")
    raw = f"publishedFrom={bst[0]}&publishedTo={bst[1]}&limit=7"  # `+` unencoded, as clients send it
    assert [r["id"] for r in (await follow(sandbox, raw))[0]] == expected
    encoded = f"publishedFrom={bst[0].replace('+', '%2B')}&publishedTo={bst[1].replace('+', '%2B')}&limit=100"
    assert [r["id"] for r in (await follow(sandbox, encoded))[0]] == expected
    utc = f"publishedFrom={start.astimezone(UTC):%Y-%m-%dT%H:%M:%S}&publishedTo={end.astimezone(UTC):%Y-%m-%dT%H:%M:%S}"
    assert [r["id"] for r in (await follow(sandbox, utc + "&limit=100"))[0]] == expected
    planning, _ = await follow(sandbox, "stages=planning,implementation&limit=100")
    assert {tuple(r["tag"]) for r in planning} == {("planning",), ("contract",)}
    assert len(planning) == sum(r["tag"][0] in {"planning", "contract"} for r in everything)


async def test_bad_parameters_are_400(sandbox: RunningSandbox) -> None:
    for query in ("limit=0", "limit=101", "limit=x", "stages=award,closed", "publishedFrom=yesterday", "cursor=%%%"):
        status, text = await get(sandbox, sandbox.url(f"{SEARCH}?{query}"))
        assert status == 400, query
        assert json.loads(text)["error"] == "Bad Request"
    assert (await get(sandbox, sandbox.url(f"{SEARCH}?limit=1&unknown=ignored")))[0] == 200


async def test_too_many_requests_in_a_window_are_403_until_it_passes(sandbox: RunningSandbox) -> None:
    await sandbox.set_clock("2030-01-01T10:00:00+00:00")
    await set_knobs(sandbox, requests_per_window=3, window_s=300)
    for _ in range(3):
        assert (await get(sandbox, sandbox.url(f"{SEARCH}?limit=1")))[0] == 200
    async with sandbox.session.get(sandbox.url(f"{SEARCH}?limit=1")) as response:
        assert (response.status, await response.text()) == (403, "too many requests")
        assert "Retry-After" not in response.headers
    await sandbox.set_clock("2030-01-01T10:04:59+00:00")
    assert (await get(sandbox, sandbox.url(f"{SEARCH}?limit=1")))[0] == 403
    await sandbox.set_clock("2030-01-01T10:05:00+00:00")
    assert (await get(sandbox, sandbox.url(f"{SEARCH}?limit=1")))[0] == 200
    await set_knobs(sandbox, requests_per_window=1000, force_403=True)
    assert (await get(sandbox, sandbox.url(f"{SEARCH}?limit=1"))) == (403, "too many requests")
    assert await sandbox.hits("contractsfinder.search") == 7


async def test_mojibake_is_written_into_some_releases_text(sandbox: RunningSandbox) -> None:
    releases, _ = await follow(sandbox, "limit=100")
    garbled = [r for r in releases if any(mark in json.dumps(r, ensure_ascii=False) for mark in MOJIBAKE)]
    clean = [r for r in releases if "\u2019" in r["tender"]["description"]]
    assert len(garbled) > 100
    assert len(clean) > 100
    for mark in MOJIBAKE:
        assert any(mark in r["tender"]["description"] + r["tender"]["title"] for r in garbled), mark
    await set_knobs(sandbox, mojibake_share=0.0)
    repaired = {r["id"]: r for r in (await follow(sandbox, "limit=100"))[0]}
    assert not any(mark in json.dumps(list(repaired.values()), ensure_ascii=False) for mark in MOJIBAKE)
    for release in garbled:
        text = release["tender"]["description"]
        assert text.encode("cp1252").decode("utf-8") == repaired[release["id"]]["tender"]["description"]


async def test_a_revision_publishes_later_releases_that_a_window_finds(sandbox: RunningSandbox) -> None:
    before, _ = await follow(sandbox, "limit=100")
    now = datetime.now(UTC).replace(microsecond=0)
    await sandbox.set_clock(now.isoformat())
    state = await set_knobs(sandbox, revision=1)
    assert state["releases"] == len(before) + 12
    since = f"publishedFrom={now:%Y-%m-%dT%H:%M:%S}Z&limit=100"
    later, pages = await follow(sandbox, since)
    assert (len(later), pages) == (12, 1)
    assert all(release["tag"] == ["tenderAmendment"] for release in later)
    assert not {release["id"] for release in later} & {release["id"] for release in before}
