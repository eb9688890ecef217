"""The one order of `search` across kinds and sources, and the relevance score it merges by.

Without keywords: newest first, by the day a record was published: a lead's publish date, a tender's publication
date (CanadaBuys notices; the retired Canadian API gives none), a contract's award date. Undated records come after
every dated one.

With keywords: by relevance. The upstreams rank by their own scores and do not send them, so each record is scored by
its rank among its source's matches, normalised by the source's number of matches: `1 - rank / total` (the best of
every source scores 1.0, the median about 0.5). The sources are interleaved in proportion to their numbers of matches,
and each keeps its own order. A source that does not count its matches scores `1 / (rank + 1)`.

Ties go to the source listed first (leads, tenders, contracts; catalog order within a kind).
"""

from __future__ import annotations

import datetime as dt

from gateway.models import Contract, Lead, Tender

Record = Lead | Tender | Contract
OrderKey = tuple[float, float]  # the smallest comes first


def relevance(rank: int, total: int | None) -> float:
    """The normalised relevance of the record at `rank` (0-based) among `total` matches of its source."""
    if total is None or total <= rank:
        return 1.0 / (rank + 1)
    return 1.0 - rank / total


def published(record: Record) -> dt.date | None:
    if isinstance(record, Lead):
        return record.publish_date
    if isinstance(record, Tender):
        return record.notice.published if record.notice is not None else None
    return record.award_date


def order_key(record: Record, score: float | None) -> OrderKey:
    """By relevance when `score` is given, else newest first."""
    if score is not None:
        return (0.0, -score)
    day = published(record)
    return (1.0, 0.0) if day is None else (0.0, -float(day.toordinal()))
