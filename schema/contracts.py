"""Contracts: SAM.gov contract awards (upstream `sam`), CanadaBuys award notices and contract history (upstream
`canadabuys`), the retired Canadian contract-history API (upstream `canada`), SAM.gov award notices (`samopps`) and UK
award releases (`contractsfinder`, `findatender`, with their OCDS releases)."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Protocol

import strawberry
from strawberry.scalars import JSON

from gateway import formats, models
from schema.common import (
    CodeName,
    Country,
    DateRangeInput,
    Language,
    LanguageArgument,
    Money,
    ValueRangeInput,
    date_range,
    value_range,
)
from schema.node import Node
from schema.notices import PROCUREMENT_CATEGORY, NoticeDetails, filter_texts
from schema.tenders import OCDS_DESCRIPTION, OCID_DESCRIPTION, Tender, decoded_ocds

ContractSource = models.ContractSource
strawberry.enum(
    ContractSource,
    description="Where a contract record comes from: SAM (SAM.gov Contract Awards, US federal), CANADABUYS "
    "(CanadaBuys award notices and contract history), CANADA (the retired Canadian contract-history API), SAMOPPS "
    "(award notices of SAM.gov Contract Opportunities), CONTRACTSFINDER and FINDATENDER (award releases of the UK's "
    "Contracts Finder and Find a Tender, OCDS). The value, lower-cased, is the upstream's name.",
)


# Domain fields (gateway.models.Contract) deliberately not exposed as fields of their own.
HIDDEN_DOMAIN_FIELDS = {
    "key": "the upstream's own key of the record; carried inside the global `id`, which is what callers pass back",
}


class TenderLinking(Protocol):
    """What `Contract.tender` needs from the request context."""

    async def load_tender_of(self, upstream: str, contract: models.Contract) -> models.Tender | None: ...


class AwardFamilyLoading(Protocol):
    """What `Contract.awardFamily` needs from the request context: a per-request, batching loader."""

    async def load_award_family(
        self, piid: str, referenced_idv_piid: str | None = None, *, upstream: str | None = None
    ) -> models.AwardFamily | None:
        """The award family of `piid` from `upstream` (None: any that serves award families); None when that
        upstream serves none."""
        ...


@strawberry.type(description="Record counts and dollars of a group of awards in a family.")
class FamilyCounts:
    base_count: int | None = strawberry.field(description="Base records (modification 0).")
    total_count: int | None = strawberry.field(description="All records, modifications included.")
    total_dollars: Money | None = strawberry.field(description="Dollars obligated over all of them, USD.")

    @classmethod
    def from_model(cls, counts: models.FamilyCounts | None) -> FamilyCounts | None:
        if counts is None:
            return None
        return cls(
            base_count=counts.base_count,
            total_count=counts.total_count,
            total_dollars=Money.from_model(counts.total_dollars),
        )


@strawberry.type(description="SAM's `piidAggregation` for one PIID: its award family and what references it.")
class AwardFamilySummary:
    piid: str = strawberry.field(description="The PIID summarised.")
    count: int = strawberry.field(description="Records in the family: the base award and its modifications.")
    total_dollars: Money = strawberry.field(description="Dollars obligated over the family, USD.")
    referencing_orders: FamilyCounts | None = strawberry.field(
        description="Delivery/task orders and BPA calls referencing this PIID; only when it is an IDV (non-FSS)."
    )
    bpa: FamilyCounts | None = strawberry.field(description="BPAs under this PIID; only when it is an FSS.")
    bpa_calls: FamilyCounts | None = strawberry.field(description="BPA calls under it; only when it is an FSS.")

    @classmethod
    def from_model(cls, family: models.AwardFamily) -> AwardFamilySummary:
        return cls(
            piid=family.piid,
            count=family.count,
            total_dollars=Money(amount=family.total_dollars.amount, currency=family.total_dollars.currency),
            referencing_orders=FamilyCounts.from_model(family.referencing_orders),
            bpa=FamilyCounts.from_model(family.bpa),
            bpa_calls=FamilyCounts.from_model(family.bpa_calls),
        )


@strawberry.type(description="A buying organisation.")
class Agency:
    code: str | None = strawberry.field(description="Department code (SAM), e.g. 9700.")
    subtier: CodeName | None = strawberry.field(description="Contracting subtier (SAM), e.g. 97AS DLA.")
    office: CodeName | None = strawberry.field(description="Contracting office (SAM).")
    _name: strawberry.Private[models.LocalizedText]

    @strawberry.field(description="Name of the department (Canada: end-user entity), in the language asked.")
    def name(self, language: LanguageArgument = Language.EN) -> str | None:
        return self._name.in_language(language)

    @classmethod
    def from_model(cls, agency: models.Agency | None) -> Agency | None:
        if agency is None:
            return None
        return cls(
            code=agency.code,
            subtier=CodeName.from_model(agency.subtier),
            office=CodeName.from_model(agency.office),
            _name=agency.name,
        )


@strawberry.type(description="Who was awarded a contract.")
class Supplier:
    name: str | None = strawberry.field(description="Legal business name (Canada: standardized name).")
    unique_entity_id: str | None = strawberry.field(description="SAM Unique Entity ID (12 characters).")
    cage_code: str | None = strawberry.field(description="CAGE code (SAM).")
    city: str | None = strawberry.field(description="City of the supplier's address.")
    region: str | None = strawberry.field(description="State or province of the supplier's address.")
    country: str | None = strawberry.field(description="Country of the supplier's address.")

    @classmethod
    def from_model(cls, supplier: models.Supplier | None) -> Supplier | None:
        if supplier is None:
            return None
        return cls(
            name=supplier.name,
            unique_entity_id=supplier.unique_entity_id,
            cage_code=supplier.cage_code,
            city=supplier.city,
            region=supplier.region,
            country=supplier.country,
        )


@strawberry.type(
    description="A contract award: a SAM.gov transaction or award notice (US federal), a Canadian award notice or "
    "contract-history record, or a UK award release. Fields a source does not publish are null or empty."
)
class Contract(Node):
    source: ContractSource = strawberry.field(
        description="Where the record comes from: SAM, CANADABUYS, CANADA, SAMOPPS, CONTRACTSFINDER or FINDATENDER."
    )
    piid: str = strawberry.field(description="SAM PIID, or the Canadian contract number.")
    modification_number: str | None = strawberry.field(description="SAM modification number ('0' = base award).")
    referenced_idv_piid: str | None = strawberry.field(description="PIID of the IDV this order is placed under.")
    buyer: Agency | None = strawberry.field(description="Contracting agency (Canada: the end-user entity).")
    supplier: Supplier | None = strawberry.field(description="The awardee.")
    value: Money | None = strawberry.field(
        description="Dollars obligated by this action (SAM, USD) or contract value (Canada, CAD)."
    )
    total_value: Money | None = strawberry.field(description="Dollars obligated over the whole contract (SAM).")
    award_date: dt.date | None = strawberry.field(description="Day signed (SAM dateSigned) or awarded (Canada).")
    expiry_date: dt.date | None = strawberry.field(description="Current completion date (SAM) or expiry (Canada).")
    fiscal_year: int | None = strawberry.field(description="US federal fiscal year of the action (SAM).")
    award_type: CodeName | None = strawberry.field(description="Award or IDV type, e.g. C DELIVERY ORDER (SAM).")
    naics: CodeName | None = strawberry.field(description="Principal NAICS code (SAM).")
    product_or_service: CodeName | None = strawberry.field(description="Product or service code, PSC (SAM).")
    gsins: list[str] = strawberry.field(description="GSIN codes (Canada).")
    set_aside: CodeName | None = strawberry.field(description="Type of set-aside (SAM).")
    place_of_performance: Country | None = strawberry.field(description="Principal place of performance (SAM).")
    last_modified: dt.datetime | None = strawberry.field(description="When SAM last changed the record (UTC).")
    ocid: str | None = strawberry.field(description=OCID_DESCRIPTION)
    _model: strawberry.Private[models.Contract]
    _upstream: strawberry.Private[str]

    @strawberry.field(description=OCDS_DESCRIPTION)
    def ocds(self) -> JSON | None:
        return decoded_ocds(self._model.ocds)

    @strawberry.field(description="What was bought: SAM's description of requirement; Canada's GSIN description.")
    def title(self, language: LanguageArgument = Language.EN) -> str | None:
        return self._model.title.in_language(language)

    @strawberry.field(description="Link to the record on the government site (Canada).")
    def url(self, language: LanguageArgument = Language.EN) -> str | None:
        return self._model.url.in_language(language) if self._model.url else None

    @strawberry.field(
        description="SAM's award-family summary of this PIID (its `piidAggregation`), asked of the contract's own "
        "upstream once per PIID per request; null when that upstream has no award families (every source but `sam`: "
        "an award notice of `samopps` counts nothing in it)."
    )
    async def award_family(self, info: strawberry.Info[AwardFamilyLoading, None]) -> AwardFamilySummary | None:
        family = await info.context.load_award_family(self.piid, self.referenced_idv_piid, upstream=self._upstream)
        return None if family is None else AwardFamilySummary.from_model(family)

    @strawberry.field(
        description="What the CanadaBuys award notice (or contract-history record) publishes beyond these fields; "
        "null for other upstreams."
    )
    def notice(self) -> NoticeDetails | None:
        return NoticeDetails.from_model(self._model.notice)

    @strawberry.field(
        description="The tender notice this contract was awarded on, linked by its solicitation number, from the "
        "contract's own upstream (a lookup in the gateway's local index); null when it is not known, or the upstream "
        "cannot link them (`sam`, `canada`)."
    )
    async def tender(self, info: strawberry.Info[TenderLinking, None]) -> Tender | None:
        found = await info.context.load_tender_of(self._upstream, self._model)
        return None if found is None else Tender.from_model(found, upstream=self._upstream)

    @classmethod
    def from_model(cls, contract: models.Contract, *, upstream: str) -> Contract:
        """`upstream`: the name of the upstream the contract came from (its global id names it, with a GSIN of the
        contract as the lookup hint)."""
        return cls(
            _id_parts=("Contract", upstream, contract.key, next(iter(contract.gsins), None)),
            source=contract.source,
            piid=contract.piid,
            modification_number=contract.modification_number,
            referenced_idv_piid=contract.referenced_idv_piid,
            buyer=Agency.from_model(contract.buyer),
            supplier=Supplier.from_model(contract.supplier),
            value=Money.from_model(contract.value),
            total_value=Money.from_model(contract.total_value),
            award_date=contract.award_date,
            expiry_date=contract.expiry_date,
            fiscal_year=contract.fiscal_year,
            award_type=CodeName.from_model(contract.award_type),
            naics=CodeName.from_model(contract.naics),
            product_or_service=CodeName.from_model(contract.product_or_service),
            gsins=list(contract.gsins),
            set_aside=CodeName.from_model(contract.set_aside),
            place_of_performance=Country.from_model(contract.place_of_performance),
            last_modified=contract.last_modified,
            ocid=contract.ocid,
            _model=contract,
            _upstream=upstream,
        )


@strawberry.enum(description="SAM's split between awards and indefinite-delivery vehicles.")
class AwardOrIdv(Enum):
    AWARD = "AWARD"
    IDV = "IDV"


@strawberry.input(
    description="Filters for `contracts` (AND across filters). A source is asked only when it can answer every "
    "filter given: SAM answers all but `gsins` and the CanadaBuys-only ones; CanadaBuys answers keywords, `piid` "
    "(its contract number), GSINs, UNSPSCs, agency and supplier names, award dates, values (the contract's total), "
    "notice types, procurement categories and trade agreements, all in its local index; Canada answers keywords, "
    "`piid`, GSINs, agency and supplier names, award dates and values (the gateway applies all but keywords and "
    "GSINs itself); SAM.gov award notices (`samopps`) answer keywords, `piid` (the award number), NAICS, PSC, agency "
    "and supplier names, UEIs, award dates, values and place of performance; Contracts Finder and Find a Tender "
    "answer keywords, `piid` (the award or contract id), agency and supplier names, award dates and values. So a "
    "US-only filter (NAICS, PSC, UEI, place of performance) skips the Canadian and UK sources, a SAM-only one (agency "
    "code, fiscal year, award or IDV, modification, referenced IDV) every source but SAM, and a Canadian-only one "
    "(`gsins`, `unspscs`, notice types, procurement categories, trade agreements) the US and UK sources."
)
class ContractFilter:
    sources: list[ContractSource] | None = strawberry.field(
        default=None,
        description="Sources to ask, in this order on ties; a source not listed is not asked (SAM, CANADA, "
        "CANADABUYS, SAMOPPS, CONTRACTSFINDER, FINDATENDER). Default: every configured source that can answer the "
        "filters given but a retired one whose successor is configured (CANADA, which served the same Canadian "
        "contracts as CANADABUYS, then only when listed), in that order on ties.",
    )
    keywords: str | None = strawberry.field(default=None, description="Free text (SAM `q`; Canada keywords).")
    piid: str | None = strawberry.field(
        default=None,
        description="Exact PIID (SAM; the award number of SAM.gov award notices), contract number (Canada, "
        "case-insensitive), or award or contract id (UK sources).",
    )
    naics: list[str] | None = strawberry.field(default=None, description="NAICS codes, any of them (SAM), at most 100.")
    product_or_service: list[str] | None = strawberry.field(
        default=None, description="PSC codes, any (SAM), at most 100."
    )
    gsins: list[str] | None = strawberry.field(
        default=None, description="GSIN prefixes, any of them (Canada only: SAM is then not asked)."
    )
    agency_code: str | None = strawberry.field(
        default=None, description="Contracting department code (SAM), e.g. 9700."
    )
    agency_name: str | None = strawberry.field(
        default=None,
        description="The buying department's name: as SAM names it (SAM); a part of it, English or French "
        "(CanadaBuys, Canada).",
    )
    supplier_name: str | None = strawberry.field(default=None, description="Part of the supplier's legal name.")
    supplier_uei: list[str] | None = strawberry.field(
        default=None, description="Supplier UEIs, any (SAM), at most 100."
    )
    awarded: DateRangeInput | None = strawberry.field(default=None, description="Award (signed) date range.")
    value: ValueRangeInput | None = strawberry.field(default=None, description="Range of the action's value.")
    fiscal_year: int | None = strawberry.field(default=None, description="US federal fiscal year (SAM).")
    award_or_idv: AwardOrIdv | None = strawberry.field(default=None, description="Awards or IDVs only (SAM).")
    place_of_performance_state: str | None = strawberry.field(
        default=None, description="US state code of the principal place of performance, e.g. VA (SAM)."
    )
    unspscs: list[str] | None = strawberry.field(
        default=None, description="UNSPSC prefixes, any of them (e.g. '4323' matches 43232300); CanadaBuys only."
    )
    notice_types: list[str] | None = strawberry.field(
        default=None,
        description="Notice types, any of them, as published in English or French (e.g. 'Contract Award Notice'), "
        "without case; CanadaBuys only.",
    )
    procurement_categories: list[str] | None = strawberry.field(
        default=None, description="Procurement categories, any of them: CNST, GD, SRV, SRVTGD; CanadaBuys only."
    )
    trade_agreements: list[str] | None = strawberry.field(
        default=None,
        description="Trade agreements, any of them, by name or abbreviation (e.g. 'CFTA'), without case; CanadaBuys "
        "only.",
    )

    def to_query(self, argument: str = "filter") -> models.ContractQuery:
        """The domain query; BAD_USER_INPUT naming the argument (`filter.naics[2]`) and its accepted shape for a
        value of the wrong format, before any upstream is asked."""
        at = f"{argument}."
        return models.ContractQuery(
            keywords=self.keywords,
            sources=tuple(dict.fromkeys(self.sources or ())),
            piid=formats.CONTRACT_NUMBER.check(self.piid, argument=at + "piid"),
            naics=formats.NAICS.check_each(self.naics, argument=at + "naics"),
            product_or_service=formats.PSC.check_each(self.product_or_service, argument=at + "productOrService"),
            gsins=formats.GSIN_PREFIX.check_each(self.gsins, argument=at + "gsins"),
            agency_code=formats.AGENCY_CODE.check(self.agency_code, argument=at + "agencyCode"),
            agency_name=(self.agency_name or "").strip() or None,
            supplier_name=self.supplier_name,
            supplier_uei=formats.UEI.check_each(self.supplier_uei, argument=at + "supplierUei"),
            awarded=date_range(self.awarded, argument=at + "awarded"),
            value=value_range(self.value, argument=at + "value"),
            fiscal_year=formats.check_fiscal_year(self.fiscal_year, argument=at + "fiscalYear"),
            award_or_idv=self.award_or_idv.value if self.award_or_idv else None,
            place_of_performance_state=formats.US_STATE.check(
                self.place_of_performance_state, argument=at + "placeOfPerformanceState"
            ),
            unspscs=formats.UNSPSC_PREFIX.check_each(self.unspscs, argument=at + "unspscs"),
            notice_types=filter_texts(self.notice_types),
            procurement_categories=tuple(
                code.upper()
                for code in PROCUREMENT_CATEGORY.check_each(
                    self.procurement_categories, argument=at + "procurementCategories"
                )
            ),
            trade_agreements=filter_texts(self.trade_agreements),
        )
