"""Unified domain types (stdlib only): what the upstreams say, normalised, before any GraphQL view of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PAGE_SIZE = 100  # records in one page of any list (`first`), and in one upstream page the gateway asks for


class Language(Enum):
    EN = "en"
    FR = "fr"


class ContractSource(Enum):
    """Where a contract comes from; the value, lower-cased, names its upstream."""

    SAM = "SAM"
    CANADA = "CANADA"
    CANADABUYS = "CANADABUYS"
    SAMOPPS = "SAMOPPS"  # SAM.gov Contract Opportunities award notices
    CONTRACTSFINDER = "CONTRACTSFINDER"  # UK Contracts Finder (OCDS)
    FINDATENDER = "FINDATENDER"  # UK Find a Tender (OCDS)


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Country:
    code: str | None
    name: str | None


@dataclass(frozen=True)
class CodeName:
    code: str | None
    name: str | None


@dataclass(frozen=True)
class LocalizedText:
    """A text that Canadian sources give in English and French; single-language sources fill `en` only."""

    en: str | None
    fr: str | None = None

    def in_language(self, language: Language) -> str | None:
        preferred, other = (self.en, self.fr) if language is Language.EN else (self.fr, self.en)
        return preferred if preferred is not None else other


@dataclass(frozen=True)
class DateRange:
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class ValueRange:
    minimum: Decimal | None = None
    maximum: Decimal | None = None


@dataclass(frozen=True)
class FacetCount:
    """How many matches of a search hold `value` (a country code, a lead source, a region name)."""

    value: str
    count: int


@dataclass(frozen=True)
class Facet:
    """Counts over every match of a search (not only one page), as the upstream aggregates them; `name` says of what:
    `country`, `source`, `trade_region`, `world_region`."""

    name: str
    counts: tuple[FacetCount, ...]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of an upstream search: its items, the upstream's total (None when it does not say), the offset.

    `facets`: the upstream's own counts over every match, when it gives them (ITA's `aggregations`). `freshness`: when
    the publishers behind the records were last updated, when the upstream says (ITA's `sources_used`)."""

    items: tuple[T, ...]
    total: int | None
    offset: int = 0
    facets: tuple[Facet, ...] = ()
    freshness: tuple[SourceMetadata, ...] = ()


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    """One page read after a keyset cursor: its items, the real total of matches, and the cursor after its last
    item (None when nothing follows). Paging on with `after` never repeats an item whose sort key did not change.
    `positions` holds the cursor after each item (for a merge that takes only some of them)."""

    items: tuple[T, ...]
    total: int
    after: str | None
    positions: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceMetadata:
    """ITA's `sources_used` entry: when a lead source last changed and was last imported."""

    source: str
    last_updated: datetime | None
    last_imported: datetime | None


@dataclass(frozen=True)
class Lead:
    id: str
    source: str
    title: str | None
    description: str | None = None
    url: str | None = None
    urls: tuple[str, ...] = ()
    country: Country | None = None
    specific_location: str | None = None
    trade_regions: tuple[str, ...] = ()
    world_regions: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    ita_industries: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    publish_date: date | None = None
    publish_date_amended: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    status: str | None = None
    notice_type: str | None = None
    reference_number: str | None = None
    contract_number: str | None = None
    project_number: str | None = None
    procurement_organization: str | None = None
    procurement_office: str | None = None
    procurement_method: str | None = None
    agency: str | None = None
    contact: str | None = None
    funding_source: str | None = None
    borrowing_entity: str | None = None
    classification_code: str | None = None
    min_value: Money | None = None
    max_value: Money | None = None
    contract_value: Money | None = None
    project_size: Money | None = None


@dataclass(frozen=True)
class Classification:
    """A commodity code of a Canadian notice: `scheme` GSIN or UNSPSC, the code, its published description."""

    scheme: str
    code: str
    description: LocalizedText | None = None


@dataclass(frozen=True)
class Contact:
    name: str | None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class NoticeDetails:
    """What a CanadaBuys notice (tender or award) publishes beyond the fields every source shares.

    `amendment` is the amendment number read as a number (`000` -> 0; `T01`/`S01` -> 1); a mirror keeps the latest
    amendment of each notice. `procurement_categories` are codes (CNST, GD, SRV, SRVTGD). `start` and `end` are the
    expected contract period of a tender, the contract period of an award.
    """

    amendment: int | None = None
    solicitation_number: str | None = None
    published: date | None = None
    amended: date | None = None
    status: LocalizedText | None = None
    notice_type: LocalizedText | None = None
    procurement_method: LocalizedText | None = None
    selection_criteria: LocalizedText | None = None
    limited_tendering_reason: LocalizedText | None = None
    procurement_categories: tuple[str, ...] = ()
    trade_agreements: tuple[LocalizedText, ...] = ()
    unspscs: tuple[str, ...] = ()
    classifications: tuple[Classification, ...] = ()
    description: LocalizedText | None = None
    end_users: LocalizedText | None = None
    contact: Contact | None = None
    attachments: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    instrument_type: LocalizedText | None = None
    amendment_type: LocalizedText | None = None


