"""CanadaBuys CSV rows -> Tender and Contract: the columns the mapping reads (each one required), and the quirks.

- Files are UTF-8 with a BOM (`utf-8-sig`), every field quoted, newlines inside quoted fields: read with `csv`.
- Bilingual columns end in `-eng` / `-fra`: English first, French when English is empty.
- Multi-value cells hold `*`-prefixed values, one a line (`*12160000\n*12350000`); single values keep the `*`.
- Texts carry HTML entities (`&rsquo;`, `&eacute;`, `&nbsp;`), unescaped for display and indexing.
- Amendment numbers are zero-padded strings (`000`, `001`; contract history also `T01`, `S01`): read as numbers.
- Closing times are published without an offset: read as a fixed offset (UTC-05:00 by default), stored in UTC.
- A tender and its awards share a solicitation number (reference numbers do not link the two files).

Every reader is total: an unreadable value becomes None or empty; a row without a reference number is skipped.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gateway.models import (
    Agency,
    Classification,
    Contact,
    Contract,
    ContractSource,
    LocalizedText,
    Money,
    NoticeDetails,
    Supplier,
    Tender,
)
from gateway.upstreams.mirror.feed import FeedFormatError

Row = Mapping[str, str]

EASTERN_STANDARD_TIME = timedelta(hours=-5)  # the offset of published closing times, measured on the live feed
DEFAULT_CURRENCY = "CAD"
CONTRACT_SOURCE = ContractSource.CANADABUYS
NOTICE_URL = "https://canadabuys.canada.ca/en/tender-opportunities/tender-notice/{reference}"
FIELD_SIZE_LIMIT = 16 * 1024 * 1024  # one cell; descriptions of a few hundred KiB exist

TITLE = "title-titre"
REFERENCE = "referenceNumber-numeroReference"
AMENDMENT = "amendmentNumber-numeroModification"
SOLICITATION = "solicitationNumber-numeroSollicitation"
PUBLISHED = "publicationDate-datePublication"
AMENDED = "amendmentDate-dateModification"
GSIN = "gsin-nibs"
GSIN_DESCRIPTION = "gsinDescription-nibsDescription"
UNSPSC = "unspsc"
UNSPSC_DESCRIPTION = "unspscDescription"
CATEGORY = "procurementCategory-categorieApprovisionnement"
NOTICE_TYPE = "noticeType-avisType"
METHOD = "procurementMethod-methodeApprovisionnement"
SELECTION = "selectionCriteria-criteresSelection"
LIMITED_REASON = "limitedTenderingReason-raisonAppelOffresLimite"
TRADE_AGREEMENTS = "tradeAgreements-accordsCommerciaux"
DELIVERY = "regionsOfDelivery-regionsLivraison"
BUYER = "contractingEntityName-nomEntitContractante"  # sic: the source's own spelling
END_USERS = "endUserEntitiesName-nomEntitesUtilisateurFinal"
CONTACT_NAME = "contactInfoName-informationsContactNom"
CONTACT_EMAIL = "contactInfoEmail-informationsContactCourriel"
CONTACT_PHONE = "contactInfoPhone-contactInfoTelephone"
# Tender notices only
CLOSING = "tenderClosingDate-appelOffresDateCloture"
EXPECTED_START = "expectedContractStartDate-dateDebutContratPrevue"
EXPECTED_END = "expectedContractEndDate-dateFinContratPrevue"
TENDER_STATUS = "tenderStatus-appelOffresStatut"
OPPORTUNITY = "regionsOfOpportunity-regionAppelOffres"
NOTICE_URL_COLUMN = "noticeURL-URLavis"
ATTACHMENTS = "attachment-piecesJointes"
TENDER_DESCRIPTION = "tenderDescription-descriptionAppelOffres"
# Award notices and contract history only
CONTRACT_NUMBER = "contractNumber-numeroContrat"
AWARDED = "contractAwardDate-dateAttributionContrat"
CONTRACT_START = "contractStartDate-contratDateDebut"
CONTRACT_END = "contractEndDate-dateFinContrat"
AMOUNT = "contractAmount-montantContrat"
TOTAL_VALUE = "totalContractValue-valeurTotaleContrat"
CURRENCY = "contractCurrency-contratMonnaie"
AWARD_STATUS = "awardStatus-attributionStatut"
INSTRUMENT = "instrumentType-typeInstrument"
AMENDMENT_TYPE = "amendmentType-typeModification"
SUPPLIER = "supplierLegalName-nomLegalFournisseur"
SUPPLIER_CITY = "supplierAddressCity-fournisseurAdresseVille-eng"
SUPPLIER_PROVINCE = "supplierAddressProvince-fournisseurAdresseProvince-eng"
SUPPLIER_COUNTRY = "supplierAddressCountry-fournisseurAdressePays-eng"
AWARD_DESCRIPTION = "awardDescription-descriptionAttribution"


def _both(*stems: str) -> tuple[str, ...]:
    return tuple(f"{stem}-{language}" for stem in stems for language in ("eng", "fra"))


_SHARED_COLUMNS = (
    REFERENCE,
    AMENDMENT,
    SOLICITATION,
    PUBLISHED,
    AMENDED,
    GSIN,
    UNSPSC,
    CATEGORY,
    CONTACT_NAME,
    CONTACT_EMAIL,
    CONTACT_PHONE,
    *_both(
        TITLE,
        GSIN_DESCRIPTION,
        UNSPSC_DESCRIPTION,
        NOTICE_TYPE,
        METHOD,
        SELECTION,
        LIMITED_REASON,
        TRADE_AGREEMENTS,
        DELIVERY,
        BUYER,
        END_USERS,
    ),
)
# The columns each mapping reads, all required: a file without one fails its refresh (extra columns are ignored).
TENDER_COLUMNS: tuple[str, ...] = (
    *_SHARED_COLUMNS,
    CLOSING,
    EXPECTED_START,
    EXPECTED_END,
    *_both(TENDER_STATUS, OPPORTUNITY, NOTICE_URL_COLUMN, ATTACHMENTS, TENDER_DESCRIPTION),
)
AWARD_COLUMNS: tuple[str, ...] = (
    *_SHARED_COLUMNS,
    CONTRACT_NUMBER,
    AWARDED,
    CONTRACT_START,
    CONTRACT_END,
    AMOUNT,
    TOTAL_VALUE,
    CURRENCY,
    SUPPLIER_CITY,
    SUPPLIER_PROVINCE,
    SUPPLIER_COUNTRY,
    *_both(AWARD_STATUS, INSTRUMENT, AMENDMENT_TYPE, SUPPLIER, AWARD_DESCRIPTION),
)

# Region names as CanadaBuys publishes them (English and French) -> the codes of the legacy Canadian API, so that
# region filters mean the same on both. A name not listed (a city such as Regina) is kept as published.
REGION_CODES: Mapping[str, str] = {
    name.casefold(): code
    for code, names in {
        "NCR": ("National Capital Region (NCR)", "Région de la capitale nationale (RCN)", "National Capital Region"),
        "ON": ("Ontario (except NCR)", "Ontario (sauf RCN)", "Ontario"),
        "QC": ("Quebec (except NCR)", "Québec (sauf RCN)", "Quebec", "Québec"),
        "AB": ("Alberta",),
        "BC": ("British Columbia", "Colombie-Britannique"),
        "MB": ("Manitoba",),
        "NB": ("New Brunswick", "Nouveau-Brunswick"),
        "NL": ("Newfoundland and Labrador", "Terre-Neuve-et-Labrador"),
        "NS": ("Nova Scotia", "Nouvelle-Écosse"),
        "NT": ("Northwest Territories", "Territoires du Nord-Ouest"),
        "NU": ("Nunavut Territory", "Territoire du Nunavut", "Nunavut"),
        "PE": ("Prince Edward Island", "Île-du-Prince-Édouard"),
        "SK": ("Saskatchewan",),
        "YT": ("Yukon",),
        "CAN": ("Canada",),
        "INT": ("World", "Monde"),
        "X-INT": ("Foreign", "À l'étranger", "À l\u2019étranger", "Étranger"),
        "USA": ("United States", "États-Unis"),
        "MEX": ("Mexico", "Mexique"),
        "ABL": ("Aboriginal Lands", "Terres autochtones"),
    }.items()
    for name in names
}
NOT_A_REGION = frozenset({"unspecified", "non spécifiée", "non spécifié", "non précisé", "non précisée"})

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DIGITS = re.compile(r"\d+")
_LIST_BREAK = re.compile(r",\s*(?=https?://)|\s*\n\s*")
_ABBREVIATION = re.compile(r"\(([^()]+)\)\s*$")


# -- reading a file --------------------------------------------------------------------------------------------------


def read_rows(path: Path, feed: str, columns: Sequence[str]) -> Iterator[dict[str, str]]:
    """The rows of one file, each as {column: cell} for `columns`. Raises FeedFormatError when a column is missing,
    a record has a different number of fields than the header (a truncated or damaged file), or the file is not
    UTF-8 CSV."""
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            header = [name.strip() for name in next(reader, [])]
            missing = [column for column in columns if column not in header]
            if missing:
                raise FeedFormatError(feed, f"{path.name} lacks the column(s) {', '.join(missing)}")
            positions = [(column, header.index(column)) for column in columns]
            for cells in reader:
                if not cells:
                    continue
                if len(cells) != len(header):
                    raise FeedFormatError(
                        feed,
                        f"{path.name}: record {reader.line_num} has {len(cells)} fields, the header {len(header)} "
                        "(a truncated or damaged file)",
                    )
                yield {column: cells[position] for column, position in positions}
    except csv.Error as failure:
        raise FeedFormatError(feed, f"{path.name} is not readable CSV: {failure}") from None
    except UnicodeDecodeError as failure:
        raise FeedFormatError(feed, f"{path.name} is not UTF-8: {failure.reason}") from None


# -- reading cells ---------------------------------------------------------------------------------------------------


def text(value: str | None) -> str | None:
    """A display text: HTML entities unescaped, control characters and no-break spaces made spaces, trimmed."""
    if not value:
        return None
    cleaned = _CONTROL.sub(" ", html.unescape(value).replace("\r\n", "\n").replace("\xa0", " ")).strip()
    return cleaned or None


def bilingual(row: Row, stem: str) -> LocalizedText:
    return LocalizedText(en=text(row.get(f"{stem}-eng")), fr=text(row.get(f"{stem}-fra")))


def bilingual_or_none(row: Row, stem: str) -> LocalizedText | None:
    value = bilingual(row, stem)
    return value if value.en or value.fr else None


def english_first(row: Row, stem: str) -> str | None:
    return text(row.get(f"{stem}-eng")) or text(row.get(f"{stem}-fra"))


def values(cell: str | None) -> tuple[str, ...]:
    """A multi-value cell: one value a line, each `*`-prefixed; duplicates dropped, order kept."""
    if not cell:
        return ()
    found: dict[str, None] = {}
    for line in cell.splitlines():
        item = text(line.strip().removeprefix("*"))
        if item:
            found[item] = None
    return tuple(found)


def codes(cell: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value.upper() for value in values(cell)))


def amendment_number(cell: str | None) -> int:
    """`000` -> 0, `001` -> 1; contract history's `T01` / `S01` -> 1 (their digits); no digits -> 0."""
    found = _DIGITS.search(cell or "")
    return int(found.group()) if found else 0


