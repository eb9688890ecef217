"""Types shared by every source: money, countries, codes, languages, paging."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

import strawberry

from gateway import formats, models

NodeT = TypeVar("NodeT")

DEFAULT_PAGE_SIZE = 10  # `first` when omitted
MAX_PAGE_SIZE = models.MAX_PAGE_SIZE  # `first` is 1 to this

Language = models.Language
strawberry.enum(Language, description="Language of a bilingual (Canadian) text; the other language is the fallback.")
LanguageArgument = Annotated[
    Language, strawberry.argument(description="Language wanted; the other language is given when this one is missing.")
]


@strawberry.type(description="An amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(description="The amount, exact decimal, in units of `currency`.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. USD, CAD, GBP.")

    @classmethod
    def from_model(cls, money: models.Money | None) -> Money | None:
        return None if money is None else cls(amount=money.amount, currency=money.currency)


@strawberry.type(description="A country as the upstream named it.")
class Country:
    code: str | None = strawberry.field(description="ISO 3166 code as sent (ITA: alpha-2; SAM: alpha-3).")
    name: str | None = strawberry.field(description="The country's name.")

    @classmethod
    def from_model(cls, country: models.Country | None) -> Country | None:
        return None if country is None else cls(code=country.code, name=country.name)


@strawberry.type(description="A coded value with its label (NAICS, PSC, award type, set-aside, agency subtier).")
class CodeName:
    code: str | None = strawberry.field(description="The code.")
    name: str | None = strawberry.field(description="Its label, as the upstream wrote it.")

    @classmethod
    def from_model(cls, value: models.CodeName | None) -> CodeName | None:
        return None if value is None else cls(code=value.code, name=value.name)


# A page's cursor as given to `PageInfo`: the positions it encodes (encoded only when selected), or the cursor itself.
PageCursor = Mapping[str, int | str] | str | None


def encode_cursor(positions: Mapping[str, int | str]) -> str:
    """A cursor: base64url (unpadded) of a JSON object of the position reached in each source, keyed by upstream
    name (an offset, or an opaque string the source made); `resolvers.pagination` reads it back."""
    raw = json.dumps(dict(positions), separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _encoded(cursor: PageCursor) -> str | None:
    return cursor if cursor is None or isinstance(cursor, str) else encode_cursor(cursor)


def _start_cursor(root: PageInfo) -> str | None:
    return _encoded(root.start)


def _end_cursor(root: PageInfo) -> str | None:
    return _encoded(root.end)


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More results follow `endCursor`.")
    has_previous_page: bool = strawberry.field(description="Results precede `startCursor`.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.", resolver=_start_cursor)
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge; pass it as `after`.", resolver=_end_cursor
    )
    start: strawberry.Private[PageCursor]  # the first edge's cursor
    end: strawberry.Private[PageCursor]  # the last edge's cursor (or where the page ends when it has none)


def _edge_cursor(root: Edge[object]) -> str:
    return encode_cursor(root.positions)


@strawberry.type(description="One result and its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(
        description="Opaque position; pass it as `after` to continue after it.", resolver=_edge_cursor
    )
    node: NodeT = strawberry.field(description="The result.")
    positions: strawberry.Private[Mapping[str, int | str]]  # encoded only when `cursor` is selected


@strawberry.type(description="A Relay connection: a page of results.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The results of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")
    total_count: int | None = strawberry.field(
        description="Results in all, as the upstream counts them; null when the upstream does not say."
    )

    @strawberry.field(description="The results of this page without cursors.")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


@strawberry.input(description="An inclusive range of dates; either bound may be omitted.")
class DateRangeInput:
    start: dt.date | None = strawberry.field(default=None, description="First day, ISO 8601 (YYYY-MM-DD).")
    end: dt.date | None = strawberry.field(default=None, description="Last day, ISO 8601 (YYYY-MM-DD).")

    def to_model(self) -> models.DateRange:
        return models.DateRange(start=self.start, end=self.end)


def date_range(span: DateRangeInput | None, *, argument: str) -> models.DateRange | None:
    """The domain range of an optional input (None when no bound is given); BAD_USER_INPUT naming `argument` for a
    day outside the sane ones or a range that ends before it starts (`gateway.formats`)."""
    return formats.check_date_range(span.to_model() if span else None, argument=argument)


@strawberry.input(description="An inclusive range of amounts; either bound may be omitted.")
class ValueRangeInput:
    min: Decimal | None = strawberry.field(default=None, description="Smallest amount.")
    max: Decimal | None = strawberry.field(default=None, description="Largest amount.")

    def to_model(self) -> models.ValueRange:
        return models.ValueRange(minimum=self.min, maximum=self.max)


def value_range(span: ValueRangeInput | None, *, argument: str) -> models.ValueRange | None:
    """The domain range of an optional input (None when no bound is given); BAD_USER_INPUT naming `argument` for a
    bound that is no finite amount or a minimum above the maximum (`gateway.formats`)."""
    return formats.check_value_range(span.to_model() if span else None, argument=argument)
