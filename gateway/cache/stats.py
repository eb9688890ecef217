"""Cache counters per upstream (the key prefix before ':'), in process and as Prometheus counters (`/metrics` exports
them as `gateway_cache_<event>_total`)."""

from __future__ import annotations

from collections import Counter as Tally
from typing import Literal, get_args

from prometheus_client import CollectorRegistry, Counter

CacheEvent = Literal["hits", "misses", "stale", "evictions", "fetch_errors", "redis_errors"]
CACHE_EVENTS: tuple[CacheEvent, ...] = get_args(CacheEvent)

_DESCRIPTIONS: dict[CacheEvent, str] = {
    "hits": "Cache answers served fresh, without asking the upstream",
    "misses": "Cache answers that had to ask the upstream",
    "stale": "Stale cache answers served because the upstream failed (stale-if-error)",
    "evictions": "Entries evicted from the in-process cache to stay within its entry and byte bounds",
    "fetch_errors": "Upstream fetches made by the cache that raised",
    "redis_errors": "Redis calls that failed or timed out (the cache answered without Redis)",
}


def upstream_of(key: str) -> str:
    return key.partition(":")[0]


class CacheStats:
    """Plain counters for tests and status pages, mirrored into Prometheus counters on `registry`."""

    def __init__(self, registry: CollectorRegistry, *, backend: str) -> None:
        self.registry = registry
        self._tallies: dict[str, Tally[CacheEvent]] = {}
        self._counters = {
            event: Counter(
                f"gateway_cache_{event}",
                _DESCRIPTIONS[event],
                labelnames=("backend", "upstream"),
                registry=registry,
            )
            for event in CACHE_EVENTS
        }
        self._backend = backend
        self._children: dict[tuple[CacheEvent, str], Counter] = {}  # bound once per event and upstream

    def record(self, event: CacheEvent, key: str, count: int = 1) -> None:
        upstream = upstream_of(key)
        tally = self._tallies.get(upstream)
        if tally is None:
            tally = self._tallies[upstream] = Tally()
        tally[event] += count
        child = self._children.get((event, upstream))
        if child is None:
            child = self._children[event, upstream] = self._counters[event].labels(self._backend, upstream)
        child.inc(count)

    def total(self, event: CacheEvent) -> int:
        return sum(tally[event] for tally in self._tallies.values())

    def snapshot(self) -> dict[str, dict[CacheEvent, int]]:
        """{upstream: {event: count}} with every event present."""
        return {upstream: {event: tally[event] for event in CACHE_EVENTS} for upstream, tally in self._tallies.items()}
