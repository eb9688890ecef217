"""Release packages read as hostile until checked: the publishers' known quirks repaired (Contracts Finder's mojibake,
Find a Tender's `1e9999` and `000` literals), and every page of the wrong shape, size or depth refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.upstreams.ocds import compiler
from gateway.upstreams.ocds.package import MAX_DEPTH, PackageRejected, read_package
from gateway.upstreams.ocds.quirks import decode_body, patch_numbers, repair_mojibake
from tests.unit.test_ocds_normaliser import assert_valid

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads" / "ocds"
LIMIT = 1 << 20


def test_cf_mojibake_is_repaired() -> None:
    package = read_package((PAYLOADS / "cf_mojibake.json").read_bytes(), max_bytes=LIMIT, mojibake=True)
    tender = package.releases[0]["tender"]
    assert tender["title"] == "Council\u2019s minibus hire"
    assert tender["description"] == (
        "Estimated at \u00a320,000,000 over 10\u202f000 journeys \u2013 see \u201cLot 1\u201d."
    )
    # The second release has no id: dropped, counted; the page is kept.
    assert (len(package.releases), package.dropped) == (1, 1)
    assert (
        package.next_url == "https://www.contractsfinder.service.gov.uk/Published/Notices/OCDS/Search?limit=2&cursor=Mg"
    )
    assert_valid(compiler.compile_releases(package.releases))


def test_mojibake_is_left_alone_for_a_publisher_without_it() -> None:
    package = read_package((PAYLOADS / "cf_mojibake.json").read_bytes(), max_bytes=LIMIT, mojibake=False)
    assert package.releases[0]["tender"]["title"] == "Council\u00e2\u20ac\u2122s minibus hire"


@pytest.mark.parametrize(
    ("broken", "repaired"),
    [
        ("10\u00e2\u20ac\u00af000", "10\u202f000"),
        ("\u00c2\u00a3", "\u00a3"),
        ("caf\u00c3\u00a9", "caf\u00e9"),
        ("\u00e2\u20ac\u201c", "\u2013"),
        ("\u00f0\u0178\u201d\u00a5", "\U0001f525"),  # a four-byte sequence
        ("plain text, \u00a3 and \u00e9", "plain text, \u00a3 and \u00e9"),  # nothing to repair
        ("\u00c3(", "\u00c3("),  # not a sequence
    ],
)
def test_repair_mojibake(broken: str, repaired: str) -> None:
    assert repair_mojibake(broken) == repaired


def test_a_windows_1252_body_is_read_and_its_utf8_parts_kept() -> None:
    body = "caf\u00e9 \u2019".encode() + b" \x92 \xa3 \x9d"  # UTF-8, then raw Windows-1252 bytes
    assert decode_body(body, mojibake=True) == "caf\u00e9 \u2019 \u2019 \u00a3 \x9d"
    with pytest.raises(UnicodeDecodeError):
        decode_body(body, mojibake=False)
    with pytest.raises(PackageRejected, match="not UTF-8"):
        read_package(b'{"version": "1.1", "releases": [], "x": "\xff"}', max_bytes=LIMIT, mojibake=False)


def test_fts_number_literals_are_patched_before_strict_parsing() -> None:
    body = (PAYLOADS / "fts_number_literals.json").read_bytes()
    with pytest.raises(json.JSONDecodeError):
        json.loads(body.replace(b"1e9999", b"1"))  # `000` and `0021` are no JSON
    package = read_package(body, max_bytes=LIMIT, mojibake=False)
    tender = package.releases[0]["tender"]
    assert tender["value"] == {"amount": None, "currency": "GBP"}  # no finite number: null
    assert tender["minValue"] == {"amount": 0, "currency": "GBP"}
    assert tender["tenderPeriod"]["durationInDays"] == 21
    assert tender["title"] == "Road salt 1e9999 tonnes, lot 000"  # strings untouched
    assert_valid(compiler.compile_releases(package.releases))


def test_patch_numbers_touches_only_number_tokens() -> None:
    assert patch_numbers(b'[1e9999, -1E9999, 000, -0012.50, 0.5e3, 10, "a \\" 000 1e9999"]') == (
        b'[null, null, 0, -12.50, 0.5e3, 10, "a \\" 000 1e9999"]'
    )


def test_a_valid_body_is_parsed_as_it_is() -> None:
    body = b'{"version": "1.1", "releases": [], "note": "000 1e9999", "n": 1e300}'
    assert read_package(body, max_bytes=LIMIT, mojibake=False).releases == ()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>Too many requests</html>", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"version": "1.1"}', "no list of `releases`"),
        (b'{"version": "1.1", "releases": {}}', "no list of `releases`"),
        (b'{"releases": []}', "no OCDS `version`"),
        (b'{"version": "2.0", "releases": []}', "no OCDS `version`"),
        (b'{"version": "1.1", "releases": [], "links": []}', "`links` is not an object"),
        (b'{"version": "1.1", "releases": [], "links": {"next": 7}}', "`links.next` is not a URL"),
        (b'{"version": "1.1", "releases": [' + b"{}," * 1000 + b"{}]}", "more than 1000 releases"),
        (b'{"version": "1.1", "releases": [], "deep": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}", "deeper"),
    ],
)
def test_pages_of_the_wrong_shape_are_refused(body: bytes, reason: str) -> None:
    with pytest.raises(PackageRejected, match=reason):
        read_package(body, max_bytes=LIMIT, mojibake=True)


def test_a_page_over_the_size_bound_is_refused() -> None:
    body = b'{"version": "1.1", "releases": []}'
    assert read_package(body, max_bytes=len(body), mojibake=False).releases == ()
    with pytest.raises(PackageRejected, match="larger than"):
        read_package(body, max_bytes=len(body) - 1, mojibake=False)


def test_unusable_releases_are_dropped_one_by_one() -> None:
    good = {"ocid": "ocds-1", "id": "r1", "date": "2025-01-01T00:00:00Z", "tag": ["tender"]}
    bad = [
        "a string",
        {**good, "ocid": ""},
        {**good, "ocid": 7},
        {**good, "id": "x" * 300},
        {**good, "id": "tab\there"},
        {**good, "date": "yesterday"},
        {**good, "date": None},
        {**good, "tag": "tender"},
        {**good, "tag": ["tender", 1]},
    ]
    body = json.dumps({"version": "1.1", "releases": [good, *bad]}).encode()
    package = read_package(body, max_bytes=LIMIT, mojibake=False)
    assert package.releases == (good,)
    assert package.dropped == len(bad)
    assert package.next_url is None
