"""The OCDS normaliser and compiler on the real Contracts Finder sample and the OCDS documentation's fictional example
(tender, award and contract releases, and the compiled record): asserted values, round trips, and every compiled
release validated against the OCDS 1.1.5 release schema shipped in the package."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gateway.models import ContractSource, Country, LocalizedText, Money
from gateway.upstreams.contractsfinder.adapter import PUBLISHER as CONTRACTS_FINDER
from gateway.upstreams.findatender.adapter import PUBLISHER as FIND_A_TENDER
from gateway.upstreams.ocds import compiler, mapping
from gateway.upstreams.ocds.package import read_package

CF_SAMPLE = "uk-ocds/cf_ocds_search_limit1_2022-10-18.json"
CF_OCID = "ocds-b5fd17-18de5078-9cf3-479b-9e38-8b9d3f7a0e39"
FICTIONAL_OCID = "ocds-213czf-000-00001"
FICTIONAL = {
    "tender": "fictional-1.1-ocds-213czf-000-00001-02-tender.json",
    "award": "fictional-1.1-ocds-213czf-000-00001-04-award.json",
    "contract": "fictional-1.1-ocds-213czf-000-00001-05-contract.json",
}
RECORD = "fictional-1.1-record-ocds-213czf-000-00001.json"

_VALIDATOR = jsonschema.Draft4Validator(dict(compiler.release_schema()))


def assert_valid(compiled: dict[str, Any]) -> None:
    """The compiled release validates against the shipped OCDS 1.1.5 release schema."""
    errors = [f"{'/'.join(map(str, error.path))}: {error.message}" for error in _VALIDATOR.iter_errors(compiled)]
    assert errors == []


@pytest.fixture(scope="module")
def docs_dir(samples_dir: Path) -> Path:
    """The OCDS documentation beside the samples (../shared/upstream-docs/uk-ocds), never copied into the repo."""
    folder = samples_dir.parent / "upstream-docs" / "uk-ocds"
    assert folder.is_dir(), f"the OCDS documentation is missing at {folder}"
    return folder


def fictional(docs_dir: Path, stage: str) -> dict[str, Any]:
    release: dict[str, Any] = json.loads((docs_dir / FICTIONAL[stage]).read_text())["releases"][0]
    return release


def stored(compiled: dict[str, Any], releases: list[dict[str, Any]], publisher: Any) -> mapping.StoredProcess:
    """The process as the store gives it back (its published day and notice derived from its releases)."""
    stamps = [mapping.ReleaseStamp(r["id"], r["date"], tuple(r["tag"])) for r in releases]
    row = mapping.process_row(compiled, publisher, stamps)
    published = date.fromisoformat(row.published_day) if row.published_day else None
    return mapping.StoredProcess(compiled, json.dumps(compiled, separators=(",", ":")), published, row.notice)


@pytest.fixture(scope="module")
def cf_release(samples_dir: Path) -> dict[str, Any]:
    package = read_package((samples_dir / CF_SAMPLE).read_bytes(), max_bytes=1 << 20, mojibake=True)
    assert package.dropped == 0
    assert len(package.releases) == 1
    return dict(package.releases[0])


# -- the real Contracts Finder sample --------------------------------------------------------------------------------


def test_the_real_cf_package_reads_with_its_cursor(samples_dir: Path) -> None:
    package = read_package((samples_dir / CF_SAMPLE).read_bytes(), max_bytes=1 << 20, mojibake=True)
    assert package.version == "1.1"
    assert package.next_url is not None
    assert package.next_url.startswith("https://www.contractsfinder.service.gov.uk/Published/Notices/OCDS/Search?")
    assert "cursor=cHVibGlzaGVkVG89MjAyMi0xMC0xOFQxNzoxMDoxMyswMTowMHxsaW1pdD0xfG5leHRDdXJzb3I9NDgwMzc4" in (
        package.next_url
    )
    assert package.releases[0]["ocid"] == CF_OCID


def test_the_real_cf_award_release_is_one_contract(cf_release: dict[str, Any]) -> None:
    compiled = compiler.compile_releases([cf_release])
    assert_valid(compiled)
    assert compiled["tag"] == ["compiled"]
    assert compiled["id"] == f"{CF_OCID}-2022-05-19T17:08:58+01:00"
    row = mapping.process_row(
        compiled, CONTRACTS_FINDER, [mapping.ReleaseStamp(cf_release["id"], cf_release["date"], ("award",))]
    )
    # An award release alone announces nothing: no tender, no lead; one contract.
    assert (row.stage, row.tender_sort, row.lead_sort) == ("award", None, None)
    assert row.deadline == "2022-10-03T22:59:59Z"
    assert row.deadline_day == "2022-10-03"
    assert row.cpv == "48000000"
    assert row.buyer == "THE FINANCIAL CONDUCT AUTHORITY"
    assert row.notice == "https://www.contractsfinder.service.gov.uk/Notice/0dbd2a57-18f9-4b60-b195-928dda88f4dd"
    (award,) = row.awards
    assert award.key == f"{CF_OCID}/{CF_OCID}-1"
    assert (award.day, award.amount, award.supplier, award.sort) == (
        "2022-10-06",
        44341.25,
        "bytes software services limited",
        "2022-10-06",
    )

    process = stored(compiled, [cf_release], CONTRACTS_FINDER)
    found = mapping.contract(process, f"{CF_OCID}-1", CONTRACTS_FINDER)
    assert found is not None
    assert found.source is ContractSource.CONTRACTSFINDER
    assert found.key == f"{CF_OCID}/{CF_OCID}-1"
    assert found.piid == f"{CF_OCID}-1"
    assert found.title == LocalizedText("RStudio License and Support")
    assert found.buyer is not None
    assert found.buyer.name == LocalizedText("THE FINANCIAL CONDUCT AUTHORITY")
    assert found.buyer.code == "GB-GOR-OT1085"
    assert found.supplier is not None
    assert found.supplier.name == "BYTES SOFTWARE SERVICES LIMITED"
    assert found.value == Money(Decimal("44341.25"), "GBP")
    assert found.total_value is None  # no contract was published
    assert found.award_date == date(2022, 10, 6)
    assert found.expiry_date == date(2024, 3, 31)
    assert found.url == LocalizedText(
        "https://www.contractsfinder.service.gov.uk/Notice/0dbd2a57-18f9-4b60-b195-928dda88f4dd"
    )
    assert found.last_modified == datetime(2022, 5, 19, 16, 8, 58, tzinfo=UTC)
    assert found.ocid == CF_OCID
    assert found.ocds is not None
    assert json.loads(found.ocds) == compiled
    assert '": ' not in found.ocds  # compact: no space after a separator
    assert '", "' not in found.ocds
    # Fields OCDS lacks stay None.
    assert (found.naics, found.product_or_service, found.fiscal_year, found.notice, found.set_aside) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert mapping.contract(process, "no-such-award", CONTRACTS_FINDER) is None


def test_the_real_cf_release_as_a_lead_and_tender(cf_release: dict[str, Any]) -> None:
    compiled = compiler.compile_releases([cf_release])
    process = stored(compiled, [cf_release], CONTRACTS_FINDER)
    lead = mapping.lead(process)
    assert lead.id == CF_OCID
    assert lead.source == "UK"
    assert lead.title == "RStudio License and Support"
    assert lead.description == "RStudio Workbench Enterprise Licenses and support"
    assert lead.url == "https://www.contractsfinder.service.gov.uk/Notice/0dbd2a57-18f9-4b60-b195-928dda88f4dd"
    assert lead.country == Country("GB", "United Kingdom")
    assert lead.specific_location == "E20 1JN"
    assert lead.categories == ("CPV/48000000",)
    assert lead.classification_code == "48000000"
    assert lead.publish_date == date(2022, 5, 19)  # no tender.datePublished: its release's day
    assert lead.end_date == date(2022, 10, 3)
    assert lead.status == "planned"
    assert lead.reference_number == "CON-22-237"
    assert lead.procurement_organization == "THE FINANCIAL CONDUCT AUTHORITY"
    assert lead.procurement_method == "selective"
    assert lead.notice_type == "Call-off from a framework agreement"
    assert lead.contact == "Victoria Stone, isprocurement@fca.org.uk"
    assert lead.contract_value == Money(Decimal("44341.25"), "GBP")
    assert (lead.min_value, lead.max_value) == (None, None)
    assert (lead.industries, lead.trade_regions, lead.world_regions, lead.funding_source) == ((), (), (), None)

    tender = mapping.tender(process)
    assert tender.reference == CF_OCID
    assert tender.solicitation_number == "CON-22-237"
    assert tender.title == LocalizedText("RStudio License and Support")
    assert tender.buyer == LocalizedText("THE FINANCIAL CONDUCT AUTHORITY")
    assert tender.closing_date == date(2022, 10, 3)  # the local day as published (+01:00)
    assert tender.closing_at == datetime(2022, 10, 3, 22, 59, 59, tzinfo=UTC)
    assert (tender.gsins, tender.notice) == ((), None)
    assert tender.ocid == CF_OCID
    assert tender.ocds is not None
    assert json.loads(tender.ocds)["ocid"] == CF_OCID


# -- the fictional example ---------------------------------------------------------------------------------------------


def test_the_fictional_tender_release(docs_dir: Path) -> None:
    release = fictional(docs_dir, "tender")
    compiled = compiler.compile_releases([release])
    assert_valid(compiled)
    process = stored(compiled, [release], FIND_A_TENDER)
    tender = mapping.tender(process)
    assert tender.reference == FICTIONAL_OCID
    assert tender.title == LocalizedText("Planned cycle lane improvements")
    assert tender.buyer == LocalizedText("London Borough of Barnet")
    assert tender.url == LocalizedText("http://example.com/tender-notices/ocds-213czf-000-00001-01.html")
    assert tender.closing_at == datetime(2010, 4, 1, 18, 0, tzinfo=UTC)
    assert tender.solicitation_number == "ocds-213czf-000-00001-01-tender"

    lead = mapping.lead(process)
    assert lead.publish_date == date(2010, 3, 15)
    assert lead.start_date == date(2010, 3, 1)
    assert lead.end_date == date(2010, 4, 1)
    assert lead.min_value == Money(Decimal(600000), "GBP")
    assert lead.max_value == Money(Decimal(1100000), "GBP")
    assert lead.categories == ("CPV/45233130", "CPV/45233162-2")
    assert lead.contact == "Procurement Team, procurement-team@example.com, 01234 345 346"
    assert lead.urls == ("http://example.com/tender-notices/ocds-213czf-000-00001-01.html",)
    assert lead.procurement_method == "open"
    assert lead.contract_value is None
    row = mapping.process_row(
        compiled, FIND_A_TENDER, [mapping.ReleaseStamp(release["id"], release["date"], ("tender",))]
    )
    assert row.tender_sort == "2010-04-01|2010-04-01T18:00:00Z"
    assert row.lead_sort == "2010-03-15|2010-03-15T09:30:00Z"
    assert row.published_day == "2010-03-15"
    assert row.amount == 1100000.0
    assert row.currency == "GBP"
    assert row.awards == ()


def test_the_fictional_award_and_contract_releases(docs_dir: Path) -> None:
    releases = [fictional(docs_dir, stage) for stage in ("tender", "award", "contract")]
    compiled = compiler.compile_releases(releases)
    assert_valid(compiled)
    process = stored(compiled, releases, FIND_A_TENDER)
    found = mapping.contract(process, "ocds-213czf-000-00001-award-01", FIND_A_TENDER)
    assert found is not None
    assert found.source is ContractSource.FINDATENDER
    assert found.title == LocalizedText("Award of contract to build new cycle lanes in the centre of town.")
    assert found.supplier is not None
    assert (found.supplier.name, found.supplier.city, found.supplier.region, found.supplier.country) == (
        "AnyCorp Cycle Provision",
        "Anytown",
        "Any County",
        "United Kingdom",
    )
    assert found.value == Money(Decimal(11000000), "GBP")
    assert found.total_value is not None
    assert found.total_value.currency == "GBP"
    assert found.award_date == date(2010, 5, 10)
    assert found.expiry_date == date(2011, 6, 30)
    assert found.url == LocalizedText("http://example.com/tender-notices/ocds-213czf-000-00001-04.html")
    assert found.last_modified == datetime(2010, 5, 10, 10, 30, tzinfo=UTC)
    row = mapping.process_row(
        compiled, FIND_A_TENDER, [mapping.ReleaseStamp(r["id"], r["date"], tuple(r["tag"])) for r in releases]
    )
    assert row.stage == "contract"
    assert row.lead_sort == "2010-03-15|2010-03-15T09:30:00Z"  # first announced by the tender release
    (award,) = row.awards
    assert award.contract_ids == "ocds-213czf-000-00001-contract-01"
    assert award.supplier == "anycorp cycle provision"
    # A lead with an award: its value is the award's.
    assert mapping.lead(process).contract_value == Money(Decimal(11000000), "GBP")


def test_compiling_matches_the_fictional_record(docs_dir: Path) -> None:
    record = json.loads((docs_dir / RECORD).read_text())["records"][0]
    expected = record["compiledRelease"]
    assert_valid(expected)
    # The compiled release compiles to itself.
    assert compiler.compile_releases([expected]) == expected
    # The tender, award and contract releases give the record's awards, buyer and parties (the planning, amendment
    # and implementation releases of the record, not published here, change the rest).
    releases = [fictional(docs_dir, stage) for stage in ("contract", "tender", "award")]  # any order
    compiled = compiler.compile_releases(releases)
    assert_valid(compiled)
    for field in ("ocid", "awards", "buyer", "parties", "initiationType", "language", "tag"):
        assert compiled[field] == expected[field], field
    assert compiled["tender"]["title"] == expected["tender"]["title"]
    assert compiled["tender"]["procuringEntity"] == expected["tender"]["procuringEntity"]
    assert compiled["id"] == f"{FICTIONAL_OCID}-2010-05-10T10:30:00Z"
    assert compiled["date"] == "2010-05-10T10:30:00Z"


def test_releases_merge_in_time_order_across_utc_offsets() -> None:
    """10:30+01:00 is before 10:00Z: merged as moments, the 10:00Z release (the later one) wins."""
    earlier = {
        "ocid": "ocds-x-1",
        "id": "a",
        "date": "2024-01-01T10:30:00+01:00",
        "tag": ["tender"],
        "initiationType": "tender",
        "tender": {"id": "t", "title": "first"},
    }
    later = {
        "ocid": "ocds-x-1",
        "id": "b",
        "date": "2024-01-01T10:00:00Z",
        "tag": ["tenderUpdate"],
        "tender": {"id": "t", "title": "second"},
    }
    compiled = compiler.compile_releases([later, earlier])
    assert compiled["tender"]["title"] == "second"
    assert compiled["date"] == "2024-01-01T10:00:00Z"
    assert_valid(compiled)


def test_releases_that_cannot_merge_raise_compile_error() -> None:
    one = {"ocid": "ocds-x-2", "id": "a", "date": "2024-01-01T10:00:00Z", "tag": ["tender"], "tender": "text"}
    other = {"ocid": "ocds-x-2", "id": "b", "date": "2024-01-02T10:00:00Z", "tag": ["tender"], "tender": {"id": "t"}}
    with pytest.raises(compiler.CompileError):
        compiler.compile_releases([one, other])
    with pytest.raises(compiler.CompileError):
        compiler.compile_releases([])


def test_duplicate_ids_in_a_list_merge_without_a_warning() -> None:
    release = {
        "ocid": "ocds-x-3",
        "id": "a",
        "date": "2024-01-01T10:00:00Z",
        "tag": ["award"],
        "awards": [{"id": "1", "title": "one"}, {"id": "1", "title": "two"}],
    }
    compiled = compiler.compile_releases([release])  # warnings are errors in tests
    assert [award["title"] for award in compiled["awards"]] == ["two"]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("something tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    compiler.merge_rules.cache_clear()
    compiler.release_schema.cache_clear()
    yield
    compiler.merge_rules.cache_clear()


def test_the_merge_rules_come_from_the_shipped_schema_without_the_network(no_network: None) -> None:
    rules = compiler.merge_rules()
    assert rules[("tag",)] == "omitWhenMerged"
    assert rules[("tender", "submissionMethod")] == "wholeListMerge"
    schema = compiler.release_schema()
    assert schema["id"] == "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
    release = {"ocid": "ocds-x-4", "id": "a", "date": "2024-01-01T10:00:00Z", "tag": ["tender"], "tender": {"id": "t"}}
    assert compiler.compile_releases([release])["tender"] == {"id": "t"}


def test_the_schema_and_its_licence_ship_in_the_package() -> None:
    folder = Path(compiler.__file__).parent / "schema" / compiler.SCHEMA_VERSION
    licence = (folder / "LICENSE").read_text()
    assert "Apache License" in licence
    assert "Version 2.0" in licence
    assert "Open Contracting Partnership" in licence
    assert json.loads((folder / "release-schema.json").read_text())["id"].endswith("/1__1__5/release-schema.json")


def test_the_fts_notice_page_is_read_from_its_notice_id() -> None:
    assert FIND_A_TENDER.notice_page("020873-2026") == "https://www.find-tender.service.gov.uk/Notice/020873-2026"
    assert FIND_A_TENDER.notice_page("ocds-h6vhtk-0468a8-020873-2026") == (
        "https://www.find-tender.service.gov.uk/Notice/020873-2026"
    )
    assert FIND_A_TENDER.notice_page("not-a-notice") is None
    assert CONTRACTS_FINDER.notice_page("no") is None
