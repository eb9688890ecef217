"""gateway.formats: each documented shape refuses what no upstream could answer, names the argument and the shape, and
accepts every identifier, code and date the recorded upstream answers hold (so no real value is ever refused)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from gateway import formats
from gateway.errors import BadUserInput
from gateway.models import ContractSource, DateRange, ValueRange
from schema.common import DateRangeInput, ValueRangeInput
from schema.contracts import ContractFilter
from schema.leads import LeadFilter
from schema.tenders import TenderFilter


def refusal(call: object) -> BadUserInput:
    assert callable(call)
    with pytest.raises(BadUserInput) as raised:
        call()
    return raised.value


# -- the shapes ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "accepted"),
    [
        (formats.PIID, ["47QSWA18D008F", "SPE3SU25F97V0", "0001", "gs35f0265x", "GS-35F-0119Y", "A" * 50]),
        (formats.CONTRACT_NUMBER, ["47QSWA18D008F", "21K01-022267/001/PQ", "W8486-122288/001/PR", "5000096191"]),
        (formats.MODIFICATION_NUMBER, ["0", "01", "P00001", "PA3143DELPROD", "1011"]),
        (formats.TRANSACTION_NUMBER, ["0", "0001", "16"]),
        (formats.UEI, ["HKK3H54PK7C3", "rv56ig5jm6g9", "000000000000"]),
        (formats.CAGE, ["0EPU7", "32HR1", "00000"]),
        (formats.AGENCY_CODE, ["9700", "1500", "NASA"]),
        (formats.US_STATE, ["VA", "nc", "DC", "PR"]),
        (formats.NAICS, ["54", "541", "5415", "54151", "541512", "000000"]),
        (formats.PSC, ["X1QA", "1005", "C1AA", "7035", "q999"]),
        (formats.GSIN_PREFIX, ["N", "N76", "N7610", "N7610AA", "r019bf", "S", "V204IA"]),
        (formats.UNSPSC_PREFIX, ["4", "4323", "43232300"]),
        (formats.COUNTRY, ["GB", "ca", "Au"]),
        (formats.CANADIAN_REGION, ["ON", "qc", "NCR", "CAN", "X-INT", "x-int", "ABL"]),
        (formats.RECORD_KEY, ["562894a0-2f91-47d0-9f3b-fe9971cc0bd2", "DATATABLE.647", "PW-$$FE-176-68065", "!Ã"]),
    ],
    ids=lambda value: value.name if isinstance(value, formats.Format) else None,
)
def test_documented_and_recorded_values_are_accepted(shape: formats.Format, accepted: list[str]) -> None:
    for value in accepted:
        assert shape.check(f" {value} ", argument="x") == value


@pytest.mark.parametrize(
    ("shape", "refused"),
    [
        (formats.PIID, ["!Ã", "-P1", "P 1", "P/1", "A" * 51, "47QSWA18D008F~X", "P1&", "Ⅻ1"]),
        (formats.CONTRACT_NUMBER, ["!Ã", "/001", "21K01 022267", "A" * 51, "R&D"]),
        (formats.MODIFICATION_NUMBER, ["P0000!", "-1", "A" * 26]),
        (formats.TRANSACTION_NUMBER, ["0-1", "1" * 26]),
        (formats.UEI, ["HKK3H54PK7C", "HKK3H54PK7C3X", "HKK3H54PK7C!", "ÅKK3H54PK7C3"]),
        (formats.CAGE, ["0EPU", "0EPU77", "0EP-7"]),
        (formats.AGENCY_CODE, ["97", "97000", "97-0"]),
        (formats.US_STATE, ["V", "VIR", "V1"]),
        (formats.NAICS, ["5", "5415120", "54151A", "٥٤١٥١٢"]),
        (formats.PSC, ["X1Q", "X1QAA", "X1-A"]),
        (formats.GSIN_PREFIX, ["7610", "*D304A", "N76-10", "N" + "1" * 16]),
        (formats.UNSPSC_PREFIX, ["*4323", "432323001", "43A"]),
        (formats.COUNTRY, ["GBR", "G", "G1"]),
        (formats.CANADIAN_REGION, ["ONT", "Ontario", "ZZ", "X_INT", "NCRX"]),
        (formats.RECORD_KEY, ["a\x00b", "line\nbreak", "x" * 513]),
    ],
    ids=lambda value: value.name if isinstance(value, formats.Format) else None,
)
def test_values_of_another_shape_are_bad_user_input_naming_argument_and_shape(
    shape: formats.Format, refused: list[str]
) -> None:
    for value in refused:
        error = refusal(lambda value=value: shape.check(value, argument="filter.thing"))
        assert error.code == "BAD_USER_INPUT"
        assert error.extensions == {"argument": "filter.thing", "accepted": shape.accepted}
        assert error.message == f"`filter.thing` must be {shape.accepted}"


def test_the_fuzzed_piid_is_refused_with_its_shape() -> None:
    error = refusal(lambda: formats.PIID.check("!Ã", argument="piid"))
    assert error.as_extensions()["argument"] == "piid"
    assert "1 to 50 letters, digits or hyphens" in error.message


def test_blank_values_are_omitted_filters() -> None:
    assert formats.PIID.check(None, argument="piid") is None
    assert formats.PIID.check(" \t ", argument="piid") is None


def test_lists_drop_blanks_and_name_the_position_of_a_bad_value() -> None:
    assert formats.NAICS.check_each(["541512", " ", " 54 "], argument="filter.naics") == ("541512", "54")
    assert formats.NAICS.check_each(None, argument="filter.naics") == ()
    error = refusal(lambda: formats.NAICS.check_each(["541512", "", "54A"], argument="filter.naics"))
    assert error.extensions["argument"] == "filter.naics[2]"


def test_a_region_code_names_every_accepted_code() -> None:
    assert formats.CANADIAN_REGION.accepted == (
        "a Canadian region code: one of AB, BC, MB, NB, NL, NS, NT, NU, ON, PE, QC, SK, YT, NCR, CAN, ABL, USA, "
        "MEX, INT, X-INT"
    )


def test_a_long_vocabulary_is_summed_up_in_its_shape() -> None:
    long = formats.Format.one_of("thing", [f"C{n}" for n in range(formats.MAX_CODES_LISTED + 1)])
    assert long.accepted == f"a thing: one of {formats.MAX_CODES_LISTED + 1} codes, e.g. C0, C1, C2, C3, C4"
    assert long.matches("c25")
    assert not long.matches("C26")
    assert formats.Format.one_of("ITA region", ["Africa"]).accepted == "an ITA region: one of Africa"


# -- dates, years, amounts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "span",
    [
        DateRange(date(1900, 1, 1), date(2999, 12, 31)),
        DateRange(date(2025, 1, 1), None),
        DateRange(None, date(2025, 1, 1)),
        DateRange(date(2025, 1, 1), date(2025, 1, 1)),
    ],
)
def test_sane_date_ranges_pass_unchanged(span: DateRange) -> None:
    assert formats.check_date_range(span, argument="filter.awarded") == span


def test_an_empty_date_range_is_no_filter() -> None:
    assert formats.check_date_range(None, argument="filter.awarded") is None
    assert formats.check_date_range(DateRange(), argument="filter.awarded") is None


@pytest.mark.parametrize(
    ("span", "argument"),
    [
        (DateRange(date(1899, 12, 31), None), "filter.awarded.start"),
        (DateRange(date(1, 1, 1), date(2025, 1, 1)), "filter.awarded.start"),
        (DateRange(None, date(3000, 1, 1)), "filter.awarded.end"),
        (DateRange(date(2025, 1, 2), date(2025, 1, 1)), "filter.awarded"),
    ],
)
def test_insane_or_inverted_date_ranges_are_refused(span: DateRange, argument: str) -> None:
    error = refusal(lambda: formats.check_date_range(span, argument="filter.awarded"))
    assert error.extensions["argument"] == argument


def test_fiscal_years() -> None:
    assert formats.check_fiscal_year(2025, argument="filter.fiscalYear") == 2025
    assert formats.check_fiscal_year(None, argument="filter.fiscalYear") is None
    for year in (25, 1899, 3000, -2025):
        error = refusal(lambda year=year: formats.check_fiscal_year(year, argument="filter.fiscalYear"))
        assert error.extensions["argument"] == "filter.fiscalYear"


@pytest.mark.parametrize(
    ("span", "argument"),
    [
        (ValueRange(Decimal("NaN"), None), "filter.value.min"),
        (ValueRange(None, Decimal("Infinity")), "filter.value.max"),
        (ValueRange(Decimal("-Infinity"), Decimal(5)), "filter.value.min"),
        (ValueRange(Decimal(10), Decimal(5)), "filter.value"),
    ],
)
def test_value_ranges_that_match_nothing_are_refused(span: ValueRange, argument: str) -> None:
    error = refusal(lambda: formats.check_value_range(span, argument="filter.value"))
    assert error.extensions["argument"] == argument


def test_value_ranges_that_can_match_pass() -> None:
    span = ValueRange(Decimal("-1000.99"), Decimal("100000.99"))
    assert formats.check_value_range(span, argument="filter.value") == span
    assert formats.check_value_range(ValueRange(), argument="filter.value") is None


# -- the schema's filters check through it ---------------------------------------------------------------------------


def test_contract_filter_checks_every_identifier_and_keeps_the_good_ones() -> None:
    query = ContractFilter(
        piid=" 21K01-022267/001/PQ ",
        naics=["541512", " "],
        product_or_service=["d302"],
        gsins=["N76"],
        agency_code="9700",
        supplier_uei=["HKK3H54PK7C3"],
        awarded=DateRangeInput(start=date(2025, 1, 1)),
        value=ValueRangeInput(min=Decimal(1)),
        fiscal_year=2025,
        place_of_performance_state="va",
        sources=[ContractSource.SAM],
    ).to_query()
    assert (query.piid, query.naics, query.product_or_service, query.gsins) == (
        "21K01-022267/001/PQ",
        ("541512",),
        ("d302",),
        ("N76",),
    )
    assert (query.agency_code, query.supplier_uei, query.fiscal_year, query.place_of_performance_state) == (
        "9700",
        ("HKK3H54PK7C3",),
        2025,
        "va",
    )
    assert query.awarded == DateRange(date(2025, 1, 1), None)


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: ContractFilter(piid="!Ã"), "filter.piid"),
        (lambda: ContractFilter(naics=["541512", "5"]), "filter.naics[1]"),
        (lambda: ContractFilter(product_or_service=["X1QAA"]), "filter.productOrService[0]"),
        (lambda: ContractFilter(gsins=["*N76"]), "filter.gsins[0]"),
        (lambda: ContractFilter(agency_code="97"), "filter.agencyCode"),
        (lambda: ContractFilter(supplier_uei=["HKK3H54PK7C"]), "filter.supplierUei[0]"),
        (
            lambda: ContractFilter(awarded=DateRangeInput(start=date(2025, 2, 1), end=date(2025, 1, 1))),
            "filter.awarded",
        ),
        (lambda: ContractFilter(value=ValueRangeInput(min=Decimal("NaN"))), "filter.value.min"),
        (lambda: ContractFilter(fiscal_year=25), "filter.fiscalYear"),
        (lambda: ContractFilter(place_of_performance_state="Virginia"), "filter.placeOfPerformanceState"),
        (lambda: LeadFilter(countries=["GB", "GBR"]), "filter.countries[1]"),
        (lambda: LeadFilter(published=DateRangeInput(start=date(202, 1, 1))), "filter.published.start"),
        (lambda: LeadFilter(ends=DateRangeInput(end=date(9999, 12, 31))), "filter.ends.end"),
        (lambda: LeadFilter(amended=DateRangeInput(start=date(2025, 1, 2), end=date(2025, 1, 1))), "filter.amended"),
        (lambda: TenderFilter(gsins=["N-76"]), "filter.gsins[0]"),
        (lambda: TenderFilter(delivery_regions=["ON", "Ontario"]), "filter.deliveryRegions[1]"),
        (lambda: TenderFilter(opportunity_regions=["ZZ"]), "filter.opportunityRegions[0]"),
        (lambda: TenderFilter(closing=DateRangeInput(start=date(3000, 1, 1))), "filter.closing.start"),
    ],
)
def test_filters_name_the_argument_of_a_value_of_the_wrong_shape(make: object, argument: str) -> None:
    assert callable(make)
    error = refusal(lambda: make().to_query())
    assert error.extensions["argument"] == argument


# -- tolerance: every value the recorded upstream answers hold is accepted -------------------------------------------

SAM_EXAMPLES = Path("sam-contract-awards") / "examples"
SAM_SHAPES = {  # the key of a recorded value (under its parent's key) -> its format
    ("contractId", "piid"): formats.PIID,
    ("oldContractId", "piid"): formats.PIID,
    ("contractId", "referencedIDVPiid"): formats.PIID,
    ("oldContractId", "referencedIDVPiid"): formats.PIID,
    ("contractId", "modificationNumber"): formats.MODIFICATION_NUMBER,
    ("oldContractId", "modificationNumber"): formats.MODIFICATION_NUMBER,
    ("contractId", "transactionNumber"): formats.TRANSACTION_NUMBER,
    ("awardeeUEIInformation", "uniqueEntityId"): formats.UEI,
    ("awardeeUEIInformation", "awardeeUltimateParentUniqueEntityId"): formats.UEI,
    ("awardeeUEIInformation", "cageCode"): formats.CAGE,
    ("principalNaics", "code"): formats.NAICS,
    ("idvNAICS", "code"): formats.NAICS,
    ("productOrService", "code"): formats.PSC,
    ("contractingDepartment", "code"): formats.AGENCY_CODE,
    ("fundingDepartment", "code"): formats.AGENCY_CODE,
}


def leaves(value: object, parent: str = "", key: str = "") -> Iterator[tuple[str, str, object]]:
    """(parent key, key, value) of every scalar; list items keep the list's key."""
    if isinstance(value, dict):
        for name, child in value.items():
            yield from leaves(child, key, name)
    elif isinstance(value, list):
        for child in value:
            yield from leaves(child, parent, key)
    else:
        yield parent, key, value


