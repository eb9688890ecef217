"""SAM.gov Contract Awards v1: request parameters, envelope parsing, and the client.

SAM quirks handled here: every scalar arrives as a JSON string (`"null"` included), dates come in several shapes,
`awardeeData` lives inside `awardDetails`, `offset` is a page index (not a record offset), and the characters
`& | { } ^ \\` may not appear in any parameter value.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from gateway import formats
from gateway.cache.codec import JSON_NULL_BODY
from gateway.errors import BadUserInput, UpstreamBadResponse, UpstreamRejected
from gateway.models import (
    MAX_PAGE_SIZE,
    Agency,
    AwardFamily,
    CodeName,
    Contract,
    ContractQuery,
    ContractSource,
    Country,
    DateRange,
    FamilyCounts,
    LocalizedText,
    Money,
    Page,
    SamSections,
    Supplier,
    ValueRange,
)
from gateway.upstreams import wire
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import NO_CONTENT, EmptyAnswer, UpstreamFetch
from gateway.upstreams.sam.spec import SPEC
from gateway.upstreams.spec import RecordKind, UpstreamSpec

NAME = SPEC.name
SEARCH_PATH = "contract-awards/v1/search"
CURRENCY = "USD"
NOTHING_FOUND_STATUSES = frozenset({NO_CONTENT, 404})  # 204, and the 404 "No Data found" of SAM's error table
MAX_REACHABLE_RECORDS = 400_000  # SAM refuses offset x limit > 400,000
MAX_LIST_VALUES = 100  # SAM refuses more than 100 UEIs / NAICS / PSCs in one parameter
FORBIDDEN_CHARACTERS = "&|{}^\\"
ANY_OF_SEPARATOR = "~"
# SAM documents closed dollar ranges only; an open side is closed with this bound.
DOLLARS_BOUND = Decimal("999999999999999.99")
CONTRACT_LOOKUP_LIMIT = 10
IDV_DISCOVERY_LIMIT = 100
_RESERVED_IN_KEYWORDS = re.compile(r"\b(includeSections|emailId|piidAggregation|format)\s*[=:]", re.IGNORECASE)

logger = logging.getLogger(__name__)

_CONTRACT_ID = SamSections()
_CORE = SamSections(core_data=True)
_DETAILS = SamSections(award_details=True)

SECTIONS_BY_FIELD: Mapping[str, SamSections] = MappingProxyType(
    {
        "source": _CONTRACT_ID,
        "key": _CONTRACT_ID,
        "piid": _CONTRACT_ID,
        "modification_number": _CONTRACT_ID,
        "referenced_idv_piid": _CONTRACT_ID,
        "gsins": _CONTRACT_ID,  # Canadian only: always empty for SAM
        "url": _CONTRACT_ID,  # SAM records carry no public URL
        "notice": _CONTRACT_ID,  # CanadaBuys notices only: always None for SAM
        "ocid": _CONTRACT_ID,  # OCDS sources only: always None for SAM
        "ocds": _CONTRACT_ID,
        "buyer": _CORE,
        "award_type": _CORE,
        "naics": _CORE,
        "product_or_service": _CORE,
        "place_of_performance": _CORE,
        # coreData.competitionInformation.typeOfSetAside; orders inherit awardDetails' idvTypeOfSetAside (example 1)
        "set_aside": SamSections(core_data=True, award_details=True),
        "title": _DETAILS,
        "value": _DETAILS,
        "total_value": _DETAILS,
        "award_date": _DETAILS,
        "expiry_date": _DETAILS,
        "fiscal_year": _DETAILS,
        "last_modified": _DETAILS,
        # awardeeData is a section of its own that SAM returns inside awardDetails (example 4)
        "supplier": SamSections(awardee_data=True),
    }
)


def sections_for(field_names: Iterable[str]) -> SamSections:
    """The SAM sections that the named Contract fields need; names that are not Contract fields need none."""
    needed = [SECTIONS_BY_FIELD[name] for name in field_names if name in SECTIONS_BY_FIELD]
    return SamSections(
        core_data=any(s.core_data for s in needed),
        award_details=any(s.award_details for s in needed),
        awardee_data=any(s.awardee_data for s in needed),
    )


@dataclass(frozen=True)
class SamContractKey:
    """What identifies one SAM transaction; encoded as `piid|modificationNumber|transactionNumber|referencedIDVPiid`.

    `|` is safe as a separator: SAM forbids it inside values.
    """

    piid: str
    modification_number: str | None = None
    transaction_number: str | None = None
    referenced_idv_piid: str | None = None

    def encode(self) -> str:
        parts = (self.piid, self.modification_number, self.transaction_number, self.referenced_idv_piid)
        return "|".join(part or "" for part in parts)

    @classmethod
    def decode(cls, key: str) -> SamContractKey | None:
        parts = key.split("|")
        if len(parts) != 4 or not parts[0]:
            return None
        piid, modification, transaction, referenced = parts
        return cls(piid, modification or None, transaction or None, referenced or None)


# -- request parameters ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageRequest:
    """One SAM page: `limit` records starting at record `offset` (a multiple of `limit`: SAM pages by index)."""

    limit: int
    offset: int


def covering_pages(offset: int, limit: int) -> tuple[PageRequest, ...]:
    """The fewest SAM pages holding records [offset, offset + limit), for 1 <= limit <= 100.

    An aligned offset is one page of `limit`. Otherwise the smallest page size <= 100 whose one page covers the window
    (e.g. offset 5, limit 10 -> page 0 of 15), and failing that two adjacent pages of `limit` (fetched concurrently).
    """
    if offset % limit == 0:
        return (PageRequest(limit, offset),)
    last = offset + limit - 1
    for size in range(limit + 1, MAX_PAGE_SIZE + 1):
        if offset // size == last // size:
            return (PageRequest(size, offset // size * size),)
    first = offset // limit * limit
    return (PageRequest(limit, first), PageRequest(limit, first + limit))


def check_paging(limit: int, offset: int, *, window: bool = False) -> None:
    """SAM's paging rules, in one place; raises BadUserInput for what SAM would refuse or cannot serve.

    A page the gateway sends holds 1 to 100 records and starts within the first 400,000 records of the search; a
    window a caller asks for (`window=True`) holds 0 to 100 records and ends within them.
    """
    smallest = 0 if window else 1
    if not smallest <= limit <= MAX_PAGE_SIZE:
        raise BadUserInput(f"SAM pages hold {smallest} to {MAX_PAGE_SIZE} records", limit=limit)
    if offset < 0:
        raise BadUserInput("offset must not be negative", offset=offset)
    if (offset + limit if window else offset) > MAX_REACHABLE_RECORDS:
        raise BadUserInput(
            f"SAM serves only the first {MAX_REACHABLE_RECORDS:,} records of a search; narrow it (e.g. by award date)",
            offset=offset,
        )


def build_params(query: ContractQuery, *, limit: int, offset: int, sections: SamSections) -> dict[str, str]:
    """SAM search parameters for one page; `offset` counts records and must be a multiple of `limit`.

    Raises BadUserInput for values SAM would refuse (paging, forbidden characters, over 100 list values, inverted
    ranges: `check_paging`, `search_filters`).
    """
    check_paging(limit, offset)
    if offset % limit:
        raise ValueError(f"SAM pages by index: offset {offset} is not a multiple of limit {limit}")
    params = search_filters(query)
    include_sections = include_sections_param(sections)
    if include_sections is not None:
        params["includeSections"] = include_sections
    params["limit"] = str(limit)
    params["offset"] = str(offset // limit)
    return params


def search_filters(query: ContractQuery) -> dict[str, str]:
    """The filter parameters of `query` in SAM's syntax; BadUserInput for values SAM would refuse."""
    filters: dict[str, tuple[str, str | None]] = {
        "q": ("keywords", _keywords(query.keywords)),
        "piid": ("piid", _single("piid", query.piid)),
        "modificationNumber": ("modification_number", _single("modification_number", query.modification_number)),
        "referencedIdvPiid": ("referenced_idv_piid", _single("referenced_idv_piid", query.referenced_idv_piid)),
        "naicsCode": ("naics", _any_of("naics", query.naics)),
        "productOrServiceCode": ("product_or_service", _any_of("product_or_service", query.product_or_service)),
        "contractingDepartmentCode": ("agency_code", _single("agency_code", query.agency_code)),
        "contractingDepartmentName": ("agency_name", _single("agency_name", query.agency_name)),
        "awardeeLegalBusinessName": ("supplier_name", _single("supplier_name", query.supplier_name)),
        "awardeeUniqueEntityId": ("supplier_uei", _any_of("supplier_uei", query.supplier_uei)),
        "dateSigned": ("awarded", _date_range(query.awarded)),
        "dollarsObligated": ("value", _dollar_range(query.value)),
        "fiscalYear": ("fiscal_year", _fiscal_year(query.fiscal_year)),
        "awardOrIDV": ("award_or_idv", _award_or_idv(query.award_or_idv)),
        "placeOfPerformStateCode": (
            "place_of_performance_state",
            _single("place_of_performance_state", query.place_of_performance_state),
        ),
    }
    params: dict[str, str] = {}
    for param, (field_name, value) in filters.items():
        if value is None:
            continue
        refused = sorted({c for c in value if c in FORBIDDEN_CHARACTERS})
        if refused:
            raise BadUserInput(
                f"SAM does not accept the characters & | {{ }} ^ \\ in search values; remove {' '.join(refused)} "
                f"from {field_name}",
                field=field_name,
            )
        params[param] = value
    return params


