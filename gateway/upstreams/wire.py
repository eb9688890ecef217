"""Tolerant readers of upstream JSON values: each returns None (or an empty tuple) for what it cannot read.

Every reader takes a JSON value and an optional path of object keys into it (`text(item, "contractId", "piid")`);
a step that is missing or not an object reads as None. The string `"null"` is an absent value too (SAM writes
absent scalars so).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from gateway.models import Money

ABSENT_TEXT = "null"
US_DATE = "%m/%d/%Y"  # SAM's MM/DD/YYYY
_AMOUNT_NOISE = str.maketrans("", "", "$, \u00a0")
_MAX_AMOUNT_DIGITS = 21  # more than any public budget: larger numbers are garbage, not money
_MAX_INTEGER_DIGITS = 18
_MAX_INTEGER = 10**_MAX_INTEGER_DIGITS


def at(value: object, *path: str) -> object:
    """The value at `path` inside nested JSON objects, or None where a step is missing or not an object."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def text(value: object, *path: str) -> str | None:
    """A non-blank string, stripped; numbers are accepted as their decimal text."""
    # The common case first (one key into an object, a string found): the readers run per field of every record.
    found = value.get(path[0]) if len(path) == 1 and type(value) is dict else at(value, *path)
    if type(found) is str:
        stripped = found.strip()
        return stripped if stripped and stripped != ABSENT_TEXT else None
    if found is None or isinstance(found, bool):
        return None
    if isinstance(found, int | float):
        return str(found)
    if not isinstance(found, str):
        return None
    stripped = found.strip()
    return stripped if stripped and stripped != ABSENT_TEXT else None


def strings(value: object, *path: str, separator: str | None = None) -> tuple[str, ...]:
    """A list of non-blank strings; a lone string is one item, or several when `separator` splits it."""
    found = value.get(path[0]) if len(path) == 1 and type(value) is dict else at(value, *path)
    if found is None:
        return ()
    if isinstance(found, str):
        parts = found.split(separator) if separator else [found]
    elif isinstance(found, list):
        parts = [item for item in found if isinstance(item, str)]
    else:
        return ()
    return tuple(stripped for part in parts if (stripped := part.strip()))


def moment(value: object, *path: str) -> datetime | None:
    """An ISO 8601 timestamp (`2016-07-20T10:15:02+00:00`, `2025-02-20T19:13:54.000Z`, `2025-02-20 00:00:00.000`),
    a plain ISO date or `MM/DD/YYYY`; one without an offset is UTC. `''` means never."""
    found = text(value, *path)
    if found is None:
        return None
    try:
        parsed = datetime.fromisoformat(found)
    except ValueError:
        try:
            parsed = datetime.strptime(found, US_DATE)
        except ValueError:
            return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def day(value: object, *path: str) -> date | None:
    """The date of a timestamp `moment` reads, else of `YYYY-MM-DD` at the start of a longer text."""
    found = moment(value, *path)
    if found is not None:
        return found.date()
    leading = text(value, *path)
    if leading is None:
        return None
    try:
        return date.fromisoformat(leading[:10])
    except ValueError:
        return None


def amount(value: object, *path: str, strict: bool = False) -> Decimal | None:
    """A finite decimal from a JSON number or a string such as `"35000.0"` or `"$1,250.00"`.

    `strict`: only a plain number (SAM's amounts; its `"1,000"` is not read as a thousand).
    """
    found = value.get(path[0]) if len(path) == 1 and type(value) is dict else at(value, *path)
    if found is None or isinstance(found, bool):
        return None
    if isinstance(found, int | float):
        found = repr(found)
    if not isinstance(found, str):
        return None
    try:
        number = Decimal(found.strip() if strict else found.translate(_AMOUNT_NOISE))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number.adjusted() < _MAX_AMOUNT_DIGITS else None


def money(value: object, *path: str, currency: str, strict: bool = False) -> Money | None:
    number = amount(value, *path, strict=strict)
    return None if number is None else Money(number, currency)


def integer(value: object, *path: str) -> int | None:
    """A whole number from a JSON number or a plain number string (some envelopes send counts as strings)."""
    found = value.get(path[0]) if len(path) == 1 and type(value) is dict else at(value, *path)
    if type(found) is int:  # the common case (counts, ids), read as the decimal path below reads it
        return found if -_MAX_INTEGER < found < _MAX_INTEGER else None
    number = amount(found, strict=True)
    if number is None or number.adjusted() >= _MAX_INTEGER_DIGITS or number != number.to_integral_value():
        return None
    return int(number)
