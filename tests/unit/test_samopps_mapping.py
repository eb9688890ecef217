"""SAM opportunities: the documentation's two example responses and a synthetic extract (cp1252, the real 47-column
header) read as notices, and notices as the gateway's leads, tenders and contracts."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.errors import UpstreamBadResponse
from gateway.models import CodeName, ContractSource, Country, LocalizedText, Money
from gateway.upstreams.samopps.api import PULL_PATH, parse_notice, parse_search, search_params
from gateway.upstreams.samopps.extract import COLUMNS, ExtractRejected, encoding_of, read_extract
from gateway.upstreams.samopps.notice import AWARD, OPEN, OTHER, decode, encode
from gateway.upstreams.samopps.records import contract_of, lead_of, tender_of

DOCS = Path(__file__).resolve().parents[3] / "shared" / "upstream-docs" / "sam-opportunities"
PAYLOADS = Path(__file__).resolve().parents[1] / "payloads" / "samopps"
EXTRACT = PAYLOADS / "extract_cp1252.csv"
EASTERN_DAYLIGHT = timezone(timedelta(hours=-4))


def documented_examples() -> list[object]:
    """The JSON of the two example responses on the documentation page (inside `<code><pre>`)."""
    page = (DOCS / "get-opportunities-public-api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<code><pre>\s*(\{.*?\})\s*</pre></code>", page, flags=re.DOTALL)
    return [json.loads(block) for block in blocks]


def test_the_documentation_has_two_example_responses() -> None:
    first, second = documented_examples()
    assert first["totalRecords"] == 34
    assert second["noticeId"] == "ff826a59eac743c4a1a07ff5e0cf3e3a"


def test_example_1_an_award_notice_with_awardee_is_a_contract() -> None:
    page = parse_search(documented_examples()[0])
    assert (page.total, page.received, len(page.notices)) == (34, 1, 1)
    notice = page.notices[0]
    assert notice.notice_id == "5b345bbb7127b91a3ad577b203fc6f68"
    assert notice.title == "Historic Office Renovation"  # trailing space dropped
    assert notice.solicitation_number == "47PF0018R0023"
    assert (notice.type, notice.base_type, notice.group) == ("Award Notice", "Combined Synopsis/Solicitation", AWARD)
    assert notice.org_path == "GENERAL SERVICES ADMINISTRATION.PUBLIC BUILDINGS SERVICE.PBS R5"
    assert notice.description is None  # a paid `noticedesc` link: never followed
    contract = contract_of(notice)
    assert contract is not None
    assert contract.source is ContractSource.SAMOPPS
    assert (contract.key, contract.piid) == ("5b345bbb7127b91a3ad577b203fc6f68", "47PF0018C0066")
    assert contract.title == LocalizedText("Historic Office Renovation")
    assert contract.value == Money(Decimal("800620"), "USD")
    assert contract.award_date == date(2018, 5, 4)
    assert contract.naics == CodeName("236220", None)
    assert contract.product_or_service == CodeName("Z", None)
    assert contract.place_of_performance == Country("USA", None)
    assert contract.url == LocalizedText("https://beta.sam.gov/opp/5b345bbb7127b91a3ad577b203fc6f68/view")
    assert contract.buyer is not None
    assert contract.buyer.name == LocalizedText("GENERAL SERVICES ADMINISTRATION")
    assert (contract.buyer.subtier, contract.buyer.office) == (
        CodeName(None, "PUBLIC BUILDINGS SERVICE"),
        CodeName(None, "PBS R5"),
    )
    supplier = contract.supplier
    assert supplier is not None
    assert (supplier.name, supplier.unique_entity_id) == ("D.G. Beyer, Inc.", "025114695AST")
    assert (supplier.city, supplier.region, supplier.country) == ("New Berlin", "WI", "USA")
    assert contract.notice is not None
    assert contract.notice.published == date(2018, 5, 4)
    assert contract.notice.contact is not None
    assert (contract.notice.contact.name, contract.notice.contact.email, contract.notice.contact.phone) == (
        "Jesse L. Jones",
        "jesse.jones@gsa.gov",
        "2174941263",
    )


def test_example_2_a_v2_notice_with_the_organisation_path() -> None:
    notice = parse_notice(documented_examples()[1])
    assert notice is not None
    assert notice.org_path == (
        "GENERAL SERVICES ADMINISTRATION.FEDERAL ACQUISITION SERVICE.GSA/FAS CENTER FOR IT SCHEDULE PROG"
    )
    assert (notice.department, notice.subtier, notice.office) == (
        "GENERAL SERVICES ADMINISTRATION",
        "FEDERAL ACQUISITION SERVICE",
        "GSA/FAS CENTER FOR IT SCHEDULE PROG",
    )
    assert (notice.posted, notice.archive_date) == (date(2020, 7, 2), date(2021, 1, 2))
    assert notice.link is None  # "null"
    assert notice.contacts == ()
    assert notice.office_address is not None
    assert (notice.office_address.city, notice.office_address.zip) == ("WASHINGTON", "20405")
    contract = contract_of(notice)
    assert contract is not None
    assert contract.piid == "4376487348950"
    assert contract.value == Money(Decimal("350567.00"), "USD")
    assert contract.award_date == date(2020, 12, 1)
    assert contract.supplier is None  # no awardee published
    assert contract.buyer is not None
    assert contract.buyer.code == "047"
    assert contract.buyer.subtier == CodeName("4732", "FEDERAL ACQUISITION SERVICE")
    assert contract.buyer.office == CodeName("47QTCA", "GSA/FAS CENTER FOR IT SCHEDULE PROG")


def test_a_search_body_of_the_wrong_shape_is_refused_and_bad_items_are_skipped() -> None:
    with pytest.raises(UpstreamBadResponse):
        parse_search([])
    with pytest.raises(UpstreamBadResponse):
        parse_search({"opportunitiesData": {}})
    page = parse_search({"totalRecords": 3, "opportunitiesData": [{"noticeId": "not-hex"}, 7, {"title": "x"}]})
    assert (page.total, page.received, page.notices) == (3, 3, ())


def test_pull_parameters_repeat_ptype_and_never_hold_the_key() -> None:
    params = search_params(date(2026, 9, 4), date(2026, 9, 5), offset=1000)
    assert params == {"postedFrom": "09/04/2026", "postedTo": "09/05/2026", "limit": "1000", "offset": "1000"}
    assert PULL_PATH == "opportunities/v2/search?ptype=o&ptype=k&ptype=p&ptype=r&ptype=s&ptype=a"


# -- the extract -------------------------------------------------------------------------------------------------------


def test_the_synthetic_extract_is_cp1252_with_the_real_header() -> None:
    raw = EXTRACT.read_bytes()
    assert b"\x92" in raw  # the right single quotation mark, as Windows-1252 writes it
    assert raw.split(b"\r\n", 1)[0].decode("ascii").split(",") == list(COLUMNS)
    assert len(COLUMNS) == 47
    assert encoding_of(EXTRACT) == "cp1252"


def test_extract_rows_read_as_notices() -> None:
    rows = list(read_extract(EXTRACT))
    by_id = {row.notice.notice_id: row.notice for row in rows}
    assert len(rows) == len(by_id) == 7
    assert len({row.row_hash for row in rows}) == 7
    janitorial = by_id["a1b2c3d4e5f60718293a4b5c6d7e8f90"]
    assert janitorial.title == "Janitorial services for the Contractor\u2019s yard"
    assert janitorial.description == "The Contractor\u2019s yard must be kept clean.\nSecond line, with a comma."
    assert janitorial.posted == date(2026, 9, 1)
    assert janitorial.response_deadline == datetime(2026, 10, 1, 17, 0, tzinfo=EASTERN_DAYLIGHT)
    assert janitorial.org_path == "DEPT OF DEFENSE.DEPT OF THE ARMY.W2SD ENDIST NORFOLK"
    assert janitorial.org_codes == "097.2100.W912DR"
    assert (janitorial.set_aside_code, janitorial.naics, janitorial.psc) == ("SBA", "561720", "S201")
    assert [contact.name for contact in janitorial.contacts] == ["Pat Example", "Lee Sample"]
    assert by_id["b1b2c3d4e5f60718293a4b5c6d7e8f91"].description == "Ultra-low temperature freezers (\u201390 \u00b0C)."
    groups = {notice_id: notice.group for notice_id, notice in by_id.items()}
    assert list(groups.values()).count(OPEN) == 5
    assert groups["c1b2c3d4e5f60718293a4b5c6d7e8f92"] == AWARD
    assert groups["e1b2c3d4e5f60718293a4b5c6d7e8f94"] == OTHER  # a justification: not served
    amended = by_id["09b2c3d4e5f60718293a4b5c6d7e8f96"]
    assert amended.is_change
    assert amended.effective_type == "Presolicitation"


def test_an_open_notice_is_an_fbo_lead_and_a_tender() -> None:
    notice = next(row.notice for row in read_extract(EXTRACT) if row.notice.title and "Janitorial" in row.notice.title)
    lead = lead_of(notice)
    assert (lead.id, lead.source, lead.notice_type) == ("a1b2c3d4e5f60718293a4b5c6d7e8f90", "FBO", "Solicitation")
    assert lead.country == Country("US", "United States")
    assert lead.specific_location == "803 Front St, Norfolk, VA 23510"
    assert (lead.publish_date, lead.end_date) == (date(2026, 9, 1), date(2026, 10, 1))
    assert lead.industries == ("561720",)
    assert (lead.classification_code, lead.reference_number) == ("S201", "W912DR-26-R-0001")
    assert (lead.procurement_organization, lead.agency, lead.procurement_office) == (
        "DEPT OF DEFENSE",
        "DEPT OF THE ARMY",
        "W2SD ENDIST NORFOLK",
    )
    assert lead.contact == "Pat Example, pat.example@example.mil, 7575550100; Lee Sample, lee.sample@example.mil"
    assert lead.status == "Active"
    assert lead.contract_value is None
    assert lead.trade_regions == ()
    tender = tender_of(notice)
    assert tender.reference == lead.id
    assert tender.buyer == LocalizedText("DEPT OF DEFENSE.DEPT OF THE ARMY.W2SD ENDIST NORFOLK")
    assert tender.closing_date == date(2026, 10, 1)
    assert tender.closing_at == datetime(2026, 10, 1, 21, 0, tzinfo=UTC)
    assert tender.notice is not None
    assert tender.notice.notice_type == LocalizedText("Solicitation")
    assert [(c.scheme, c.code) for c in tender.notice.classifications] == [("NAICS", "561720"), ("PSC", "S201")]
    assert tender.gsins == ()
    assert tender.delivery_regions == ()


def test_an_award_row_of_the_extract_names_its_awardee_only() -> None:
    notice = next(row.notice for row in read_extract(EXTRACT) if row.notice.group == AWARD)
    contract = contract_of(notice)
    assert contract is not None
    assert (contract.piid, contract.award_date) == ("47PF0018C0066", date(2026, 8, 28))
    assert contract.value == Money(Decimal("800620"), "USD")
    assert contract.supplier is not None
    assert (contract.supplier.name, contract.supplier.unique_entity_id) == ("D.G. Beyer, Inc.", None)


def test_a_utf8_extract_reads_the_same(tmp_path: Path) -> None:
    utf8 = tmp_path / "extract.csv"
    utf8.write_bytes(b"\xef\xbb\xbf" + EXTRACT.read_bytes().decode("cp1252").encode("utf-8"))
    assert encoding_of(utf8) == "utf-8-sig"
    assert [row.notice for row in read_extract(utf8)] == [row.notice for row in read_extract(EXTRACT)]


def _rewritten(tmp_path: Path, change: object) -> Path:
    lines = EXTRACT.read_bytes().split(b"\r\n")
    path = tmp_path / "changed.csv"
    path.write_bytes(b"\r\n".join(change(lines)))  # type: ignore[operator]
    return path


def test_files_that_cannot_replace_the_index_are_refused(tmp_path: Path) -> None:
    duplicated = _rewritten(tmp_path, lambda lines: [*lines[:3], lines[2], *lines[3:]])
    with pytest.raises(ExtractRejected, match="appears twice"):
        list(read_extract(duplicated))
    bad_id = _rewritten(tmp_path, lambda lines: [lines[0], b"xyz" + lines[1][3:], *lines[2:]])
    with pytest.raises(ExtractRejected, match="32 hexadecimal digits"):
        list(read_extract(bad_id))
    renamed = _rewritten(tmp_path, lambda lines: [lines[0].replace(b"Sol#", b"Solicitation"), *lines[1:]])
    with pytest.raises(ExtractRejected, match="missing Sol#"):
        list(read_extract(renamed))
    with pytest.raises(ExtractRejected, match="fewer than 75%"):
        list(read_extract(EXTRACT, previous_rows=10))
    assert len(list(read_extract(EXTRACT, previous_rows=9))) == 7


def test_the_stored_form_reads_back_as_written() -> None:
    for row in read_extract(EXTRACT):
        assert decode(encode(row.notice)) == row.notice
    api = parse_search(documented_examples()[0]).notices[0]
    assert decode(encode(api)) == api
    assert decode(b"{not json") is None