def include_sections_param(sections: SamSections) -> str | None:
    """`includeSections` for what is needed, or None (every section) when awardDetails and awardeeData both are.

    Naming awardeeData narrows awardDetails to that block alone (doc example 4: `contractId,awardDetails,awardeeData`
    answers `awardDetails: {awardeeData}`), so dates and dollars together with the awardee need the whole record.
    """
    if sections.award_details and sections.awardee_data:
        return None
    return sections.as_param()


def _keywords(keywords: str | None) -> str | None:
    text = (keywords or "").strip()
    if _RESERVED_IN_KEYWORDS.search(text):
        raise BadUserInput("SAM does not accept includeSections, emailId, piidAggregation or format inside keywords")
    return text or None


def _single(field_name: str, value: str | None) -> str | None:
    text = (value or "").strip()
    if ANY_OF_SEPARATOR in text:
        raise BadUserInput(f"{field_name} must not contain '~' (SAM's any-of separator)", field=field_name)
    return text or None


def _any_of(field_name: str, values: Sequence[str]) -> str | None:
    kept = [value for value in (_single(field_name, value) for value in values) if value is not None]
    if len(kept) > MAX_LIST_VALUES:
        raise BadUserInput(f"SAM accepts at most {MAX_LIST_VALUES} values of {field_name}", field=field_name)
    return ANY_OF_SEPARATOR.join(kept) or None