def day(cell: str | None) -> date | None:
    if not cell or len(cell.strip()) < 10:
        return None
    try:
        return date.fromisoformat(cell.strip()[:10])
    except ValueError:
        return None


def closing(cell: str | None, offset: timedelta) -> tuple[date | None, datetime | None]:
    """The closing date as published, and the closing moment in UTC (a time without an offset is read at
    `offset`; a date alone gives no moment)."""
    value = (cell or "").strip()
    if len(value) <= 10:
        return day(value), None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return day(value), None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(offset))
    return moment.date(), moment.astimezone(UTC)


def amount(cell: str | None) -> Decimal | None:
    try:
        number = Decimal((cell or "").replace(",", "").replace("$", "").strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def links(cell: str | None) -> tuple[str, ...]:
    """Attachment URLs: comma- or newline-separated."""
    if not cell:
        return ()
    return tuple(dict.fromkeys(part.strip() for part in _LIST_BREAK.split(cell.strip()) if part.strip()))


def regions(row: Row, stem: str) -> tuple[str, ...]:
    """Region codes of the legacy API where the name is known, else the English (or French) name as published."""
    names = values(row.get(f"{stem}-eng")) or values(row.get(f"{stem}-fra"))
    found = (REGION_CODES.get(name.casefold(), name) for name in names if name.casefold() not in NOT_A_REGION)
    return tuple(dict.fromkeys(found))


def region_names(row: Row, stem: str) -> tuple[str, ...]:
    """Every published name of the regions (both languages), for exact-name filters."""
    return tuple(
        name
        for language in ("eng", "fra")
        for name in values(row.get(f"{stem}-{language}"))
        if name.casefold() not in NOT_A_REGION
    )


def paired(row: Row, stem: str) -> tuple[LocalizedText, ...]:
    """A multi-value cell in both languages; the two lists are parallel when they have as many values."""
    english, french = values(row.get(f"{stem}-eng")), values(row.get(f"{stem}-fra"))
    if len(english) == len(french):
        return tuple(LocalizedText(en, fr) for en, fr in zip(english, french, strict=True))
    if english:
        return tuple(LocalizedText(en) for en in english)
    return tuple(LocalizedText(None, fr) for fr in french)


def abbreviation(name: str) -> str | None:
    """`Canadian Free Trade Agreement (CFTA)` -> `CFTA`."""
    found = _ABBREVIATION.search(name)
    return found.group(1).strip() if found else None


def classifications(row: Row) -> tuple[Classification, ...]:
    found = []
    for scheme, column, stem in (("GSIN", GSIN, GSIN_DESCRIPTION), ("UNSPSC", UNSPSC, UNSPSC_DESCRIPTION)):
        numbers = codes(row.get(column))
        english, french = values(row.get(f"{stem}-eng")), values(row.get(f"{stem}-fra"))
        for position, number in enumerate(numbers):
            en = english[position] if len(english) == len(numbers) else None
            fr = french[position] if len(french) == len(numbers) else None
            found.append(Classification(scheme, number, LocalizedText(en, fr) if en or fr else None))
    return tuple(found)


def contact(row: Row) -> Contact | None:
    name, email, phone = (text(row.get(column)) for column in (CONTACT_NAME, CONTACT_EMAIL, CONTACT_PHONE))
    return Contact(name, email, phone) if name or email or phone else None


def notice_url(reference: str) -> str:
    return NOTICE_URL.format(reference=reference)


# -- rows -> domain ---------------------------------------------------------------------------------------------------


def _details(row: Row, *, start: str, end: str, status: str, description: str) -> NoticeDetails:
    return NoticeDetails(
        amendment=amendment_number(row.get(AMENDMENT)),
        solicitation_number=text(row.get(SOLICITATION)),
        published=day(row.get(PUBLISHED)),
        amended=day(row.get(AMENDED)),
        status=bilingual_or_none(row, status),
        notice_type=bilingual_or_none(row, NOTICE_TYPE),
        procurement_method=bilingual_or_none(row, METHOD),
        selection_criteria=bilingual_or_none(row, SELECTION),
        limited_tendering_reason=bilingual_or_none(row, LIMITED_REASON),
        procurement_categories=codes(row.get(CATEGORY)),
        trade_agreements=paired(row, TRADE_AGREEMENTS),
        unspscs=codes(row.get(UNSPSC)),
        classifications=classifications(row),
        description=bilingual_or_none(row, description),
        end_users=bilingual_or_none(row, END_USERS),
        contact=contact(row),
        start=day(row.get(start)),
        end=day(row.get(end)),
    )


def tender(row: Row, *, offset: timedelta = EASTERN_STANDARD_TIME) -> Tender | None:
    """A tender notice row; None without a reference number."""
    reference = text(row.get(REFERENCE))
    if reference is None:
        return None
    closing_date, closing_at = closing(row.get(CLOSING), offset)
    url = bilingual(row, NOTICE_URL_COLUMN)
    english_links, french_links = links(row.get(f"{ATTACHMENTS}-eng")), links(row.get(f"{ATTACHMENTS}-fra"))
    details = _details(
        row, start=EXPECTED_START, end=EXPECTED_END, status=TENDER_STATUS, description=TENDER_DESCRIPTION
    )
    return Tender(
        reference=reference,
        solicitation_number=text(row.get(SOLICITATION)),
        title=bilingual(row, TITLE),
        buyer=bilingual(row, BUYER),
        url=url if url.en or url.fr else LocalizedText(notice_url(reference)),
        gsins=codes(row.get(GSIN)),
        delivery_regions=regions(row, DELIVERY),
        opportunity_regions=regions(row, OPPORTUNITY),
        closing_date=closing_date,
        closing_at=closing_at,
        notice=replace(details, attachments=english_links or french_links),
    )


def contract(row: Row) -> Contract | None:
    """An award-notice or contract-history row; None without a reference number.

    `value` is the amount of this award or amendment (0.00 on many rows), `total_value` the contract's cumulative
    value (repeated on every amendment: never sum it), both as published (CAD, taxes included).
    """
    reference = text(row.get(REFERENCE))
    if reference is None:
        return None
    currency = (text(row.get(CURRENCY)) or DEFAULT_CURRENCY).upper()
    value, total = amount(row.get(AMOUNT)), amount(row.get(TOTAL_VALUE))
    buyer = bilingual_or_none(row, BUYER)
    supplier_name = english_first(row, SUPPLIER)
    city, province, country = (text(row.get(c)) for c in (SUPPLIER_CITY, SUPPLIER_PROVINCE, SUPPLIER_COUNTRY))
    details = _details(row, start=CONTRACT_START, end=CONTRACT_END, status=AWARD_STATUS, description=AWARD_DESCRIPTION)
    return Contract(
        source=CONTRACT_SOURCE,
        key=reference,
        piid=text(row.get(CONTRACT_NUMBER)) or reference,
        title=bilingual(row, TITLE),
        modification_number=text(row.get(AMENDMENT)),
        buyer=Agency(buyer) if buyer else None,
        supplier=Supplier(supplier_name, city=city, region=province, country=country)
        if supplier_name or city or province or country
        else None,
        value=None if value is None else Money(value, currency),
        total_value=None if total is None else Money(total, currency),
        award_date=day(row.get(AWARDED)),
        expiry_date=day(row.get(CONTRACT_END)),
        gsins=codes(row.get(GSIN)),
        notice=replace(
            details,
            instrument_type=bilingual_or_none(row, INSTRUMENT),
            amendment_type=bilingual_or_none(row, AMENDMENT_TYPE),
        ),
    )
