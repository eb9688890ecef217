"""SAM.gov Contract Awards v1: request parameters, envelope parsing, and the thin client.

SAM quirks handled here: every scalar arrives as a JSON string (`"null"` included), dates come in several shapes,
`awardeeData` lives inside `awardDetails`, `offset` is a page index (not a record offset), and the characters
`& | { } ^ \\` may not appear in any parameter value.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Protocol

from gateway.cache.codec import JSON_NULL_BODY
from gateway.cache.store import ResponseCache, cache_key
from gateway.errors import BadUserInput, UpstreamBadResponse, UpstreamRejected
from gateway.models import (
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
from gateway.upstreams.deadline import Deadline

NAME = "sam"
SEARCH_PATH = "contract-awards/v1/search"
MAX_LIMIT = 100
MAX_REACHABLE_RECORDS = 400_000  # SAM refuses offset x limit > 400,000
MAX_LIST_VALUES = 100  # SAM refuses more than 100 UEIs / NAICS / PSCs in one parameter
FORBIDDEN_CHARACTERS = "&|{}^\\"
ANY_OF_SEPARATOR = "~"
# SAM documents closed dollar ranges only; an open side is closed with this bound.
DOLLARS_BOUND = Decimal("999999999999999.99")
CONTRACT_LOOKUP_LIMIT = 10
IDV_DISCOVERY_LIMIT = 100
_MAX_DOLLAR_DIGITS = 21  # more than any public budget: larger numbers are garbage, not dollars
_MAX_INT_DIGITS = 18
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
    for size in range(limit + 1, MAX_LIMIT + 1):
        if offset // size == last // size:
            return (PageRequest(size, offset // size * size),)
    first = offset // limit * limit
    return (PageRequest(limit, first), PageRequest(limit, first + limit))


def build_params(query: ContractQuery, *, limit: int, offset: int, sections: SamSections) -> dict[str, str]:
    """SAM search parameters for one page; `offset` counts records and must be a multiple of `limit`.

    Raises BadUserInput for values SAM would refuse (forbidden characters, over 100 list values, inverted ranges).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise BadUserInput(f"SAM pages hold 1 to {MAX_LIMIT} records", limit=limit)
    if offset < 0:
        raise BadUserInput("offset must not be negative", offset=offset)
    if offset % limit:
        raise ValueError(f"SAM pages by index: offset {offset} is not a multiple of limit {limit}")
    if offset > MAX_REACHABLE_RECORDS:
        raise BadUserInput(
            f"SAM serves only the first {MAX_REACHABLE_RECORDS:,} records of a search; narrow it (e.g. by award date)",
            offset=offset,
        )
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
    include_sections = include_sections_param(sections)
    if include_sections is not None:
        params["includeSections"] = include_sections
    params["limit"] = str(limit)
    params["offset"] = str(offset // limit)
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


def _at(value: object, *path: str) -> object:
    """The value at `path` inside nested JSON objects, or None where a step is missing or not an object."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text(value: object, *path: str) -> str | None:
    found = _at(value, *path)
    if isinstance(found, bool):
        return None
    if isinstance(found, int | float):
        return str(found)
    if not isinstance(found, str):
        return None
    text = found.strip()
    return text if text and text != "null" else None  # SAM writes absent scalars as "null" at times


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, str):
        return None
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount.adjusted() < _MAX_DOLLAR_DIGITS else None


def _int(value: object) -> int | None:
    number = _decimal(value)
    if number is None or number.adjusted() >= _MAX_INT_DIGITS or number != number.to_integral_value():
        return None
    return int(number)


def _money(value: object, *path: str) -> Money | None:
    amount = _decimal(_at(value, *path))
    return Money(amount, "USD") if amount is not None else None


def _datetime(value: object, *path: str) -> datetime | None:
    """SAM's date shapes: `2025-02-20T00:00:00Z`, `2025-02-20T19:13:54.000Z`, `2025-02-20 00:00:00.000` (UTC), plain
    ISO dates and `MM/DD/YYYY`; anything else is None."""
    text = _text(value, *path)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.strptime(text, "%m/%d/%Y")
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _date(value: object, *path: str) -> date | None:
    moment = _datetime(value, *path)
    return moment.date() if moment is not None else None


def _code_name(value: object, *path: str) -> CodeName | None:
    found = _at(value, *path)
    if isinstance(found, list):
        found = found[0] if found else None
    code, name = _text(found, "code"), _text(found, "name")
    return CodeName(code, name) if code is not None or name is not None else None


def _buyer(core: object) -> Agency | None:
    contracting = _at(core, "federalOrganization", "contractingInformation")
    department_name = _text(contracting, "contractingDepartment", "name")
    department_code = _text(contracting, "contractingDepartment", "code")
    subtier = _code_name(contracting, "contractingSubtier")
    office = _code_name(contracting, "contractingOffice")
    if department_name is None and department_code is None and subtier is None and office is None:
        return None
    return Agency(LocalizedText(department_name), code=department_code, subtier=subtier, office=office)


def _supplier(details: object) -> Supplier | None:
    awardee = _at(details, "awardeeData")
    if not isinstance(awardee, dict):
        return None
    header, location = awardee.get("awardeeHeader"), awardee.get("awardeeLocation")
    return Supplier(
        name=(
            _text(header, "legalBusinessName")
            or _text(header, "awardeeName")
            or _text(header, "awardeeNameFromContract")
        ),
        unique_entity_id=_text(awardee, "awardeeUEIInformation", "uniqueEntityId"),
        cage_code=_text(awardee, "awardeeUEIInformation", "cageCode"),
        city=_text(location, "city") or _text(location, "city", "name"),
        region=_text(location, "state", "code") or _text(location, "state"),
        country=_text(location, "country", "code") or _text(location, "country"),
    )


def _place_of_performance(core: object) -> Country | None:
    country = _at(core, "principalPlaceOfPerformance", "country")
    code, name = _text(country, "code"), _text(country, "name")
    return Country(code, name) if code is not None or name is not None else None


def parse_contract(item: object) -> Contract | None:
    """One `awardSummary[]` item, or None when it has no PIID (a malformed item is skipped, never fatal)."""
    contract_id = _at(item, "contractId")
    piid = _text(contract_id, "piid")
    if piid is None:
        return None
    key = SamContractKey(
        piid,
        _text(contract_id, "modificationNumber"),
        _text(contract_id, "transactionNumber"),
        _text(contract_id, "referencedIDVPiid"),
    )
    core, details = _at(item, "coreData"), _at(item, "awardDetails")
    dates = _at(details, "dates")
    return Contract(
        source=ContractSource.SAM,
        key=key.encode(),
        piid=piid,
        title=LocalizedText(_text(details, "productOrServiceInformation", "descriptionOfContractRequirement")),
        modification_number=key.modification_number,
        referenced_idv_piid=key.referenced_idv_piid,
        buyer=_buyer(core),
        supplier=_supplier(details),
        value=_money(details, "dollars", "actionObligation"),
        total_value=_money(details, "totalContractDollars", "totalActionObligation"),
        award_date=_date(dates, "dateSigned"),
        expiry_date=_date(dates, "currentCompletionDate") or _date(dates, "ultimateCompletionDate"),
        fiscal_year=_int(_at(dates, "fiscalYear")),
        award_type=_code_name(core, "awardOrIDVType"),
        naics=_code_name(core, "productOrServiceInformation", "principalNaics"),
        product_or_service=_code_name(core, "productOrServiceInformation", "productOrService"),
        set_aside=(
            _code_name(core, "competitionInformation", "typeOfSetAside")
            or _code_name(details, "competitionInformation", "idvTypeOfSetAside")
        ),
        place_of_performance=_place_of_performance(core),
        last_modified=_datetime(details, "transactionData", "lastModifiedDate"),
    )


def award_summary(payload: object) -> list[object]:
    """The raw `awardSummary` items of a search envelope; UpstreamBadResponse when it is not one."""
    if payload is JSON_NULL_BODY:
        return []
    if not isinstance(payload, dict):
        raise UpstreamBadResponse(NAME, f"{NAME} answered JSON that is not a search envelope")
    items = payload.get("awardSummary")
    if isinstance(items, list):
        return items
    if items is None and _int(payload.get("totalRecords")) == 0:
        return []
    raise UpstreamBadResponse(NAME, f"{NAME} answered a search envelope without an awardSummary list")


def total_records(payload: object) -> int | None:
    return 0 if payload is JSON_NULL_BODY else _int(_at(payload, "totalRecords"))


def parse_contracts(items: Iterable[object]) -> tuple[Contract, ...]:
    raw = list(items)
    contracts = tuple(contract for contract in map(parse_contract, raw) if contract is not None)
    if len(contracts) < len(raw):
        logger.warning("%s: skipped %d malformed awardSummary items", NAME, len(raw) - len(contracts))
    return contracts


def parse_page(payload: object) -> Page[Contract]:
    """A SAM search envelope (or JSON_NULL_BODY for 204) as a page; `offset` is the echoed page index x limit."""
    items = parse_contracts(award_summary(payload))
    page_index, limit = _int(_at(payload, "offset")), _int(_at(payload, "limit"))
    offset = 0
    if page_index is not None and limit is not None and page_index >= 0 and limit > 0:
        offset = page_index * limit
    return Page(items, total_records(payload), offset)


def _family_counts(aggregation: object, block: str) -> FamilyCounts | None:
    counts = _at(aggregation, block)
    if not isinstance(counts, dict):
        return None
    return FamilyCounts(
        base_count=_int(counts.get("baseCount")),
        total_count=_int(counts.get("totalCount")),
        total_dollars=_money(counts, "totalDollars"),
    )


def parse_award_family(payload: object, piid: str) -> AwardFamily | None:
    """`piidAggregation` of a search envelope; None when SAM found nothing or sent no usable family summary."""
    if payload is JSON_NULL_BODY:
        return None
    if not isinstance(payload, dict):
        raise UpstreamBadResponse(NAME, f"{NAME} answered JSON that is not a search envelope")
    aggregation = payload.get("piidAggregation")
    count = _int(_at(aggregation, "awardFamilySummary", "count"))
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


class JsonGetter(Protocol):
    """What the client needs of the transport (UpstreamHttp; a fake in unit tests)."""

    async def get_json(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object: ...


def _empty_envelope() -> dict[str, object]:
    return {"awardSummary": [], "totalRecords": "0"}


class ContractAwardsClient:
    """build_params -> cache.get_or_fetch(get_json) -> parse; the cache holds SAM's JSON, keyed without the api key.

    "Nothing matched" (204, or the 404 "No Data found" of SAM's error table) is cached as an empty envelope.
    """

    def __init__(self, http: JsonGetter, cache: ResponseCache, ttl_s: int, stale_for_s: int, family_ttl_s: int) -> None:
        self._http = http
        self._cache = cache
        self._ttl_s = ttl_s
        self._stale_for_s = stale_for_s
        self._family_ttl_s = family_ttl_s

    async def search(
        self, query: ContractQuery, *, limit: int, offset: int, sections: SamSections, deadline: Deadline
    ) -> Page[Contract]:
        """Records [offset, offset + limit) of a search; `limit` 0 asks only for the total (one 1-record page)."""
        if not 0 <= limit <= MAX_LIMIT:
            raise BadUserInput(f"SAM pages hold at most {MAX_LIMIT} records", limit=limit)
        if offset < 0:
            raise BadUserInput("offset must not be negative", offset=offset)
        if offset + limit > MAX_REACHABLE_RECORDS:
            raise BadUserInput(
                f"SAM serves only the first {MAX_REACHABLE_RECORDS:,} records of a search; narrow it (e.g. by date)",
                offset=offset,
            )
        if limit == 0:
            params = build_params(query, limit=1, offset=0, sections=SamSections())
            return Page((), total_records(await self._get(params, deadline, self._ttl_s)), offset)
        pages = covering_pages(offset, limit)
        every_params = [build_params(query, limit=p.limit, offset=p.offset, sections=sections) for p in pages]
        payloads = await self._get_all(every_params, deadline)
        raw_items = [item for payload in payloads for item in award_summary(payload)]
        skip = offset - pages[0].offset
        return Page(parse_contracts(raw_items[skip : skip + limit]), total_records(payloads[0]), offset)

    async def contract(
        self,
        piid: str,
        modification_number: str | None = None,
        referenced_idv_piid: str | None = None,
        *,
        sections: SamSections,
        deadline: Deadline,
        transaction_number: str | None = None,
    ) -> Contract | None:
        """The transaction with these identifiers (None ones match anything); the base award when no modification."""
        wanted = SamContractKey(
            _clean(piid) or "", _clean(modification_number), _clean(transaction_number), _clean(referenced_idv_piid)
        )
        if not wanted.piid:
            raise BadUserInput("a PIID is required", field="piid")
        query = ContractQuery(
            piid=wanted.piid,
            modification_number=wanted.modification_number,
            referenced_idv_piid=wanted.referenced_idv_piid,
        )
        params = build_params(query, limit=CONTRACT_LOOKUP_LIMIT, offset=0, sections=sections)
        found = parse_contracts(award_summary(await self._get(params, deadline, self._ttl_s)))
        matches = [contract for contract in found if _matches(contract, wanted)]
        if not matches:
            return None
        base = [contract for contract in matches if contract.modification_number in {"0", None}]
        return (base or matches)[0]

    async def contract_by_key(self, key: str, *, sections: SamSections, deadline: Deadline) -> Contract | None:
        """The transaction a `Contract.key` names."""
        wanted = SamContractKey.decode(key)
        if wanted is None:
            raise BadUserInput("not the key of a SAM contract award", argument="id")
        return await self.contract(
            wanted.piid,
            wanted.modification_number,
            wanted.referenced_idv_piid,
            transaction_number=wanted.transaction_number,
            sections=sections,
            deadline=deadline,
        )

    async def award_family(
        self, piid: str, *, deadline: Deadline, referenced_idv_piid: str | None = None
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
        try:
            payload = await self._get(params, deadline, self._family_ttl_s)
        except UpstreamRejected as rejected:
            if rejected.extensions.get("status") != 400 or referenced_idv_piid is not None:
                raise
            referenced = await self._referenced_idvs(params["piid"], deadline)
            if not referenced:
                raise
            if len(referenced) > 1:
                raise BadUserInput(
                    f"PIID {params['piid']} is not unique in SAM; give the referenced IDV PIID "
                    f"(one of {', '.join(referenced[:5])})",
                    field="referenced_idv_piid",
                ) from None
            return await self.award_family(piid, deadline=deadline, referenced_idv_piid=referenced[0])
        return parse_award_family(payload, params["piid"])

    async def _referenced_idvs(self, piid: str, deadline: Deadline) -> list[str]:
        params = build_params(ContractQuery(piid=piid), limit=IDV_DISCOVERY_LIMIT, offset=0, sections=SamSections())
        found = parse_contracts(award_summary(await self._get(params, deadline, self._ttl_s)))
        return sorted({c.referenced_idv_piid for c in found if c.piid == piid and c.referenced_idv_piid is not None})

    async def _get_all(self, every_params: Sequence[dict[str, str]], deadline: Deadline) -> list[object]:
        if len(every_params) == 1:
            return [await self._get(every_params[0], deadline, self._ttl_s)]
        results = await asyncio.gather(
            *(self._get(params, deadline, self._ttl_s) for params in every_params), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return list(results)

    async def _get(self, params: dict[str, str], deadline: Deadline, ttl_s: int) -> object:
        async def fetch() -> object:
            try:
                body = await self._http.get_json(SEARCH_PATH, params, deadline)
            except UpstreamRejected as rejected:
                if rejected.extensions.get("status") == 404:
                    return _empty_envelope()
                raise
            return _empty_envelope() if body is JSON_NULL_BODY else body

        key = cache_key(NAME, SEARCH_PATH, params)
        cached = await self._cache.get_or_fetch(key, fetch, ttl_s=ttl_s, stale_for_s=self._stale_for_s)
        return cached.value


def _clean(value: str | None) -> str | None:
    return (value or "").strip() or None


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