def _sam_date(day: date) -> str:
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"


def _date_range(span: DateRange | None) -> str | None:
    if span is None or (span.start is None and span.end is None):
        return None
    if span.start is not None and span.end is not None:
        if span.start > span.end:
            raise BadUserInput("a date range must not end before it starts")
        if span.start == span.end:
            return _sam_date(span.start)
    start = _sam_date(span.start) if span.start is not None else ""
    end = _sam_date(span.end) if span.end is not None else ""
    return f"[{start},{end}]"


def _sam_dollars(amount: Decimal) -> str:
    if not amount.is_finite():
        raise BadUserInput("a dollar amount must be a finite number")
    return format(amount, "f")


def _dollar_range(span: ValueRange | None) -> str | None:
    if span is None or (span.minimum is None and span.maximum is None):
        return None
    minimum = _sam_dollars(span.minimum if span.minimum is not None else -DOLLARS_BOUND)
    maximum = _sam_dollars(span.maximum if span.maximum is not None else DOLLARS_BOUND)
    if Decimal(minimum) > Decimal(maximum):
        raise BadUserInput("a value range must not have its minimum above its maximum")
    return f"[{minimum},{maximum}]"


def _fiscal_year(year: int | None) -> str | None:
    if year is None:
        return None
    if not 1000 <= year <= 9999:
        raise BadUserInput("a fiscal year has four digits", field="fiscal_year")
    return str(year)


