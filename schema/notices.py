"""What a CanadaBuys notice (a tender or an award) publishes beyond the fields every source shares, bilingual."""

from __future__ import annotations

import datetime as dt

import strawberry

from gateway import formats, models
from schema.common import Language, LanguageArgument

# The procurement categories CanadaBuys codes its notices with.
PROCUREMENT_CATEGORY = formats.Format.one_of("procurement category", ("CNST", "GD", "SRV", "SRVTGD"))


def _text(value: models.LocalizedText | None, language: Language) -> str | None:
    return value.in_language(language) if value else None


@strawberry.type(description="A commodity code of a CanadaBuys notice and its published description.")
class Classification:
    scheme: str = strawberry.field(description="GSIN or UNSPSC.")
    code: str = strawberry.field(description="The code, e.g. N7030 (GSIN) or 43232300 (UNSPSC).")
    _description: strawberry.Private[models.LocalizedText | None]

    @strawberry.field(description="What the code stands for, as the notice describes it.")
    def description(self, language: LanguageArgument = Language.EN) -> str | None:
        return _text(self._description, language)

    @classmethod
    def from_model(cls, classification: models.Classification) -> Classification:
        return cls(scheme=classification.scheme, code=classification.code, _description=classification.description)


@strawberry.type(description="Whom a notice names to contact.")
class Contact:
    name: str | None = strawberry.field(description="The contracting officer's name.")
    email: str | None = strawberry.field(description="Their e-mail address.")
    phone: str | None = strawberry.field(description="Their telephone number.")

    @classmethod
    def from_model(cls, contact: models.Contact | None) -> Contact | None:
        return None if contact is None else cls(name=contact.name, email=contact.email, phone=contact.phone)


@strawberry.type(
    description="What a CanadaBuys notice publishes beyond the fields every source shares (upstream `canadabuys`): "
    "its amendment, dates, status and type, how it is procured, its codes, trade agreements, contact and "
    "attachments. Texts are bilingual: ask for a `language` (the other one is the fallback)."
)
class NoticeDetails:
    amendment: int | None = strawberry.field(
        description="The amendment number, read as a number (000 -> 0; contract history's T01 or S01 -> 1); the "
        "gateway keeps the latest amendment of each notice."
    )
    solicitation_number: str | None = strawberry.field(
        description="The solicitation number, which links a tender and its awards."
    )
    published: dt.date | None = strawberry.field(description="Day the notice was published.")
    amended: dt.date | None = strawberry.field(description="Day of its latest amendment.")
    procurement_categories: list[str] = strawberry.field(
        description="Procurement category codes: CNST (construction), GD (goods), SRV (services), SRVTGD (services "
        "related to goods)."
    )
    unspscs: list[str] = strawberry.field(description="UNSPSC codes of the notice.")
    classifications: list[Classification] = strawberry.field(
        description="Every GSIN and UNSPSC code of the notice, with its description."
    )
    contact: Contact | None = strawberry.field(description="Whom the notice names to contact.")
    attachments: list[str] = strawberry.field(
        description="Links to the notice's documents (their copyright is not covered by the open licence)."
    )
    start: dt.date | None = strawberry.field(
        description="A tender's expected contract start; an award's contract start."
    )
    end: dt.date | None = strawberry.field(description="A tender's expected contract end; an award's contract end.")
    _model: strawberry.Private[models.NoticeDetails]

    @strawberry.field(description="The notice's status, e.g. Open, Awarded.")
    def status(self, language: LanguageArgument = Language.EN) -> str | None:
        return _text(self._model.status, language)

    @strawberry.field(description="The notice type, e.g. Request for Proposal, Contract Award Notice.")
    def notice_type(self, language: LanguageArgument = Language.EN) -> str | None:
        return _text(self._model.notice_type, language)

    @strawberry.field(description="The procurement method, e.g. Competitive - Open bidding.")
    def procurement_method(self, language: LanguageArgument = Language.EN) -> str | None:
        return _text(self._model.procurement_method, language)

    @strawberry.field(description="How bids are evaluated, e.g. Lowest Price.")
    def selection_criteria(self, language: LanguageArgument = Language.EN) -> str | None:
        return _text(self._model.selection_criteria, language)

    @strawberry.field(description="Why tendering was limited, when it was.")
    def limited_tendering_reason(self, language: LanguageArgument = Language.EN) -> str | None:
        return _text(self._model.limited_tendering_reason, language)

    @strawberry.field(
        description="The trade agreements that apply, by name, e.g. Canadian Free Trade Agreement (CFTA)."
    )
    def trade_agreements(self, language: LanguageArgument = Language.EN) -> list[str]:
        return [name for agreement in self._model.trade_agreements if (name := agreement.in_language(language))]

    @strawberry.field(description="The notice's description (HTML entities decoded).")
    def description(self, language: LanguageArgument = Language.EN) -> str | None:
        return _text(self._model.description, language)

    @strawberry.field(description="The departments the goods or services are for.")
    def end_users(self, language: LanguageArgument = Language.EN) -> str | None:
        return _text(self._model.end_users, language)

    @strawberry.field(description="An award's instrument, e.g. Contract, Standing Offer, Call-up.")
    def instrument_type(self, language: LanguageArgument = Language.EN) -> str | None:
        return _text(self._model.instrument_type, language)

    @strawberry.field(description="What an award's amendment changed, e.g. Administrative.")
    def amendment_type(self, language: LanguageArgument = Language.EN) -> str | None:
        return _text(self._model.amendment_type, language)

    @classmethod
    def from_model(cls, notice: models.NoticeDetails | None) -> NoticeDetails | None:
        if notice is None:
            return None
        return cls(
            amendment=notice.amendment,
            solicitation_number=notice.solicitation_number,
            published=notice.published,
            amended=notice.amended,
            procurement_categories=list(notice.procurement_categories),
            unspscs=list(notice.unspscs),
            classifications=[Classification.from_model(found) for found in notice.classifications],
            contact=Contact.from_model(notice.contact),
            attachments=list(notice.attachments),
            start=notice.start,
            end=notice.end,
            _model=notice,
        )


def filter_texts(values: list[str] | None) -> tuple[str, ...]:
    """Free-text filter values stripped, blank ones dropped."""
    return tuple(text for value in values or () if (text := value.strip()))
