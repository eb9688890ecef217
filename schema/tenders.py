"""Tender notices: Canadian (upstreams `canadabuys` and, retired, `canada`, bilingual), US federal (`samopps`) and UK
(`contractsfinder`, `findatender`, with their OCDS releases)."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Protocol

import orjson
import strawberry
from strawberry.scalars import JSON

from gateway import formats, models
from schema.common import DateRangeInput, Language, LanguageArgument, date_range
from schema.node import Node
from schema.notices import PROCUREMENT_CATEGORY, NoticeDetails, filter_texts

if TYPE_CHECKING:
    from schema.contracts import Contract

# Domain fields (gateway.models.Tender) deliberately not exposed as fields of their own.
HIDDEN_DOMAIN_FIELDS: dict[str, str] = {}


class AwardLinking(Protocol):
    """What `Tender.award` needs from the request context."""

    async def load_awards_of(self, upstream: str, tender: models.Tender) -> tuple[models.Contract, ...]: ...


@strawberry.enum(
    description="Where tender notices come from: CANADABUYS (the CanadaBuys open-data files, mirrored by the gateway), "
    "CANADA (the retired Canadian procurement API, or a compatible service in its place), SAMOPPS (SAM.gov Contract "
    "Opportunities, mirrored by the gateway), CONTRACTSFINDER and FINDATENDER (the UK's Contracts Finder and Find a "
    "Tender, OCDS). The value, lower-cased, is the upstream's name."
)
class TenderSource(Enum):
    CANADA = "CANADA"
    CANADABUYS = "CANADABUYS"
    SAMOPPS = "SAMOPPS"
    CONTRACTSFINDER = "CONTRACTSFINDER"
    FINDATENDER = "FINDATENDER"

    @property
    def upstream(self) -> str:
        return self.value.lower()


OCID_DESCRIPTION = (
    "The OCDS contracting-process id (`ocid`) of the record; null for sources without OCDS data (CanadaBuys, the "
    "Canadian API, SAM.gov)."
)
OCDS_DESCRIPTION = (
    "The compiled OCDS 1.1 release of the contracting process (the publisher's releases of its `ocid` merged with "
    "ocdsmerge under the OCDS 1.1.5 release schema shipped with the gateway), as JSON: hand it to OCDS tooling as is. "
    "Null for sources without OCDS data (CanadaBuys, the Canadian API, SAM.gov)."
)


def decoded_ocds(text: str | None) -> JSON | None:
    """The compiled release a model holds as compact JSON text, as a JSON value (None when it holds none)."""
    return None if text is None else orjson.loads(text)


@strawberry.type(
    description="A tender notice: Canadian federal from CanadaBuys' open data (upstream `canadabuys`) or the retired "
    "Canadian procurement API (upstream `canada`), US federal from SAM.gov Contract Opportunities (`samopps`), UK from "
    "Contracts Finder (`contractsfinder`) or Find a Tender (`findatender`). Fields a source does not publish are null "
    "or empty."
)
class Tender(Node):
    reference: str = strawberry.field(description="The tender's reference number, e.g. 'PW-$$FE-176-68065'.")
    solicitation_number: str | None = strawberry.field(description="Solicitation number, e.g. 'EH900-160791/A'.")
    gsins: list[str] = strawberry.field(description="Goods and Services Identification Numbers of the tender.")
    delivery_regions: list[str] = strawberry.field(description="Region codes of delivery (e.g. ON, QC, NCR, CAN).")
    opportunity_regions: list[str] = strawberry.field(description="Region codes of the opportunity.")
    closing_date: dt.date | None = strawberry.field(
        description="Day bids close, as published (CanadaBuys: the day at UTC-05:00, see `closingAt`)."
    )
    closing_at: dt.datetime | None = strawberry.field(
        description="The moment bids close, in UTC. CanadaBuys publishes closing times without an offset: the gateway "
        "reads them at a fixed UTC-05:00 (Eastern Standard Time all year, the offset measured on the live feed; "
        "setting GATEWAY_MIRROR_CLOSING_TIME_OFFSET) and stores them in UTC, so a 14:00 closing is 19:00Z. Null when "
        "the source gives a day only (upstream `canada`)."
    )
    ocid: str | None = strawberry.field(description=OCID_DESCRIPTION)
    _model: strawberry.Private[models.Tender]
    _upstream: strawberry.Private[str]

    @strawberry.field(description=OCDS_DESCRIPTION)
    def ocds(self) -> JSON | None:
        return decoded_ocds(self._model.ocds)

    @strawberry.field(description="Title of the notice.")
    def title(self, language: LanguageArgument = Language.EN) -> str | None:
        return self._model.title.in_language(language)

    @strawberry.field(description="The buying department.")
    def buyer(self, language: LanguageArgument = Language.EN) -> str | None:
        return self._model.buyer.in_language(language)

    @strawberry.field(description="Link to the notice on the government site of that language.")
    def url(self, language: LanguageArgument = Language.EN) -> str | None:
        return self._model.url.in_language(language)

    @strawberry.field(
        description="What the CanadaBuys notice publishes beyond these fields; null for upstream `canada`."
    )
    def notice(self) -> NoticeDetails | None:
        return NoticeDetails.from_model(self._model.notice)

    @strawberry.field(
        description="The latest award (award notice or contract-history record) of this tender, linked by its "
        "solicitation number, from the tender's own upstream (a lookup in the gateway's local index); null when "
        "none is known yet, or the upstream cannot link them (`canada`)."
    )
    async def award(
        self, info: strawberry.Info[AwardLinking, None]
    ) -> Annotated[Contract, strawberry.lazy("schema.contracts")] | None:
        from schema.contracts import Contract  # noqa: PLC0415 - contracts link back to tenders

        awards = await info.context.load_awards_of(self._upstream, self._model)
        return Contract.from_model(awards[0], upstream=self._upstream) if awards else None

    @classmethod
    def from_model(cls, tender: models.Tender, *, upstream: str) -> Tender:
        """`upstream`: the name of the upstream the tender came from (its global id names it, with a GSIN of the
        tender as the lookup hint)."""
        return cls(
            _id_parts=("Tender", upstream, tender.reference, next(iter(tender.gsins), None)),
            reference=tender.reference,
            solicitation_number=tender.solicitation_number,
            gsins=list(tender.gsins),
            delivery_regions=list(tender.delivery_regions),
            opportunity_regions=list(tender.opportunity_regions),
            closing_date=tender.closing_date,
            closing_at=tender.closing_at,
            ocid=tender.ocid,
            _model=tender,
            _upstream=upstream,
        )


@strawberry.input(
    description="Filters for `tenders`: OR within a list, AND across filters. A source is asked only when it can "
    "answer every filter given: CanadaBuys answers them all (in its local index); the retired `canada` API answers "
    "keywords, GSINs, regions and closing dates; SAM.gov Contract Opportunities (`samopps`) keywords, buyer, notice "
    "types and closing dates; Contracts Finder and Find a Tender keywords, buyer and closing dates. So a Canadian-only "
    "filter (GSINs, UNSPSCs, regions, procurement categories, trade agreements) asks only the Canadian sources."
)
class TenderFilter:
    sources: list[TenderSource] | None = strawberry.field(
        default=None,
        description="Sources to ask, in this order on ties: CANADABUYS, CANADA, SAMOPPS, CONTRACTSFINDER, "
        "FINDATENDER. Default: every configured source that can answer the filters given but a retired one whose "
        "successor is configured (CANADA, which served the same notices as CANADABUYS, is then asked only when "
        "listed here).",
    )
    keywords: list[str] | None = strawberry.field(
        default=None,
        description="Words in the title, description or buyer (English or French for Canadian notices), any of the "
        "keywords (every word of one keyword must appear; accents and case are ignored).",
    )
    gsins: list[str] | None = strawberry.field(
        default=None, description="GSIN prefixes, any of them (e.g. 'N76' matches N7610)."
    )
    unspscs: list[str] | None = strawberry.field(
        default=None, description="UNSPSC prefixes, any of them (e.g. '4323' matches 43232300); CanadaBuys only."
    )
    buyer: str | None = strawberry.field(
        default=None,
        description="A part of the buying organisation's name (English or French for CanadaBuys; SAM.gov: a part "
        "of its organisation path; the UK sources); not the retired `canada` API.",
    )
    notice_types: list[str] | None = strawberry.field(
        default=None,
        description="Notice types, any of them, as published (CanadaBuys, in English or French: e.g. 'Request for "
        "Proposal'; SAM.gov: e.g. 'Solicitation', 'Sources Sought'), without case; CanadaBuys and SAM.gov only.",
    )
    procurement_categories: list[str] | None = strawberry.field(
        default=None, description="Procurement categories, any of them: CNST, GD, SRV, SRVTGD; CanadaBuys only."
    )
    trade_agreements: list[str] | None = strawberry.field(
        default=None,
        description="Trade agreements, any of them, by name or abbreviation (e.g. 'CFTA', 'WTO GPA'), without "
        "case; CanadaBuys only.",
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
        default=None,
        description="Closing-date range, inclusive, on `closingDate` (CanadaBuys: in its index; `canada`: applied by "
        "the gateway, the upstream cannot).",
    )

    def to_query(self, argument: str = "filter") -> models.TenderQuery:
        """The domain query; BAD_USER_INPUT naming the argument (`filter.gsins[0]`) and its accepted shape for a
        value of the wrong format, before any upstream is asked."""
        at = f"{argument}."
        return models.TenderQuery(
            keywords=tuple(self.keywords or ()),
            sources=tuple(dict.fromkeys(source.upstream for source in self.sources or ())),
            gsins=formats.GSIN_PREFIX.check_each(self.gsins, argument=at + "gsins"),
            unspscs=formats.UNSPSC_PREFIX.check_each(self.unspscs, argument=at + "unspscs"),
            buyer=(self.buyer or "").strip() or None,
            notice_types=filter_texts(self.notice_types),
            procurement_categories=tuple(
                code.upper()
                for code in PROCUREMENT_CATEGORY.check_each(
                    self.procurement_categories, argument=at + "procurementCategories"
                )
            ),
            trade_agreements=filter_texts(self.trade_agreements),
            delivery_regions=formats.CANADIAN_REGION.check_each(self.delivery_regions, argument=at + "deliveryRegions"),
            opportunity_regions=formats.CANADIAN_REGION.check_each(
                self.opportunity_regions, argument=at + "opportunityRegions"
            ),
            closing=date_range(self.closing, argument=at + "closing"),
        )