def test_every_recorded_sam_identifier_has_its_documented_shape(samples_dir: Path) -> None:
    seen: dict[str, int] = {}
    for path in sorted((samples_dir / SAM_EXAMPLES).glob("*.json")):
        for parent, key, value in leaves(json.loads(path.read_text())):
            shape = SAM_SHAPES.get((parent, key))
            if shape is None or not isinstance(value, str) or value == "null":
                if key == "fiscalYear" and isinstance(value, str):
                    assert formats.check_fiscal_year(int(value), argument=key) == int(value)
                continue
            assert shape.check(value, argument=key) == value, (path.name, parent, key, value)
            seen[shape.name] = seen.get(shape.name, 0) + 1
    assert set(seen) == {shape.name for shape in SAM_SHAPES.values()}  # every shape met a recorded value


def test_every_recorded_canadian_number_gsin_and_region_has_its_shape(samples_dir: Path) -> None:
    examples = samples_dir / "canada-procurement" / "procurement-data-api" / "examples"
    rows = [
        row
        for name in ("README.tenders.json", "README.contracts.json", "FORMAT.tender.json", "FORMAT.contract.json")
        for loaded in [json.loads((examples / name).read_text())]
        for row in (loaded if isinstance(loaded, list) else [loaded])
    ]
    numbers = [row["contract"] for row in rows if "contract" in row]
    with (samples_dir / "canada-procurement" / "procurement-data-api" / "tests" / "files" / "contracts.csv").open(
        encoding="utf-8-sig"
    ) as file:
        numbers += [row["contract-number"] for row in csv.DictReader(file)]
    gsins = [gsin for row in rows for gsin in row["gsins"]]
    regions = [code for row in rows for code in (*row.get("regions_delivery", ()), *row.get("regions_opportunity", ()))]
    assert numbers
    assert gsins
    assert regions
    assert all(formats.CONTRACT_NUMBER.matches(number) for number in numbers), numbers
    assert all(formats.GSIN_PREFIX.matches(gsin) for gsin in gsins), gsins
    assert all(formats.CANADIAN_REGION.matches(code) for code in regions), regions
    dates = [row.get(key) for row in rows for key in ("date_closing", "date_awarded", "date_expires")]
    for day in filter(None, dates):
        assert formats.check_day(date.fromisoformat(day), argument="day")


