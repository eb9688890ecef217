"""Trade leads by ITA source code (AUSTRALIA, CANADA, FBO, STATE, UK, MCA, USTDA): from the ITA Trade Leads API (or a
compatible service), or for CANADA, FBO and UK from ITA's live successors (CanadaBuys, SAM.gov Contract Opportunities,
Contracts Finder and Find a Tender)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from enum import Enum

import strawberry

from gateway import formats, models, vocabularies
from schema.common import Connection, Country, DateRangeInput, Money, date_range
from schema.node import Node

# Domain fields (gateway.models.Lead) exposed under another GraphQL name: `id` is the global id of every Node.
RENAMED_DOMAIN_FIELDS = {"id": "leadId"}


@strawberry.enum(
    description="The source of a trade lead, as ITA coded it. Each code is served by ITA (upstream `ita`, an "
    "ITA-compatible service) or by its live successors (CANADA: `canadabuys`; FBO: `samopps`; UK: `contractsfinder` "
    "and `findatender`), as the gateway's setting GATEWAY_LEADS_<CODE>_FROM chooses (`auto`: the successors when one "
    "is configured, else ITA)."
)
class LeadSource(Enum):
    AUSTRALIA = strawberry.enum_value("AUSTRALIA", description="AusTender (Australian Government); ITA only.")
    CANADA = strawberry.enum_value(
        "CANADA", description="Canadian federal tenders: CanadaBuys (upstream `canadabuys`) or ITA."
    )
    FBO = strawberry.enum_value(
        "FBO", description="US federal opportunities: SAM.gov Contract Opportunities (upstream `samopps`) or ITA."
    )
    STATE = strawberry.enum_value("STATE", description="US Department of State business opportunities; ITA only.")
    UK = strawberry.enum_value(
        "UK",
        description="UK public contracts: Contracts Finder and Find a Tender (upstreams `contractsfinder`, "
        "`findatender`) or ITA.",
    )
    MCA = strawberry.enum_value("MCA", description="Millennium Challenge Corporation; ITA only.")
    USTDA = strawberry.enum_value("USTDA", description="US Trade and Development Agency; ITA only.")


# GraphQL fields of Lead that `from_model` reads from other (or more) model fields than their own name.
_MODEL_FIELDS_READ: dict[str, tuple[str, ...]] = {"id": ("id",), "lead_id": ("id",), "url": ("url", "urls")}


@strawberry.type(
    description="A business opportunity, by ITA source code: from the ITA Trade Leads API (upstream `ita`) or from "
    "ITA's live successors, which fill the fields they publish and leave the others null or empty: CANADA from "
    "CanadaBuys (`canadabuys`: no trade or world regions, ITA industries, tags, project, office, agency, funding, "
    "borrower, classification code or values), FBO from SAM.gov Contract Opportunities (`samopps`), UK from Contracts "
    "Finder and Find a Tender (`contractsfinder`, `findatender`). Field descriptions name the sources that fill them."
)
class Lead(Node):
    lead_id: str = strawberry.field(
        description="The source's own id of the lead: ITA's lead id (source-specific format); the CanadaBuys "
        "reference number; the SAM.gov notice id; the OCDS `ocid` (UK successors)."
    )
    source: str = strawberry.field(description="ITA source code: AUSTRALIA, CANADA, FBO, STATE, UK, MCA or USTDA.")
    title: str | None = strawberry.field(description="Title as published (CanadaBuys: English, else French).")
    description: str | None = strawberry.field(
        description="Full description; MCA descriptions contain HTML (CanadaBuys: English, else French)."
    )
    url: str | None = strawberry.field(
        description="Link to the notice; when the source gives none, the first of `urls` (CANADA documents)."
    )
    urls: list[str] = strawberry.field(
        description="Every link the source gives (CANADA documents: ITA's, or CanadaBuys' attachments)."
    )
    country: Country | None = strawberry.field(description="Country of the opportunity (ISO alpha-2 code).")
    specific_location: str | None = strawberry.field(
        description="Place within the country, when given (CanadaBuys: the regions of delivery)."
    )
    trade_regions: list[str] = strawberry.field(
        description="ITA trade regions of the country, e.g. 'NAFTA' (ITA's taxonomy: empty from successors)."
    )
    world_regions: list[str] = strawberry.field(
        description="ITA world regions of the country, e.g. 'Pacific Rim' (ITA's taxonomy: empty from successors)."
    )
    industries: list[str] = strawberry.field(
        description="Industries as the source names them (always a list; CanadaBuys: its GSIN and UNSPSC codes with "
        "their descriptions, e.g. 'G009E: Medical/Dental Clinic Services')."
    )
    ita_industries: list[str] = strawberry.field(
        description="ITA's controlled industry terms (ITA's taxonomy: empty from successors)."
    )
    categories: list[str] = strawberry.field(
        description="Classification codes, scheme first: MCA's 'CPV/…', 'deadline/2015/Apr/30'; CanadaBuys' "
        "'GSIN/G009E', 'UNSPSC/80101500'."
    )
    tags: list[str] = strawberry.field(description="STATE tags.")
    publish_date: dt.date | None = strawberry.field(description="Day the lead was published.")
    publish_date_amended: dt.date | None = strawberry.field(description="Day the lead was last amended.")
    start_date: dt.date | None = strawberry.field(
        description="Start of the contract period (AUSTRALIA; CanadaBuys: the expected start)."
    )
    end_date: dt.date | None = strawberry.field(description="Closing or end day (CanadaBuys: the closing date).")
    status: str | None = strawberry.field(description="Status as the source states it, e.g. 'Open'.")
    notice_type: str | None = strawberry.field(description="Kind of notice, e.g. 'Contract', 'Request for Proposal'.")
    reference_number: str | None = strawberry.field(description="The source's reference number.")
    contract_number: str | None = strawberry.field(
        description="Contract or solicitation number (CanadaBuys: the solicitation number)."
    )
    project_number: str | None = strawberry.field(description="Project number (AUSTRALIA, STATE).")
    procurement_organization: str | None = strawberry.field(
        description="Buying organisation (CanadaBuys: the contracting entity)."
    )
    procurement_office: str | None = strawberry.field(description="Buying office (FBO).")
    procurement_method: str | None = strawberry.field(description="Procurement method (AUSTRALIA, CanadaBuys).")
    agency: str | None = strawberry.field(description="Agency (AUSTRALIA).")
    contact: str | None = strawberry.field(
        description="Contact as published (CanadaBuys: name, e-mail and phone, comma-separated)."
    )
    funding_source: str | None = strawberry.field(description="Who funds the project (STATE, MCA).")
    borrowing_entity: str | None = strawberry.field(description="Borrower (STATE).")
    classification_code: str | None = strawberry.field(description="FBO classification code.")
    min_value: Money | None = strawberry.field(description="Lowest (or only) value stated for the contract.")
    max_value: Money | None = strawberry.field(description="Highest value stated for the contract.")
    contract_value: Money | None = strawberry.field(
        description="Value of the contract as published (AUSTRALIA, from AusTender: AUD)."
    )
    project_size: Money | None = strawberry.field(description="Size of the project as published (STATE: USD).")

    @staticmethod
    def model_fields(selected: Iterable[str]) -> frozenset[str]:
        """The fields of `models.Lead` that `from_model` reads for the GraphQL fields `selected` (snake_case)."""
        return frozenset(field for name in selected for field in _MODEL_FIELDS_READ.get(name, (name,)))

    @classmethod
    def from_model(cls, lead: models.Lead, *, upstream: str) -> Lead:
        """`upstream`: the name of the upstream the lead came from (its global id names it)."""
        return cls(
            _id_parts=("Lead", upstream, lead.id, None),
            lead_id=lead.id,
            source=lead.source,
            title=lead.title,
            description=lead.description,
            url=lead.url if lead.url is not None else next(iter(lead.urls), None),
            urls=list(lead.urls),
            country=Country.from_model(lead.country),
            specific_location=lead.specific_location,
            trade_regions=list(lead.trade_regions),
            world_regions=list(lead.world_regions),
            industries=list(lead.industries),
            ita_industries=list(lead.ita_industries),
            categories=list(lead.categories),
            tags=list(lead.tags),
            publish_date=lead.publish_date,
            publish_date_amended=lead.publish_date_amended,
            start_date=lead.start_date,
            end_date=lead.end_date,
            status=lead.status,
            notice_type=lead.notice_type,
            reference_number=lead.reference_number,
            contract_number=lead.contract_number,
            project_number=lead.project_number,
            procurement_organization=lead.procurement_organization,
            procurement_office=lead.procurement_office,
            procurement_method=lead.procurement_method,
            agency=lead.agency,
            contact=lead.contact,
            funding_source=lead.funding_source,
            borrowing_entity=lead.borrowing_entity,
            classification_code=lead.classification_code,
            min_value=Money.from_model(lead.min_value),
            max_value=Money.from_model(lead.max_value),
            contract_value=Money.from_model(lead.contract_value),
            project_size=Money.from_model(lead.project_size),
        )


@strawberry.input(description="Filters for `leads`; all given filters must match (AND).")
class LeadFilter:
    keywords: str | None = strawberry.field(
        default=None,
        description="Words that must all appear (title, description, industries, tags, organisation). A country "
        "or world region named here also filters by it, as ITA does.",
    )
    sources: list[LeadSource] | None = strawberry.field(
        default=None,
        description="Any of these sources (OR); omitted: every source served here. A code that nothing serves on this "
        "gateway is BAD_USER_INPUT naming the served ones (`extensions.accepted`).",
    )
    countries: list[str] | None = strawberry.field(
        default=None, description="ISO 3166-1 alpha-2 codes, any of them (OR)."
    )
    industries: list[str] | None = strawberry.field(
        default=None,
        description="Whole controlled industry terms of ITA's taxonomy, any of them (OR). Only ITA answers it: the "
        "successors are skipped (`skippedSources`).",
    )
    trade_regions: list[str] | None = strawberry.field(
        default=None,
        description="ITA trade-region names, any of them (e.g. NAFTA); an unknown name is refused, listing the known.",
    )
    world_regions: list[str] | None = strawberry.field(
        default=None,
        description="ITA world-region names, any of them (e.g. Pacific Rim); an unknown name is refused, listing the "
        "known.",
    )
    published: DateRangeInput | None = strawberry.field(default=None, description="Publish date range.")
    ends: DateRangeInput | None = strawberry.field(default=None, description="End (closing) date range.")
    amended: DateRangeInput | None = strawberry.field(
        default=None, description="Amended publish date range (ITA only: CanadaBuys is skipped)."
    )

    def to_query(self, argument: str = "filter") -> models.LeadQuery:
        """The domain query; BAD_USER_INPUT naming the argument (`filter.countries[1]`) and its accepted shape for a
        value of the wrong format, before any upstream is asked."""
        at = f"{argument}."
        return models.LeadQuery(
            keywords=self.keywords,
            sources=tuple(source.name for source in self.sources or ()),  # each value is its name
            countries=formats.COUNTRY.check_each(self.countries, argument=at + "countries"),
            industries=tuple(self.industries or ()),
            # ITA matches regions exactly, case included: the vocabulary's spelling, unknown ones refused.
            trade_regions=vocabularies.ITA_TRADE_REGIONS.check(self.trade_regions or (), argument=at + "tradeRegions"),
            world_regions=vocabularies.ITA_WORLD_REGIONS.check(self.world_regions or (), argument=at + "worldRegions"),
            published=date_range(self.published, argument=at + "published"),
            ends=date_range(self.ends, argument=at + "ends"),
            amended=date_range(self.amended, argument=at + "amended"),
        )


@strawberry.enum(description="Why `leads` left a source out of its answer.")
class SkipReason(Enum):
    UNANSWERABLE_CRITERIA = strawberry.enum_value(
        "UNANSWERABLE_CRITERIA",
        description="The source cannot answer a filter given (listed in `criteria`): it could only return "
        "non-matches, so it was not asked.",
    )
    NOT_CONFIGURED = strawberry.enum_value(
        "NOT_CONFIGURED", description="Nothing serving this source code is configured on this gateway."
    )


@strawberry.type(description="A lead source that `leads` left out of its answer, and why.")
class SkippedSource:
    source: str = strawberry.field(description="The ITA source code left out, e.g. CANADA.")
    upstream: str | None = strawberry.field(
        description="The upstream that would have served it (as `sources` names it); null when none is configured."
    )
    reason: SkipReason = strawberry.field(description="Why it was left out.")
    criteria: list[str] = strawberry.field(
        description="The filters of `LeadFilter` it cannot answer (e.g. `industries`); empty for other reasons."
    )

    @classmethod
    def of(cls, source: str, upstream: str | None, reason: str, criteria: Sequence[str]) -> SkippedSource:
        """`reason`: a `SkipReason` value; `criteria`: `LeadQuery` field names (snake_case)."""
        return cls(source=source, upstream=upstream, reason=SkipReason(reason), criteria=[_camel(c) for c in criteria])


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


@strawberry.type(name="LeadConnection", description="A page of trade leads, and the sources left out of it.")
class LeadConnection(Connection[Lead]):
    skipped_sources: list[SkippedSource] = strawberry.field(
        description="Lead sources this answer leaves out and why: a source that cannot answer a filter given (e.g. "
        "ITA's own `industries` taxonomy, which no successor answers) is not asked; without `filter.sources`, codes "
        "nothing serves here are listed too. Empty when every source asked answers."
    )


@strawberry.type(description="When ITA last saw one of its lead sources change and imported it.")
class LeadSourceMetadata:
    source: str = strawberry.field(description="ITA source code.")
    last_updated: dt.datetime | None = strawberry.field(description="When the source last changed (UTC).")
    last_imported: dt.datetime | None = strawberry.field(description="When ITA last imported it (UTC).")

    @classmethod
    def from_model(cls, meta: models.SourceMetadata) -> LeadSourceMetadata:
        return cls(source=meta.source, last_updated=meta.last_updated, last_imported=meta.last_imported)