def _award_or_idv(kind: str | None) -> str | None:
    text = (kind or "").strip().upper()
    if not text:
        return None
    if text not in {"AWARD", "IDV"}:
        raise BadUserInput("award_or_idv is AWARD or IDV", field="award_or_idv")
    return "Award" if text == "AWARD" else "IDV"


# -- response parsing (pure and total) -------------------------------------------------------------------------------


def _money(value: object, *path: str) -> Money | None:
    return wire.money(value, *path, currency=CURRENCY, strict=True)


def _code_name(value: object, *path: str) -> CodeName | None:
    found = wire.at(value, *path)
    if isinstance(found, list):
        found = found[0] if found else None
    code, name = wire.text(found, "code"), wire.text(found, "name")
    return CodeName(code, name) if code is not None or name is not None else None


def _buyer(core: object) -> Agency | None:
    contracting = wire.at(core, "federalOrganization", "contractingInformation")
    department_name = wire.text(contracting, "contractingDepartment", "name")
    department_code = wire.text(contracting, "contractingDepartment", "code")
    subtier = _code_name(contracting, "contractingSubtier")
    office = _code_name(contracting, "contractingOffice")
    if department_name is None and department_code is None and subtier is None and office is None:
        return None
    return Agency(LocalizedText(department_name), code=department_code, subtier=subtier, office=office)


def _supplier(details: object) -> Supplier | None:
    awardee = wire.at(details, "awardeeData")
    if not isinstance(awardee, dict):
        return None
    header, location = awardee.get("awardeeHeader"), awardee.get("awardeeLocation")
    return Supplier(
        name=(
            wire.text(header, "legalBusinessName")
            or wire.text(header, "awardeeName")
            or wire.text(header, "awardeeNameFromContract")
        ),
        unique_entity_id=wire.text(awardee, "awardeeUEIInformation", "uniqueEntityId"),
        cage_code=wire.text(awardee, "awardeeUEIInformation", "cageCode"),
        city=wire.text(location, "city") or wire.text(location, "city", "name"),
        region=wire.text(location, "state", "code") or wire.text(location, "state"),
        country=wire.text(location, "country", "code") or wire.text(location, "country"),
    )


def _place_of_performance(core: object) -> Country | None:
    country = wire.at(core, "principalPlaceOfPerformance", "country")
    code, name = wire.text(country, "code"), wire.text(country, "name")
    return Country(code, name) if code is not None or name is not None else None


def parse_contract(item: object, fields: frozenset[str] | None = None) -> Contract | None:
    """One `awardSummary[]` item, or None when it has no PIID (a malformed item is skipped, never fatal).

    `fields`: the Contract fields to read (its address, `title` and `award_date` always are); the others keep their
    defaults. None reads every field."""
    contract_id = wire.at(item, "contractId")
    piid = wire.text(contract_id, "piid")
    if piid is None:
        return None
    key = SamContractKey(
        piid,
        wire.text(contract_id, "modificationNumber"),
        wire.text(contract_id, "transactionNumber"),
        wire.text(contract_id, "referencedIDVPiid"),
    )
    core, details = wire.at(item, "coreData"), wire.at(item, "awardDetails")
    dates = wire.at(details, "dates")
    readers = _CONTRACT_READERS.items() if fields is None else _contract_readers_of(fields)
    return Contract(
        source=ContractSource.SAM,
        key=key.encode(),
        piid=piid,
        title=LocalizedText(wire.text(details, "productOrServiceInformation", "descriptionOfContractRequirement")),
        modification_number=key.modification_number,
        referenced_idv_piid=key.referenced_idv_piid,
        award_date=wire.day(dates, "dateSigned"),
        **{name: read(core, details, dates) for name, read in readers},
    )


