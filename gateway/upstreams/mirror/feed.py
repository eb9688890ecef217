"""What a mirror is made of: its feeds (files refreshed on an interval) and the parser that turns a feed's file into
the records the index holds. Stdlib only: the adapter of a source declares these, the mirror runs them."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class FeedSpec:
    """One feed: the files it is made of on a given day (relative to the mirror's base URL), how often it is
    refreshed, how old its data may be before answers say it is stale, and the kinds of record it holds.

    Feeds are listed in priority order: when two feeds hold the same record at the same version, the later one wins.
    """

    name: str
    files: Callable[[date], tuple[str, ...]]
    interval_s: int
    window_s: int
    kinds: frozenset[str]
    description: str = ""


@dataclass(frozen=True)
class SearchText:
    """The words a record is found by: title, description and buyer, in English and French (empty when absent)."""

    title_en: str = ""
    title_fr: str = ""
    description_en: str = ""
    description_fr: str = ""
    buyer_en: str = ""
    buyer_fr: str = ""

    def columns(self) -> tuple[str, str, str, str, str, str]:
        return (self.title_en, self.title_fr, self.description_en, self.description_fr, self.buyer_en, self.buyer_fr)


@dataclass(frozen=True)
class IndexRecord:
    """One record as the index holds it; `payload` is the adapter's own encoding, given back as is when read.

    Identity is (`kind`, `key`); of several records with one identity the highest `version` is kept. Lists are read
    in (`sort`, `key`) order. `codes` are (scheme, value) pairs matched exactly, by prefix or by substring; `day` is the
    date that date ranges apply to (ISO), `amount` what amount ranges apply to, `link` what joins records of two
    kinds (e.g. a solicitation number joining a tender and its awards).
    """

    kind: str
    key: str
    version: int
    sort: str
    payload: bytes
    text: SearchText = field(default_factory=SearchText)
    codes: tuple[tuple[str, str], ...] = ()
    link: str | None = None
    day: str | None = None
    amount: float | None = None
    counted: bool = True  # False for a second record of one row (another view of it): a feed's rows count it once


MAX_PREFIX_CHARS = 24  # a code found by prefix is indexed with its prefixes up to this length


def code_token(scheme: str, value: str) -> str:
    """A code as one full-text token: the scheme and the value, letters and digits only, lower-case, accents
    dropped (`("region_delivery", "X-INT")` -> `regiondeliveryxxint`)."""
    return f"{_alphanumeric(scheme)}x{_alphanumeric(value)}"


def prefix_token(scheme: str, prefix: str) -> str:
    """The token of every code of `scheme` starting with `prefix` (`("gsin", "N70")` -> `gsinpn70`)."""
    return f"{_alphanumeric(scheme)}p{_alphanumeric(prefix)[:MAX_PREFIX_CHARS]}"


def code_tokens(codes: Iterable[tuple[str, str]], prefix_schemes: frozenset[str]) -> str:
    """The `codes` column of a record: each code's token, and for a scheme found by prefix every prefix's token (one
    token a prefix: the index then reads one list per filter value, never a merge of many)."""
    tokens: dict[str, None] = {}
    for scheme, value in codes:
        tokens[code_token(scheme, value)] = None
        if scheme in prefix_schemes:
            folded = _alphanumeric(value)[:MAX_PREFIX_CHARS]
            tokens.update((prefix_token(scheme, folded[:length]), None) for length in range(1, len(folded) + 1))
    return " ".join(tokens)


def _alphanumeric(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(character for character in decomposed if character.isascii() and character.isalnum())


class FeedFormatError(Exception):
    """A feed's file cannot be read as the parser expects (a missing column, a truncated row): the refresh fails,
    the last good snapshot keeps serving."""

    def __init__(self, feed: str, message: str) -> None:
        super().__init__(f"{feed}: {message}")
        self.feed = feed


class FeedParser(Protocol):
    """Turns one downloaded file of a feed into index records; raises FeedFormatError for a file it cannot read.

    A parser may run in another thread or process than the one that made it: keep it a plain, picklable object.
    `format` names what its records hold (their payloads' form, how values were read): a snapshot built with another
    format is not served, and is rebuilt from the kept files.
    """

    @property
    def format(self) -> str: ...

    @property
    def prefix_schemes(self) -> frozenset[str]:
        """The code schemes queries match by prefix (`Match.PREFIX`): their codes are indexed with their prefixes."""
        ...

    def records(self, feed: str, path: Path) -> Iterator[IndexRecord]: ...
