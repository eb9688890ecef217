"""Tolerant readers of upstream JSON values: each returns None (or an empty tuple) for what it cannot read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from gateway.models import Money

_AMOUNT_NOISE = str.maketrans("", "", "$, \u00a0")


def text(record: Mapping[str, object], key: str) -> str | None:
    """A non-blank string, stripped; numbers are accepted as their decimal text."""
    value = record.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def strings(record: Mapping[str, object], key: str, *, separator: str | None = None) -> tuple[str, ...]:
    """A list of non-blank strings; a lone string is one item, or several when `separator` splits it."""
    value = record.get(key)
    if isinstance(value, str):
        parts = value.split(separator) if separator else [value]
    elif isinstance(value, list):
        parts = [item for item in value if isinstance(item, str)]
    else:
        return ()
    return tuple(stripped for part in parts if (stripped := part.strip()))


def day(record: Mapping[str, object], key: str) -> date | None:
    """`YYYY-MM-DD` (a longer ISO timestamp is cut to its date)."""
    value = text(record, key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def moment(record: Mapping[str, object], key: str) -> datetime | None:
    """An ISO 8601 timestamp such as `2016-07-20T10:15:02+00:00`; `''` means never."""
    value = text(record, key)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def amount(record: Mapping[str, object], key: str) -> Decimal | None:
    """A finite decimal from a JSON number or a string such as `"35000.0"` or `"$1,250.00"`."""
    value = record.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value.translate(_AMOUNT_NOISE))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def money(record: Mapping[str, object], key: str, currency: str) -> Money | None:
    number = amount(record, key)
    return None if number is None else Money(number, currency)


def integer(value: object) -> int | None:
    """A JSON integer, or a string of digits (some envelopes send counts as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