def test_every_canadabuys_commodity_code_has_its_shape_once_its_star_is_gone(samples_dir: Path) -> None:
    with (samples_dir / "canadabuys" / "openTenderNotice_sample_12rows.csv").open(encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file))
    gsins = [code.strip().lstrip("*") for row in rows for code in row["gsin-nibs"].splitlines() if code.strip()]
    unspscs = [code.strip().lstrip("*") for row in rows for code in row["unspsc"].splitlines() if code.strip()]
    assert gsins
    assert unspscs
    assert all(formats.GSIN_PREFIX.matches(code) for code in gsins), gsins
    assert all(formats.UNSPSC_PREFIX.matches(code) for code in unspscs), unspscs


def test_every_recorded_trade_lead_country_and_date_has_its_shape(samples_dir: Path) -> None:
    results = samples_dir / "trade-leads" / "webservices" / "spec" / "support" / "trade_leads"
    leads = [lead for path in sorted(results.glob("*/results.json")) for lead in json.loads(path.read_text())]
    countries = [lead["country"] for lead in leads if lead.get("country")]
    assert len(countries) > 20
    assert all(formats.COUNTRY.matches(country) for country in countries), countries
    for lead in leads:
        for key in ("publish_date", "end_date", "publish_date_amended", "start_date"):
            if lead.get(key):
                assert formats.check_day(date.fromisoformat(lead[key]), argument=key)