_ContractReader = Callable[[object, object, object], Any]
# What each other Contract field is read from, given the item's `coreData`, `awardDetails` and its `dates`.
_CONTRACT_READERS: Mapping[str, _ContractReader] = {
    "buyer": lambda core, details, dates: _buyer(core),
    "supplier": lambda core, details, dates: _supplier(details),
    "value": lambda core, details, dates: _money(details, "dollars", "actionObligation"),
    "total_value": lambda core, details, dates: _money(details, "totalContractDollars", "totalActionObligation"),
    "expiry_date": lambda core, details, dates: (
        wire.day(dates, "currentCompletionDate") or wire.day(dates, "ultimateCompletionDate")
    ),
    "fiscal_year": lambda core, details, dates: wire.integer(dates, "fiscalYear"),
    "award_type": lambda core, details, dates: _code_name(core, "awardOrIDVType"),
    "naics": lambda core, details, dates: _code_name(core, "productOrServiceInformation", "principalNaics"),
    "product_or_service": lambda core, details, dates: _code_name(
        core, "productOrServiceInformation", "productOrService"
    ),
    "set_aside": lambda core, details, dates: (
        _code_name(core, "competitionInformation", "typeOfSetAside")
        or _code_name(details, "competitionInformation", "idvTypeOfSetAside")
    ),
    "place_of_performance": lambda core, details, dates: _place_of_performance(core),
    "last_modified": lambda core, details, dates: wire.moment(details, "transactionData", "lastModifiedDate"),
}
SELECTIONS_KEPT = 64  # readers and search parsers planned per field selection, least recently used dropped


@functools.lru_cache(maxsize=SELECTIONS_KEPT)
def _contract_readers_of(fields: frozenset[str]) -> tuple[tuple[str, _ContractReader], ...]:
    return tuple((name, read) for name, read in _CONTRACT_READERS.items() if name in fields)


@dataclass(frozen=True)
class SearchAnswer:
    """One search envelope as read: a contract per `awardSummary` item, None where an item is malformed (so that a
    window sliced from it never shifts), SAM's total, and the record offset of its first item."""

    contracts: tuple[Contract | None, ...]
    total: int | None
    offset: int = 0

    def page(self) -> Page[Contract]:
        return Page(tuple(contract for contract in self.contracts if contract is not None), self.total, self.offset)


NOTHING_FOUND = SearchAnswer((), 0)  # HTTP 204, or the 404 "No Data found" of SAM's error table


def parse_search(payload: object, fields: frozenset[str] | None = None) -> SearchAnswer:
    """A SAM search envelope (or JSON_NULL_BODY for 204); UpstreamBadResponse when it is not one.
    `offset` is the echoed page index x limit; `fields` of each contract (see `parse_contract`)."""
    if payload is JSON_NULL_BODY:
        return NOTHING_FOUND
    if not isinstance(payload, dict):
        raise UpstreamBadResponse(NAME, f"{NAME} answered JSON that is not a search envelope")
    total = wire.integer(payload, "totalRecords")
    items = payload.get("awardSummary")
    if items is None and total == 0:
        items = []
    if not isinstance(items, list):
        raise UpstreamBadResponse(NAME, f"{NAME} answered a search envelope without an awardSummary list")
    contracts = tuple(parse_contract(item, fields) for item in items)
    skipped = sum(contract is None for contract in contracts)
    if skipped:
        logger.warning("%s: skipped %d malformed awardSummary items", NAME, skipped)
    page_index, limit = wire.integer(payload, "offset"), wire.integer(payload, "limit")
    offset = 0
    if page_index is not None and limit is not None and page_index >= 0 and limit > 0:
        offset = page_index * limit
    return SearchAnswer(contracts, total, offset)


@functools.lru_cache(maxsize=SELECTIONS_KEPT)
def selected_search_parser(fields: frozenset[str]) -> Callable[[object], SearchAnswer]:
    """`parse_search` reading only `fields` of each contract: one parser per selection, so that the fetch path
    shares a flight and a parsed answer only between equal ones."""
    return functools.partial(parse_search, fields=fields)


