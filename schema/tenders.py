"""Canadian tender notices (upstream `canada`), bilingual."""

from __future__ import annotations

import datetime as dt

import strawberry

from gateway import models
from schema.common import DateRangeInput, Language, LanguageArgument
from schema.node import Node, to_global_id

# Domain fields (gateway.models.Tender) deliberately not exposed as fields of their own.
HIDDEN_DOMAIN_FIELDS = {
    "closing_at": "the closing moment of CanadaBuys notices: not exposed until that source is (its own change)",
    "notice": "CanadaBuys notice details: not exposed until the CanadaBuys source is (its own change)",
}


@strawberry.type(
    description="An open Canadian federal tender notice (buyandsell.gc.ca / CanadaBuys; upstream `canada`)."
)
class Tender(Node):
    reference: str = strawberry.field(description="The tender's reference number, e.g. 'PW-$$FE-176-68065'.")
    solicitation_number: str | None = strawberry.field(description="Solicitation number, e.g. 'EH900-160791/A'.")
    gsins: list[str] = strawberry.field(description="Goods and Services Identification Numbers of the tender.")
    delivery_regions: list[str] = strawberry.field(description="Region codes of delivery (e.g. ON, QC, NCR, CAN).")
    opportunity_regions: list[str] = strawberry.field(description="Region codes of the opportunity.")
    closing_date: dt.date | None = strawberry.field(description="Day bids close.")
    _model: strawberry.Private[models.Tender]

    @strawberry.field(description="Title of the notice.")
    def title(self, language: LanguageArgument = Language.EN) -> str | None:
        return self._model.title.in_language(language)

    @strawberry.field(description="The buying department.")
    def buyer(self, language: LanguageArgument = Language.EN) -> str | None:
        return self._model.buyer.in_language(language)

    @strawberry.field(description="Link to the notice on the government site of that language.")
    def url(self, language: LanguageArgument = Language.EN) -> str | None:
        return self._model.url.in_language(language)

    @classmethod
    def from_model(cls, tender: models.Tender, *, upstream: str) -> Tender:
        """`upstream`: the name of the upstream the tender came from (its global id names it, with a GSIN of the
        tender as the lookup hint)."""
        return cls(
            id=to_global_id("Tender", upstream, tender.reference, next(iter(tender.gsins), None)),
            reference=tender.reference,
            solicitation_number=tender.solicitation_number,
            gsins=list(tender.gsins),
            delivery_regions=list(tender.delivery_regions),
            opportunity_regions=list(tender.opportunity_regions),
            closing_date=tender.closing_date,
            _model=tender,
        )


@strawberry.input(description="Filters for `tenders`: OR within a list, AND across filters.")
class TenderFilter:
    keywords: list[str] | None = strawberry.field(
        default=None, description="Words in the English or French title or description, any of them."
    )
    gsins: list[str] | None = strawberry.field(
        default=None, description="GSIN prefixes, any of them (e.g. 'N76' matches N7610)."
    )
    delivery_regions: list[str] | None = strawberry.field(
        default=None,
        description="Delivery region codes, any of them: AB BC MB NB NL NS NT NU ON PE QC SK YT, "
        "NCR, CAN, ABL, USA, MEX, INT, X-INT.",
    )
    opportunity_regions: list[str] | None = strawberry.field(
        default=None, description="Opportunity region codes, any of them (same codes)."
    )
    closing: DateRangeInput | None = strawberry.field(
        default=None, description="Closing-date range (applied by the gateway: the upstream cannot)."
    )

    def to_query(self) -> models.TenderQuery:
        return models.TenderQuery(
            keywords=tuple(self.keywords or ()),
            gsins=tuple(self.gsins or ()),
            delivery_regions=tuple(self.delivery_regions or ()),
            opportunity_regions=tuple(self.opportunity_regions or ()),
            closing=self.closing.to_model() if self.closing else None,
        )
