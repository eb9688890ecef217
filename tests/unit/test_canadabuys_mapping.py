"""CanadaBuys CSV rows -> Tender and Contract: every real sample row, in the sample's own form and in the live form
(BOM, every field quoted), synthetic award rows built from the 80-column header, and the quirks one by one."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.models import ContractQuery, ContractSource, DateRange, LocalizedText, Money, TenderQuery, ValueRange
from gateway.upstreams.canadabuys import adapter, mapping
from gateway.upstreams.canadabuys.feeds import FEEDS, award_files, fiscal_year
from gateway.upstreams.canadabuys.spec import SPEC
from gateway.upstreams.mirror.feed import FeedFormatError
from gateway.upstreams.mirror.query import Match
from gateway.upstreams.spec import RecordKind

SAMPLE = Path("canadabuys") / "openTenderNotice_sample_12rows.csv"
DOCS = Path(__file__).resolve().parents[3] / "shared" / "upstream-docs" / "canadabuys"
TENDER_HEADER = (DOCS / "tenderNotice_header_67cols.txt").read_text().split()
AWARD_HEADER = (DOCS / "awardNotice_header_80cols.txt").read_text().split()


def sample_rows(samples_dir: Path) -> list[dict[str, str]]:
    return list(mapping.read_rows(samples_dir / SAMPLE, "open_tenders", mapping.TENDER_COLUMNS))


def live_form(samples_dir: Path, target: Path) -> Path:
    """The sample rows re-written as the live file is: UTF-8 BOM, every field quoted, CRLF between records."""
    with (samples_dir / SAMPLE).open(encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))
    with io.StringIO() as output:
        csv.writer(output, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(records)
        target.write_bytes(("\ufeff" + output.getvalue()).encode("utf-8"))
    return target


def blank(header: list[str], **cells: str) -> dict[str, str]:
    row = dict.fromkeys(header, "")
    row.update(cells)
    return row


# -- the real sample rows --------------------------------------------------------------------------------------------

EXPECTED = {
    # reference: (solicitation, closing (UTC), gsins, unspscs, categories, delivery, opportunity, notice type)
    "MX-443841357513": ("AR26SLHX_86026", "2029-03-31T18:00", (), (), ("CNST",), (), (), None),
    "MX-443728062417": ("25-006", "2025-11-26T18:00", (), (), ("SRV",), (), (), None),
    "SSC-26-00034400:T": (
        "BPM014160/34400",
        "2065-04-27T12:00",
        ("D304A",),
        (),
        ("SRV",),
        ("CAN",),
        ("CAN",),
        "Request for Supply Arrangement",
    ),
    "PW-_NCS-030-11940": (
        "EW479-162880/C",
        "2026-09-14T19:00",
        ("E108CA",),
        (),
        ("SRV",),
        ("NT", "NS", "NL", "NB", "NU", "YT", "BC", "QC", "SK", "MB", "ON", "PE", "NCR", "AB"),
        (),
        "Request for Proposal",
    ),
    "PW-23-01027079": (
        "5P420-20-0315/B",
        "2100-03-31T21:00",
        ("F010B", "F059A"),
        (),
        ("SRV",),
        ("AB", "BC"),
        ("CAN",),
        "Request for Supply Arrangement",
    ),
    "PW-21-00968074": (
        "21-182393",
        "2027-08-31T23:00",
        ("N2310",),
        (),
        ("GD",),
        ("INT", "X-INT"),
        ("X-INT", "INT"),
        "Request for Proposal",
    ),
    "SSC-26-00034415:T": (
        "BPM026302/34415",
        "2026-09-18T19:00",
        ("S",),
        (),
        ("SRV",),
        ("CAN",),
        ("CAN",),
        "Invitation to Qualify",
    ),
    "cb-463-80992612": (
        "W8482-265115/A",
        "2026-08-05T19:00",
        (),
        ("12160000", "12350000"),
        ("GD",),
        ("BC", "NS"),
        (),  # "*Unspecified" is no region
        "Request for Proposal",
    ),
    "cb-858-67519617": (
        "W8482-265030/A",
        "2026-09-28T19:00",
        (),
        (
            "13100000",
            "24101700",
            "25111900",
            "27110000",
            "31151700",
            "31160000",
            "31161500",
            "31161600",
            "31161900",
            "31171500",
            "31180000",
            "31200000",
            "31201600",
            "31400000",
            "39121400",
            "39121700",
            "39122200",
            "40141600",
            "40142000",
            "40170000",
            "41104900",
            "41112400",
        ),
        ("GD",),
        ("NS", "BC"),
        (),
        "Request for Proposal",
    ),
    "cb-902-90074001": (
        "5000096191",
        "2026-08-06T19:00",
        (),
        ("20102000", "25175000"),
        ("SRV",),
        ("INT",),
        ("INT",),
        "Advance Contract Award Notice",
    ),
    "cb-156-17992488": (
        "21C11-26-5435296",
        "2026-08-14T19:00",
        (),
        ("22101803",),
        ("GD",),
        ("ON",),
        ("CAN",),
        "RFP against Supply Arrangement",
    ),
    "cb-81-38683349": (
        "M5000-25-3574-A",
        "2026-08-18T21:00",
        (),
        ("24110000",),
        ("GD",),
        ("CAN", "Regina", "SK"),
        ("CAN",),
        "Request for Standing Offer",
    ),
}


def test_every_sample_row_maps_to_a_tender(samples_dir: Path) -> None:
    tenders = [mapping.tender(row) for row in sample_rows(samples_dir)]
    assert [tender.reference for tender in tenders if tender] == list(EXPECTED)
    for tender in tenders:
        assert tender is not None
        assert tender.notice is not None
        solicitation, closing, gsins, unspscs, categories, delivery, opportunity, notice_type = EXPECTED[
            tender.reference
        ]
        assert tender.solicitation_number == solicitation
        assert tender.closing_at == datetime.fromisoformat(closing).replace(tzinfo=UTC)
        assert tender.closing_date == (tender.closing_at + timedelta(hours=-5)).date()
        assert tender.gsins == gsins
        assert tender.notice.unspscs == unspscs
        assert tender.notice.procurement_categories == categories
        assert tender.delivery_regions == delivery
        assert tender.opportunity_regions == opportunity
        assert (tender.notice.notice_type.en if tender.notice.notice_type else None) == notice_type
        assert tender.notice.amendment == 0
        assert tender.notice.status == LocalizedText("Open", "Ouvert")
        assert tender.title.en
        assert tender.title.fr
        assert tender.buyer.en
        assert tender.buyer.fr
        assert tender.url.en
        assert tender.url.en.startswith("https://")
        for text in (tender.notice.description.en, tender.notice.description.fr) if tender.notice.description else ():
            assert text
            assert not any(entity in text for entity in ("&eacute;", "&rsquo;", "&nbsp;", "&#233;"))
            assert "\x02" not in text
            assert "\xa0" not in text
            assert text == text.strip()


def test_sample_rows_field_by_field(samples_dir: Path) -> None:
    tenders = {tender.reference: tender for row in sample_rows(samples_dir) if (tender := mapping.tender(row))}

    merx = tenders["MX-443841357513"]
    assert merx.title == LocalizedText(
        "Open Construction Source List for CFB Halifax",
        "Répertoire ouvert d\u2019entrepreneurs en construction pour la BFC Halifax",
    )
    assert merx.url == LocalizedText(
        "https://www.merx.com/public/solicitations/3776296409/abstract?language=EN",
        "https://www.merx.com/public/solicitations/3776296409/abstract?language=FR",
    )
    assert merx.notice is not None
    assert merx.notice.description is not None
    assert merx.notice.description.fr is not None
    assert merx.notice.description.fr.startswith("Construction de Défense Canada (CDC) demande aux entrepreneurs")
    assert merx.notice.published == date(2026, 1, 23)
    assert [agreement.en for agreement in merx.notice.trade_agreements] == [
        "World Trade Organization Agreement on Government Procurement (WTO GPA)",
        "Canadian Free Trade Agreement (CFTA)",
        "Canada-European Union Comprehensive Economic and Trade Agreement (CETA)",
    ]
    assert merx.notice.trade_agreements[1].fr == "Accord de libre-échange canadien (ALEC)"
    assert merx.notice.contact is not None
    assert merx.notice.contact.email == "andre.champagne@dcc-cdc.gc.ca"

    uxr = tenders["MX-443728062417"]
    assert uxr.notice is not None
    assert uxr.notice.description is not None
    assert uxr.notice.description.en
    assert "engage a qualified Third Party Service Provider" in uxr.notice.description.en  # a control byte in the row
    assert uxr.notice.procurement_method == LocalizedText(
        "Competitive - Traditional", "Concurrentielle - Traditionnelle"
    )

    lias = tenders["SSC-26-00034400:T"]
    assert lias.buyer == LocalizedText("Shared Services Canada", "Services partagés Canada")
    assert lias.url == LocalizedText(
        "https://canadabuys.canada.ca/en/tender-opportunities/tender-notice/SSC-26-00034400:T"
    )
    assert lias.notice is not None
    assert lias.notice.description is not None
    assert lias.notice.description.fr
    assert "Ministère : Services partagés Canada" in lias.notice.description.fr  # &#232; and &nbsp;
    assert len(lias.notice.trade_agreements) == 11
    assert len(lias.notice.attachments) == 8
    assert all(link.startswith("https://sscp2pspc.ssc-spc.gc.ca/page.aspx/en/fil/") for link in lias.notice.attachments)
    assert lias.notice.classifications[0].code == "D304A"
    assert lias.notice.classifications[0].description == LocalizedText(
        "Data Transmission Service", "Transmission de données"
    )
    assert lias.notice.end_users == LocalizedText("Shared Services Canada", "Services partagés Canada")

    parks = tenders["PW-23-01027079"]
    assert parks.notice is not None
    assert [(c.scheme, c.code, c.description.en if c.description else None) for c in parks.notice.classifications] == [
        ("GSIN", "F010B", "Forestry Services, Not Elsewhere Specified"),
        ("GSIN", "F059A", "Other Natural Resource and Conservation Services"),
    ]

    spares = tenders["cb-858-67519617"]
    assert spares.notice is not None
    assert len(spares.notice.classifications) == 22
    assert spares.notice.classifications[0].description == LocalizedText(
        "Rubber and elastomers", "Caoutchouc et élastomères"
    )

    acan = tenders["cb-902-90074001"]
    assert acan.notice is not None
    assert (acan.notice.start, acan.notice.end) == (date(2027, 4, 1), date(2032, 3, 31))
    assert acan.notice.selection_criteria == LocalizedText("Not applicable", "Sans objet")

    backpacks = tenders["cb-81-38683349"]
    assert backpacks.notice is not None
    assert backpacks.notice.attachments == (
        "https://canadabuys.canada.ca/sites/default/files/webform/tender_notice/102097/m5000-25-3574---a---npp---english.pdf",
        "https://canadabuys.canada.ca/sites/default/files/webform/tender_notice/102097/m5000-25-3574---a---rfp---english.pdf",
    )
    assert backpacks.notice.contact is not None
    assert backpacks.notice.contact.phone == "(587) 336-6067"


def test_the_live_form_reads_as_the_sample_form(samples_dir: Path, tmp_path: Path) -> None:
    live = live_form(samples_dir, tmp_path / "openTenderNotice-ouvertAvisAppelOffres.csv")
    assert live.read_bytes().startswith(b'\xef\xbb\xbf"title-titre-eng","title-titre-fra",')
    live_rows = list(mapping.read_rows(live, "open_tenders", mapping.TENDER_COLUMNS))
    assert live_rows == sample_rows(samples_dir)
    assert [mapping.tender(row) for row in live_rows] == [mapping.tender(row) for row in sample_rows(samples_dir)]


def test_the_bom_is_not_part_of_the_first_column(samples_dir: Path, tmp_path: Path) -> None:
    live = live_form(samples_dir, tmp_path / "open.csv")
    first = next(mapping.read_rows(live, "open_tenders", ("title-titre-eng",)))
    assert first == {"title-titre-eng": "Open Construction Source List for CFB Halifax"}


# -- closing times ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        # UTC-05:00 all year: a January and a July closing at 14:00 both close at 19:00 UTC (America/Toronto would
        # give 18:00 UTC in July).
        ("2027-01-15T14:00:00", datetime(2027, 1, 15, 19, 0, tzinfo=UTC)),
        ("2026-07-15T14:00:00", datetime(2026, 7, 15, 19, 0, tzinfo=UTC)),
        ("2026-07-31T22:30:00", datetime(2026, 8, 1, 3, 30, tzinfo=UTC)),
    ],
)
def test_closing_times_are_read_at_a_fixed_utc_minus_five(published: str, expected: datetime) -> None:
    tender = mapping.tender(blank(TENDER_HEADER, **{mapping.REFERENCE: "cb-1-1", mapping.CLOSING: published}))
    assert tender is not None
    assert tender.closing_at == expected
    assert tender.closing_date == date.fromisoformat(published[:10])  # the date as published


def test_the_closing_offset_is_a_parameter() -> None:
    row = blank(TENDER_HEADER, **{mapping.REFERENCE: "cb-1-1", mapping.CLOSING: "2026-07-15T14:00:00"})
    tender = mapping.tender(row, offset=timedelta(hours=-4))
    assert tender is not None
    assert tender.closing_at == datetime(2026, 7, 15, 18, 0, tzinfo=UTC)
    record = adapter.tender_record(row, offset=timedelta(hours=-4))
    assert record is not None
    assert record.sort == "2026-07-15|2026-07-15T18:00:00Z"  # the local closing date, then the moment in UTC
    assert adapter.decode_tender(record.payload) == tender  # a snapshot reads back with the offset it was built with


@pytest.mark.parametrize(
    ("cell", "day", "moment"),
    [
        ("", None, None),
        ("2026-08-19", date(2026, 8, 19), None),
        ("2026-08-19T14:00:00-04:00", date(2026, 8, 19), datetime(2026, 8, 19, 18, 0, tzinfo=UTC)),
        ("soon", None, None),
    ],
)
def test_closing_cells_that_are_not_naive_times(cell: str, day: date | None, moment: datetime | None) -> None:
    assert mapping.closing(cell, mapping.EASTERN_STANDARD_TIME) == (day, moment)


# -- cells -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("", ()),
        ("*CNST", ("CNST",)),
        ("*12160000\n*12350000", ("12160000", "12350000")),
        ("*GD\r\n*SRV\n\n*GD", ("GD", "SRV")),
        ("*Ontario (except NCR)", ("Ontario (except NCR)",)),
        ("no star", ("no star",)),
    ],
)
def test_multi_value_cells(cell: str, expected: tuple[str, ...]) -> None:
    assert mapping.values(cell) == expected


@pytest.mark.parametrize(
    ("cell", "number"), [("000", 0), ("001", 1), ("009", 9), ("010", 10), ("T01", 1), ("S01", 1), ("", 0), ("x", 0)]
)
def test_amendment_numbers_are_numbers(cell: str, number: int) -> None:
    assert mapping.amendment_number(cell) == number


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Construction de D&eacute;fense Canada", "Construction de Défense Canada"),
        ("l&rsquo;&Eacute;tat&nbsp;: ok", "l\u2019État : ok"),
        ("Minist&#232;re", "Ministère"),
        ("Third\x02Party", "Third Party"),
        ("\n\t  ", None),
        ("R&D", "R&D"),
    ],
)
def test_texts_are_unescaped_and_trimmed(cell: str, expected: str | None) -> None:
    assert mapping.text(cell) == expected


def test_a_row_without_a_reference_is_skipped() -> None:
    assert mapping.tender(blank(TENDER_HEADER, **{mapping.CLOSING: "2026-07-15T14:00:00"})) is None
    assert mapping.contract(blank(AWARD_HEADER, **{mapping.CONTRACT_NUMBER: "X"})) is None


# -- files -----------------------------------------------------------------------------------------------------------


def write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with io.StringIO() as output:
        writer = csv.writer(output, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([row.get(column, "") for column in header] for row in rows)
        path.write_bytes(("\ufeff" + output.getvalue()).encode())
    return path


def test_a_missing_required_column_fails_the_file(tmp_path: Path) -> None:
    header = [column for column in TENDER_HEADER if column != mapping.SOLICITATION]
    path = write(tmp_path / "open.csv", header, [blank(header, **{mapping.REFERENCE: "cb-1-1"})])
    with pytest.raises(FeedFormatError, match=r"lacks the column.*solicitationNumber-numeroSollicitation"):
        list(mapping.read_rows(path, "open_tenders", mapping.TENDER_COLUMNS))


def test_extra_columns_are_tolerated(tmp_path: Path) -> None:
    header = [*TENDER_HEADER, "someNewColumn-nouvelleColonne"]
    path = write(tmp_path / "open.csv", header, [blank(header, **{mapping.REFERENCE: "cb-1-1"})])
    rows = list(mapping.read_rows(path, "open_tenders", mapping.TENDER_COLUMNS))
    assert [row[mapping.REFERENCE] for row in rows] == ["cb-1-1"]


def test_a_truncated_file_fails(samples_dir: Path, tmp_path: Path) -> None:
    live = live_form(samples_dir, tmp_path / "open.csv")
    body = live.read_bytes()
    for cut in (len(body) // 2, len(body) - 7):
        live.write_bytes(body[:cut])
        with pytest.raises(FeedFormatError, match=r"truncated or damaged|not readable CSV"):
            list(mapping.read_rows(live, "open_tenders", mapping.TENDER_COLUMNS))


def test_a_file_that_is_not_utf8_fails(tmp_path: Path) -> None:
    path = tmp_path / "open.csv"
    path.write_bytes(",".join(TENDER_HEADER).encode() + b"\r\n\xff\xfe\x00")
    with pytest.raises(FeedFormatError, match="not UTF-8"):
        list(mapping.read_rows(path, "open_tenders", mapping.TENDER_COLUMNS))


def test_the_required_columns_are_in_the_live_headers() -> None:
    assert len(TENDER_HEADER) == 67
    assert len(AWARD_HEADER) == 80
    assert set(mapping.TENDER_COLUMNS) <= set(TENDER_HEADER)
    assert set(mapping.AWARD_COLUMNS) <= set(AWARD_HEADER)
    assert len(set(mapping.TENDER_COLUMNS)) == len(mapping.TENDER_COLUMNS)


# -- awards ----------------------------------------------------------------------------------------------------------


def award(**cells: str) -> dict[str, str]:
    base = {
        mapping.REFERENCE: "cb-411-74628129",
        mapping.AMENDMENT: "001",
        mapping.SOLICITATION: "W8482-265115/A",
        mapping.CONTRACT_NUMBER: "W8482-265115/001/HAL",
        "title-titre-eng": "Desalination chemicals",
        "title-titre-fra": "Produits chimiques de dessalement",
        mapping.PUBLISHED: "2026-09-02",
        mapping.AWARDED: "2026-08-28",
        mapping.AMENDED: "2026-09-10",
        mapping.CONTRACT_START: "2026-09-01",
        mapping.CONTRACT_END: "2027-08-31",
        mapping.AMOUNT: "0.00",
        mapping.TOTAL_VALUE: "125,000.50",
        mapping.CURRENCY: "cad",
        "instrumentType-typeInstrument-eng": "Contract",
        "instrumentType-typeInstrument-fra": "Contrat",
        "amendmentType-typeModification-eng": "Administrative",
        "amendmentType-typeModification-fra": "Administrative",
        "supplierLegalName-nomLegalFournisseur-eng": "ATLANTIC MARINE SUPPLY INC",
        mapping.SUPPLIER_CITY: "Halifax",
        mapping.SUPPLIER_PROVINCE: "Nova Scotia",
        mapping.SUPPLIER_COUNTRY: "CA",
        "contractingEntityName-nomEntitContractante-eng": "Department of National Defence (DND)",
        "contractingEntityName-nomEntitContractante-fra": "Ministère de la Défense nationale (MDN)",
        "awardDescription-descriptionAttribution-fra": "Contrat attribu&eacute; &agrave; Atlantic",
        mapping.UNSPSC: "*12160000",
        mapping.CATEGORY: "*GD",
        "tradeAgreements-accordsCommerciaux-eng": "*Canadian Free Trade Agreement (CFTA)",
    }
    return blank(AWARD_HEADER, **{**base, **cells})


def test_an_award_row_maps_to_a_contract() -> None:
    contract = mapping.contract(award())
    assert contract is not None
    assert contract.notice is not None
    assert contract.source is ContractSource.CANADABUYS
    assert (contract.key, contract.piid, contract.modification_number) == (
        "cb-411-74628129",
        "W8482-265115/001/HAL",
        "001",
    )
    assert contract.value == Money(Decimal("0.00"), "CAD")
    assert contract.total_value == Money(Decimal("125000.50"), "CAD")
    assert (contract.award_date, contract.expiry_date) == (date(2026, 8, 28), date(2027, 8, 31))
    assert contract.supplier is not None
    assert (contract.supplier.name, contract.supplier.city, contract.supplier.country) == (
        "ATLANTIC MARINE SUPPLY INC",
        "Halifax",
        "CA",
    )
    assert contract.buyer is not None
    assert contract.buyer.name.fr == "Ministère de la Défense nationale (MDN)"
    assert contract.notice.solicitation_number == "W8482-265115/A"
    assert contract.notice.amendment == 1
    assert contract.notice.instrument_type == LocalizedText("Contract", "Contrat")
    assert contract.notice.amendment_type == LocalizedText("Administrative", "Administrative")
    assert (contract.notice.start, contract.notice.end) == (date(2026, 9, 1), date(2027, 8, 31))
    assert contract.notice.description == LocalizedText(None, "Contrat attribué à Atlantic")


def test_an_award_without_amounts_or_supplier() -> None:
    contract = mapping.contract(
        award(
            **{
                mapping.AMOUNT: "",
                mapping.TOTAL_VALUE: "n/a",
                mapping.CURRENCY: "",
                "supplierLegalName-nomLegalFournisseur-eng": "",
                mapping.SUPPLIER_CITY: "",
                mapping.SUPPLIER_PROVINCE: "",
                mapping.SUPPLIER_COUNTRY: "",
                mapping.CONTRACT_NUMBER: "",
            }
        )
    )
    assert contract is not None
    assert (contract.value, contract.total_value, contract.supplier) == (None, None, None)
    assert contract.piid == "cb-411-74628129"  # no contract number: the reference stands for it


def test_an_award_index_record() -> None:
    record = adapter.contract_record(award())
    assert record is not None
    assert (record.kind, record.key, record.version, record.sort, record.day) == (
        "contract",
        "cb-411-74628129",
        1,
        "2026-08-28",
        "2026-08-28",
    )
    assert record.amount == 125000.5  # the cumulative total value, not the amendment's own amount
    assert record.link == "W8482-265115/A"
    assert ("supplier", "atlantic marine supply inc") in record.codes
    assert ("contract_number", "w8482-265115/001/hal") in record.codes
    assert ("trade_agreement", "cfta") in record.codes
    assert adapter.decode_contract(record.payload) == mapping.contract(award())


# -- index records and queries ---------------------------------------------------------------------------------------


def test_a_tender_index_record(samples_dir: Path) -> None:
    row = next(row for row in sample_rows(samples_dir) if row[mapping.REFERENCE] == "cb-81-38683349")
    record = adapter.tender_record(row, offset=mapping.EASTERN_STANDARD_TIME)
    assert record is not None
    assert (record.kind, record.key, record.version) == ("tender", "cb-81-38683349", 0)
    assert (record.sort, record.day, record.link) == (
        "2026-08-18|2026-08-18T21:00:00Z",
        "2026-08-18",
        "M5000-25-3574-A",
    )
    codes = set(record.codes)
    assert {("unspsc", "24110000"), ("category", "GD"), ("notice_type", "request for standing offer")} <= codes
    assert {("region_delivery", "CAN"), ("region_delivery", "SK"), ("region_delivery", "REGINA")} <= codes
    assert {("region_delivery", "SASKATCHEWAN"), ("region_opportunity", "CANADA")} <= codes
    assert {("trade_agreement", "cufta"), ("trade_agreement", "canada-uk tca")} <= codes
    assert ("buyer", "gendarmerie royale du canada (grc)") in codes
    assert record.text.title_fr == "Sacs à dos pour cadets"
    assert record.text.buyer_en == "Royal Canadian Mounted Police (RCMP)"
    assert adapter.decode_tender(record.payload) == mapping.tender(row)


def test_tender_queries_become_index_queries() -> None:
    query = adapter.tender_query(
        TenderQuery(
            keywords=("snow removal, déneigement", " "),
            gsins=(" s206 ", ""),
            unspscs=("7211",),
            delivery_regions=("on", "ncr"),
            opportunity_regions=("CAN",),
            closing=DateRange(date(2026, 9, 1), None),
            buyer=" Défense ",
            notice_types=("Request for Proposal",),
            procurement_categories=("srv",),
            trade_agreements=("CFTA",),
        )
    )
    assert query.kind == "tender"
    assert not query.descending
    assert query.words == '("snow" "removal") OR ("déneigement")'
    assert {(f.scheme, f.values, f.match) for f in query.codes} == {
        ("gsin", ("S206",), Match.PREFIX),
        ("unspsc", ("7211",), Match.PREFIX),
        ("region_delivery", ("ON", "NCR"), Match.EXACT),
        ("region_opportunity", ("CAN",), Match.EXACT),
        ("buyer", ("défense",), Match.CONTAINS),
        ("notice_type", ("request for proposal",), Match.EXACT),
        ("category", ("SRV",), Match.EXACT),
        ("trade_agreement", ("cfta",), Match.EXACT),
    }
    assert query.day == ("2026-09-01", None)
    assert adapter.tender_query(TenderQuery()).codes == ()


def test_contract_queries_become_index_queries() -> None:
    query = adapter.contract_query(
        ContractQuery(
            keywords="desalination",
            piid="W8482-265115/001/HAL",
            agency_name="national defence",
            supplier_name="Atlantic",
            awarded=DateRange(None, date(2026, 8, 31)),
            value=ValueRange(Decimal("1000"), None),
        )
    )
    assert query.kind == "contract"
    assert query.descending
    assert query.words == '("desalination")'
    assert {(f.scheme, f.values, f.match) for f in query.codes} == {
        ("contract_number", ("w8482-265115/001/hal",), Match.EXACT),
        ("buyer", ("national defence",), Match.CONTAINS),
        ("supplier", ("atlantic",), Match.CONTAINS),
    }
    assert (query.day, query.amount) == ((None, "2026-08-31"), (1000.0, None))


def test_the_spec_declares_what_the_index_answers() -> None:
    assert SPEC.name == "canadabuys"
    assert SPEC.kinds == {RecordKind.LEAD, RecordKind.TENDER, RecordKind.CONTRACT}
    assert SPEC.lead_codes == {"CANADA"}
    assert SPEC.client == "gateway.upstreams.canadabuys.adapter:CanadaBuysClient"
    assert SPEC.mirror == "gateway.upstreams.canadabuys.adapter:open_canadabuys_mirror"
    assert (SPEC.succeeds, SPEC.retired, SPEC.call_cost) == ({"canada"}, False, 0)
    assert SPEC.attribution == "Contains information licensed under the Open Government Licence \u2013 Canada."
    assert SPEC.unanswerable(RecordKind.TENDER, TenderQuery(unspscs=("43",), buyer="x", keywords=("y",))) == ()
    assert SPEC.unanswerable(RecordKind.CONTRACT, ContractQuery(naics=("541512",))) == ("naics",)


def test_the_feeds_and_their_files() -> None:
    assert [feed.name for feed in FEEDS] == ["new_tenders", "open_tenders", "awards", "contract_history"]
    assert (fiscal_year(date(2026, 3, 31)), fiscal_year(date(2026, 4, 1))) == ("2025-2026", "2026-2027")
    assert award_files(date(2026, 9, 1)) == (
        "2025-2026-awardNotice-avisAttribution.csv",
        "2026-2027-awardNotice-avisAttribution.csv",
    )
    assert award_files(date(2027, 2, 28)) == (
        "2025-2026-awardNotice-avisAttribution.csv",
        "2026-2027-awardNotice-avisAttribution.csv",
    )
    assert [feed.interval_s for feed in FEEDS] == [7200, 86400, 86400, 604800]


def test_tenders_sort_by_local_closing_date_then_moment_and_undated_last() -> None:
    def sort(cell: str) -> str:
        row = blank(TENDER_HEADER, **{mapping.REFERENCE: "cb-1-1", mapping.CLOSING: cell})
        record = adapter.tender_record(row, offset=mapping.EASTERN_STANDARD_TIME)
        assert record is not None
        return record.sort

    late_evening = sort("2026-09-14T21:00:00")  # 02:00Z on the 15th, still the 14th where it closes
    assert late_evening == "2026-09-14|2026-09-15T02:00:00Z"
    assert sort("2026-09-14") < sort("2026-09-14T09:00:00") < late_evening < sort("2026-09-15") < sort("")
    assert sort("") == adapter.UNDATED_LAST


def test_keyset_positions_are_given_after_each_record() -> None:
    contract = mapping.contract(award())
    assert contract is not None
    assert adapter.contract_sort(contract) == "2026-08-28"
    undated = mapping.contract(award(**{mapping.AWARDED: "", mapping.PUBLISHED: "2026-08-20"}))
    assert undated is not None
    assert adapter.contract_sort(undated) == "2026-08-20"  # no award date: the publication date