def parse_page(payload: object) -> Page[Contract]:
    """A SAM search envelope (or JSON_NULL_BODY for 204) as a page of the contracts it holds."""
    return parse_search(payload).page()


def _family_counts(aggregation: object, block: str) -> FamilyCounts | None:
    counts = wire.at(aggregation, block)
    if not isinstance(counts, dict):
        return None
    return FamilyCounts(
        base_count=wire.integer(counts, "baseCount"),
        total_count=wire.integer(counts, "totalCount"),
        total_dollars=_money(counts, "totalDollars"),
    )


def parse_award_family(payload: object, piid: str) -> AwardFamily | None:
    """`piidAggregation` of a search envelope; None when SAM found nothing or sent no usable family summary."""
    if payload is JSON_NULL_BODY:
        return None
    if not isinstance(payload, dict):
        raise UpstreamBadResponse(NAME, f"{NAME} answered JSON that is not a search envelope")
    aggregation = payload.get("piidAggregation")
    count = wire.integer(aggregation, "awardFamilySummary", "count")
    total_dollars = _money(aggregation, "awardFamilySummary", "totalDollars")
    if count is None or total_dollars is None:
        return None
    return AwardFamily(
        piid=piid,
        count=count,
        total_dollars=total_dollars,
        referencing_orders=_family_counts(aggregation, "referencingDosOrBpaCallsSummary"),
        bpa=_family_counts(aggregation, "bpaSummary"),
        bpa_calls=_family_counts(aggregation, "bpaCallSummary"),
    )


# -- client ----------------------------------------------------------------------------------------------------------