@dataclass(frozen=True)
class Tender:
    reference: str
    solicitation_number: str | None
    title: LocalizedText
    buyer: LocalizedText
    url: LocalizedText
    gsins: tuple[str, ...] = ()
    delivery_regions: tuple[str, ...] = ()
    opportunity_regions: tuple[str, ...] = ()
    closing_date: date | None = None
    # The closing moment in UTC. CanadaBuys publishes closing times without an offset; they are read as a fixed
    # UTC-05:00 (Eastern Standard Time all year, as measured on the live feed), so `closing_date` is that local date.
    closing_at: datetime | None = None
    notice: NoticeDetails | None = None  # CanadaBuys and SAM opportunities notices only
    ocid: str | None = None  # the OCDS contracting process id (OCDS sources only)
    ocds: str | None = None  # the compiled OCDS release of the process, compact JSON text (OCDS sources only)


@dataclass(frozen=True)
class Supplier:
    name: str | None
    unique_entity_id: str | None = None
    cage_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Agency:
    name: LocalizedText
    code: str | None = None
    subtier: CodeName | None = None
    office: CodeName | None = None


@dataclass(frozen=True)
class Contract:
    """A SAM contract award transaction or a Canadian contract-history record."""

    source: ContractSource
    key: str
    piid: str
    title: LocalizedText
    modification_number: str | None = None
    referenced_idv_piid: str | None = None
    buyer: Agency | None = None
    supplier: Supplier | None = None
    value: Money | None = None
    total_value: Money | None = None
    award_date: date | None = None
    expiry_date: date | None = None
    fiscal_year: int | None = None
    award_type: CodeName | None = None
    naics: CodeName | None = None
    product_or_service: CodeName | None = None
    gsins: tuple[str, ...] = ()
    set_aside: CodeName | None = None
    place_of_performance: Country | None = None
    url: LocalizedText | None = None
    last_modified: datetime | None = None
    notice: NoticeDetails | None = None  # CanadaBuys award notices and contract history, SAM award notices
    ocid: str | None = None  # the OCDS contracting process id (OCDS sources only)
    ocds: str | None = None  # the compiled OCDS release of the process, compact JSON text (OCDS sources only)


@dataclass(frozen=True)
class FamilyCounts:
    base_count: int | None
    total_count: int | None
    total_dollars: Money | None


@dataclass(frozen=True)
class AwardFamily:
    """SAM's `piidAggregation` for one PIID."""

    piid: str
    count: int
    total_dollars: Money
    referencing_orders: FamilyCounts | None = None
    bpa: FamilyCounts | None = None
    bpa_calls: FamilyCounts | None = None


@dataclass(frozen=True)
class LeadQuery:
    keywords: str | None = None
    sources: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    trade_regions: tuple[str, ...] = ()
    world_regions: tuple[str, ...] = ()
    published: DateRange | None = None
    ends: DateRange | None = None
    amended: DateRange | None = None


@dataclass(frozen=True)
class TenderQuery:
    keywords: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # the upstreams to ask, by name; empty: the ones asked by default
    gsins: tuple[str, ...] = ()
    delivery_regions: tuple[str, ...] = ()
    opportunity_regions: tuple[str, ...] = ()
    closing: DateRange | None = None
    unspscs: tuple[str, ...] = ()  # code prefixes
    buyer: str | None = None  # a part of the buyer's name, in either language
    notice_types: tuple[str, ...] = ()
    procurement_categories: tuple[str, ...] = ()
    trade_agreements: tuple[str, ...] = ()  # names or abbreviations (CFTA, WTO GPA)


@dataclass(frozen=True)
class ContractQuery:
    keywords: str | None = None
    sources: tuple[ContractSource, ...] = ()  # the sources to ask; empty: the ones asked by default
    piid: str | None = None
    modification_number: str | None = None
    referenced_idv_piid: str | None = None
    naics: tuple[str, ...] = ()
    product_or_service: tuple[str, ...] = ()
    gsins: tuple[str, ...] = ()
    agency_code: str | None = None
    agency_name: str | None = None
    supplier_name: str | None = None
    supplier_uei: tuple[str, ...] = ()
    awarded: DateRange | None = None
    value: ValueRange | None = None
    fiscal_year: int | None = None
    award_or_idv: str | None = None
    place_of_performance_state: str | None = None
    unspscs: tuple[str, ...] = ()  # code prefixes
    notice_types: tuple[str, ...] = ()
    procurement_categories: tuple[str, ...] = ()
    trade_agreements: tuple[str, ...] = ()  # names or abbreviations (CFTA, WTO GPA)


@dataclass(frozen=True)
class SamSections:
    """Which SAM `includeSections` a query needs; `contractId` is always sent."""

    core_data: bool = False
    award_details: bool = False
    awardee_data: bool = False

    def as_param(self) -> str:
        names = ["contractId"]
        names += ["coreData"] if self.core_data else []
        names += ["awardDetails"] if self.award_details else []
        names += ["awardeeData"] if self.awardee_data else []
        return ",".join(names)


ALL_SAM_SECTIONS = SamSections(core_data=True, award_details=True, awardee_data=True)


@dataclass(frozen=True)
class LeadMetadata:
    sources: tuple[SourceMetadata, ...] = field(default_factory=tuple)
