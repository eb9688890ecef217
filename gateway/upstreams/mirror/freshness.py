"""Which answers of one request came from a snapshot older than its feed's window: a per-request report (like the
cache's), filled by every mirror read and written by the HTTP edge as `extensions.mirrors`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class StaleFeed:
    """A feed whose data in the serving snapshot is older than its window (`age_s` None: it never succeeded)."""

    feed: str
    window_s: int
    age_s: float | None
    last_success: datetime | None


@dataclass
class FreshnessReport:
    """The stale feeds each mirror read in one request, by mirror name."""

    by_mirror: dict[str, dict[str, StaleFeed]] = field(default_factory=dict)

    def record(self, mirror: str, stale: Iterable[StaleFeed]) -> None:
        for feed in stale:
            self.by_mirror.setdefault(mirror, {})[feed.feed] = feed

    def __bool__(self) -> bool:
        return bool(self.by_mirror)

    def as_extensions(self) -> dict[str, object]:
        """{mirror: {"stale": true, "feeds": [{feed, windowSeconds, ageSeconds, lastSuccess}]}}."""
        return {
            mirror: {
                "stale": True,
                "feeds": [
                    {
                        "feed": stale.feed,
                        "windowSeconds": stale.window_s,
                        "ageSeconds": None if stale.age_s is None else round(stale.age_s),
                        "lastSuccess": None if stale.last_success is None else stale.last_success.isoformat(),
                    }
                    for _, stale in sorted(feeds.items())
                ],
            }
            for mirror, feeds in sorted(self.by_mirror.items())
        }


_current: ContextVar[FreshnessReport | None] = ContextVar("gateway_mirror_freshness", default=None)


@contextmanager
def reporting() -> Iterator[FreshnessReport]:
    """Collect the stale mirror answers given within this context (and the tasks it starts) into one report."""
    report = FreshnessReport()
    token = _current.set(report)
    try:
        yield report
    finally:
        _current.reset(token)


def current_report() -> FreshnessReport | None:
    return _current.get()


def report_stale(mirror: str, stale: Iterable[StaleFeed]) -> None:
    """Called by a mirror after each read; nothing happens outside `reporting()`."""
    report = _current.get()
    if report is not None:
        report.record(mirror, stale)
