"""Single-flight: concurrent callers for one key share one piece of work and its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Flight(Generic[T]):
    task: asyncio.Task[T]
    waiters: int = 0


class SingleFlight(Generic[T]):
    """The first caller for a key starts `work` in its own task; later callers await the same task.

    A caller that is cancelled leaves without cancelling the others; when the last caller leaves, the work is
    cancelled. An exception reaches every caller and is remembered nowhere.
    """

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight[T]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        flight = self._flights.get(key)
        if flight is None:
            flight = _Flight(asyncio.ensure_future(work()))
            self._flights[key] = flight
            flight.task.add_done_callback(lambda task: self._land(key, task))
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                self._forget(key, flight.task)  # a caller arriving while it unwinds starts afresh
                flight.task.cancel()

    def _forget(self, key: Hashable, task: asyncio.Task[T]) -> None:
        current = self._flights.get(key)
        if current is not None and current.task is task:
            del self._flights[key]

    def _land(self, key: Hashable, task: asyncio.Task[T]) -> None:
        self._forget(key, task)
        if not task.cancelled():
            task.exception()  # retrieved here so that work nobody waits for any more is not reported as lost
