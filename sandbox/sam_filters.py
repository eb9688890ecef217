"""SAM search parameter syntax (`~` OR, `!` NOT, `null`, date and dollar ranges) and how a condition matches a record.

Recorded samples are matched through each filter's JSON paths. Generated records are matched through a fast getter
where one exists, else through their rendered document (rendered lazily, so such filters only cost on records that
passed the others).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox import sam_errors
from sandbox.sam_document import render_award
from sandbox.sam_parameters import FILTERS, Filter, Kind
from sandbox.sam_records import AwardRecord, GeneratedAward, SampleAward

FORBIDDEN_CHARACTERS = frozenset("&|{}^\\")
MAX_LISTED_VALUES = 100


def walk(node: Any, path: list[str]) -> Iterator[str]:
    """The string leaves at `path` below `node`, descending into lists."""
    if isinstance(node, list):
        for item in node:
            yield from walk(item, path)
    elif not path:
        if isinstance(node, str):
            yield node
    elif isinstance(node, dict) and path[0] in node:
        yield from walk(node[path[0]], path[1:])


def document_values(document: Mapping[str, Any], paths: tuple[str, ...]) -> list[str]:
    for path in paths:
        found = list(walk(document, path.split(".")))
        if found:
            return found
    return []


class RecordView:
    """One record as the filters see it, rendering a generated record's document at most once."""

    def __init__(self, record: AwardRecord) -> None:
        self.record = record
        self._document: Mapping[str, Any] | None = None

    @property
    def document(self) -> Mapping[str, Any]:
        if self._document is None:
            self._document = document_of(self.record)
        return self._document

    def values(self, name: str, spec: Filter) -> list[str]:
        record = self.record
        if isinstance(record, SampleAward):
            if name in record.facts:
                return [record.facts[name]]
        elif isinstance(record, GeneratedAward) and spec.getter is not None:
            value = spec.getter(record)
            return [] if value is None else [value]
        return document_values(self.document, spec.paths)


def document_of(record: AwardRecord) -> Mapping[str, Any]:
    if isinstance(record, GeneratedAward):
        return render_award(record)
    if isinstance(record, SampleAward):
        return record.document
    raise TypeError(f"not an award record: {record!r}")


Bound = tuple[str | None, str | None] | tuple[Decimal | None, Decimal | None]


@dataclass(frozen=True)
class Condition:
    name: str
    spec: Filter
    negated: bool
    texts: tuple[str, ...] = ()
    ranges: tuple[Bound, ...] = ()
    null: bool = False

    def matches(self, view: RecordView) -> bool:
        return self._holds(view.values(self.name, self.spec)) != self.negated

    def _holds(self, values: list[str]) -> bool:
        if self.null:
            return not values
        kind = self.spec.kind
        if kind is Kind.CODE:
            return any(value.upper() in self.texts for value in values)
        if kind is Kind.NAME:
            return any(text in value.upper() for value in values for text in self.texts)
        return any(_within(self._comparable(value), bound) for value in values for bound in self.ranges)

    def _comparable(self, value: str) -> str | Decimal | None:
        if self.spec.kind is Kind.DATE:
            return value[:10]
        try:
            return Decimal(value)
        except InvalidOperation:
            return None


def _within(value: str | Decimal | None, bound: Bound) -> bool:
    low, high = bound
    if value is None:
        return False
    try:
        return (low is None or low <= value) and (high is None or value <= high)  # type: ignore[operator]
    except TypeError:
        return False


_DOLLAR = re.compile(r"-?\d+(\.\d+)?")
_RANGE = re.compile(r"\[([^,\[\]]*),([^,\[\]]*)\]")


def _iso_date(text: str) -> str:
    try:
        return datetime.strptime(text, "%m/%d/%Y").date().isoformat()
    except ValueError as exc:
        raise sam_errors.bad_date() from exc


def _dollar_amount(text: str) -> Decimal:
    if not _DOLLAR.fullmatch(text):
        raise sam_errors.bad_dollars()
    return Decimal(text)


def _bound(text: str, kind: Kind) -> Bound:
    error = sam_errors.bad_date if kind is Kind.DATE else sam_errors.bad_dollars
    parse: Callable[[str], Any] = _iso_date if kind is Kind.DATE else _dollar_amount
    ranged = _RANGE.fullmatch(text)
    if ranged is None:
        if "[" in text or "]" in text or "," in text:
            raise error()
        value = parse(text)
        return (value, value)
    low, high = (part.strip() for part in ranged.groups())
    if not low and not high:
        raise error()
    return (parse(low) if low else None, parse(high) if high else None)


def check_characters(name: str, value: str) -> None:
    if FORBIDDEN_CHARACTERS.intersection(value):
        raise sam_errors.forbidden_characters(name)


def parse_condition(raw_name: str, raw_value: str) -> Condition | None:
    """`name=value`, `name!=value` or `name=!value`; `~` joins alternatives; `null` matches a missing value."""
    negated = raw_name.endswith("!")
    name = raw_name.rstrip("!")
    spec = FILTERS[name]
    value = raw_value.strip()
    if value.startswith("!"):
        negated = not negated
        value = value[1:].strip()
    if not value:
        return None
    alternatives = tuple(part.strip() for part in value.split("~") if part.strip())
    if spec.too_many is not None and len(alternatives) > MAX_LISTED_VALUES:
        raise sam_errors.too_many(spec.too_many)
    if len(alternatives) == 1 and alternatives[0].lower() == "null":
        return Condition(name, spec, negated, null=True)
    if spec.kind in (Kind.CODE, Kind.NAME):
        return Condition(name, spec, negated, texts=tuple(text.upper() for text in alternatives))
    return Condition(name, spec, negated, ranges=tuple(_bound(text, spec.kind) for text in alternatives))


def _leaves(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, list):
        for item in node:
            yield from _leaves(item)


def search_text(record: AwardRecord) -> str:
    """What free text (`q`) is matched against, upper-cased."""
    if isinstance(record, GeneratedAward):
        office, industry, awardee = record.office, record.industry, record.awardee
        idv = record.referenced_idv.piid if record.referenced_idv else ""
        parts = (
            record.piid,
            idv,
            office.department[1],
            office.subtier[1],
            office.office[1],
            industry.naics[0],
            industry.naics[1],
            industry.psc[0],
            industry.psc[1],
            industry.description,
            awardee.name,
            awardee.uei,
            awardee.cage,
            awardee.place.city,
            record.place.city,
            record.kind.type[1],
        )
        return " ".join(parts).upper()
    return " ".join(_leaves(document_of(record))).upper()


def matches_text(record: AwardRecord, terms: tuple[str, ...]) -> bool:
    text = search_text(record)
    return all(term in text for term in terms)