class ContractAwardsClient:
    """Contracts (ContractClient) and award families (AwardFamilyClient) through the shared fetch path, which caches
    SAM's JSON keyed without the api key. "Nothing matched" (204, or SAM's 404 "No Data found") is an empty page.

    `selection` names the Contract fields a query needs: only their sections are asked for (`sections_for`).
    """

    def __init__(self, spec: UpstreamSpec, fetch: UpstreamFetch) -> None:
        self.spec = spec
        self._fetch = fetch

    def check_contract_query(self, query: ContractQuery, *, limit: int) -> None:
        check_paging(limit, 0, window=True)
        search_filters(query)

    async def search_contracts(
        self, query: ContractQuery, *, limit: int, offset: int, selection: frozenset[str], deadline: Deadline
    ) -> Page[Contract]:
        """Records [offset, offset + limit) of a search; `limit` 0 asks only for the total (one 1-record page)."""
        check_paging(limit, offset, window=True)
        if limit == 0:
            params = build_params(query, limit=1, offset=0, sections=SamSections())
            return Page((), (await self._search(params, deadline)).total, offset)
        pages = covering_pages(offset, limit)
        sections = sections_for(selection)
        every_params = [build_params(query, limit=p.limit, offset=p.offset, sections=sections) for p in pages]
        answers = await self._search_all(every_params, deadline, selected_search_parser(selection))
        slots = [contract for answer in answers for contract in answer.contracts]
        skip = offset - pages[0].offset
        window = tuple(contract for contract in slots[skip : skip + limit] if contract is not None)
        return Page(window, answers[0].total, offset)

    async def contract(
        self, key: str, *, hint: str | None, selection: frozenset[str], deadline: Deadline
    ) -> Contract | None:
        """The transaction a `Contract.key` names (parts left empty match anything; the base award is preferred)."""
        del hint
        wanted = SamContractKey.decode(key.strip())
        if wanted is None:
            raise BadUserInput("not the key of a SAM contract award", argument="id")
        wanted = SamContractKey(  # the parts go to SAM: their formats are checked first (BAD_USER_INPUT)
            formats.PIID.check(wanted.piid, argument="id") or "",
            formats.MODIFICATION_NUMBER.check(wanted.modification_number, argument="id"),
            formats.TRANSACTION_NUMBER.check(wanted.transaction_number, argument="id"),
            formats.PIID.check(wanted.referenced_idv_piid, argument="id"),
        )
        if not wanted.piid:
            raise BadUserInput("a PIID is required", field="piid")
        query = ContractQuery(
            piid=wanted.piid,
            modification_number=wanted.modification_number,
            referenced_idv_piid=wanted.referenced_idv_piid,
        )
        params = build_params(query, limit=CONTRACT_LOOKUP_LIMIT, offset=0, sections=sections_for(selection))
        found = (await self._search(params, deadline)).page().items
        matches = [contract for contract in found if _matches(contract, wanted)]
        if not matches:
            return None
        base = [contract for contract in matches if contract.modification_number in {"0", None}]
        return (base or matches)[0]

    async def award_family(
        self, piid: str, *, referenced_idv_piid: str | None = None, deadline: Deadline
    ) -> AwardFamily | None:
        """SAM's piidAggregation for a PIID (one 1-record call with only contractId).

        SAM answers 400 when the PIID alone is not unique. Given `referenced_idv_piid`, it is sent from the start.
        Without it, one search for the PIID lists the IDVs its records reference: exactly one -> the aggregation is
        asked again with it; several -> BadUserInput naming them; none -> the 400 stands (UpstreamRejected).
        """
        query = ContractQuery(piid=piid, referenced_idv_piid=referenced_idv_piid)
        params = build_params(query, limit=1, offset=0, sections=SamSections())
        if "piid" not in params:
            raise BadUserInput("a PIID is required", field="piid")
        params["piidAggregation"] = "yes"
        family_of = params["piid"]
        try:
            return await self._fetch.get(
                SEARCH_PATH,
                params,
                kind=RecordKind.AWARD_FAMILY,
                parse=lambda payload: parse_award_family(payload, family_of),
                empty=EmptyAnswer(None, NOTHING_FOUND_STATUSES),
                deadline=deadline,
            )
        except UpstreamRejected as rejected:
            if rejected.extensions.get("status") != 400 or referenced_idv_piid is not None:
                raise
            referenced = await self._referenced_idvs(family_of, deadline)
            if not referenced:
                raise
            if len(referenced) > 1:
                raise BadUserInput(
                    f"PIID {family_of} is not unique in SAM; give the referenced IDV PIID "
                    f"(one of {', '.join(referenced[:5])})",
                    field="referenced_idv_piid",
                ) from None
            return await self.award_family(piid, referenced_idv_piid=referenced[0], deadline=deadline)

    async def _referenced_idvs(self, piid: str, deadline: Deadline) -> list[str]:
        params = build_params(ContractQuery(piid=piid), limit=IDV_DISCOVERY_LIMIT, offset=0, sections=SamSections())
        found = (await self._search(params, deadline)).page().items
        return sorted({c.referenced_idv_piid for c in found if c.piid == piid and c.referenced_idv_piid is not None})

    async def _search_all(
        self, every_params: Sequence[dict[str, str]], deadline: Deadline, parse: Callable[[object], SearchAnswer]
    ) -> list[SearchAnswer]:
        if len(every_params) == 1:
            return [await self._search(every_params[0], deadline, parse)]
        results = await asyncio.gather(
            *(self._search(params, deadline, parse) for params in every_params), return_exceptions=True
        )
        answers: list[SearchAnswer] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            answers.append(result)
        return answers

    async def _search(
        self, params: dict[str, str], deadline: Deadline, parse: Callable[[object], SearchAnswer] = parse_search
    ) -> SearchAnswer:
        return await self._fetch.get(
            SEARCH_PATH,
            params,
            kind=RecordKind.CONTRACT,
            parse=parse,
            empty=EmptyAnswer(NOTHING_FOUND, NOTHING_FOUND_STATUSES),
            deadline=deadline,
        )


def _matches(contract: Contract, wanted: SamContractKey) -> bool:
    found = SamContractKey.decode(contract.key)
    if found is None or found.piid != wanted.piid:
        return False
    return all(
        expected is None or expected == actual
        for expected, actual in (
            (wanted.modification_number, found.modification_number),
            (wanted.transaction_number, found.transaction_number),
            (wanted.referenced_idv_piid, found.referenced_idv_piid),
        )
    )
