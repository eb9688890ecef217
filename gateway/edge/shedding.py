"""Load shedding: how many GraphQL operations this process executes at once, and how many requests may wait for it.

A /graphql request asks for a place here once its caller is known and before the limiter is asked (`admit`): when
`max_queued_requests` already wait for this process's capacity, it is refused at once, 503 SERVER_OVERLOADED with
`Retry-After`, without a call to Redis, so that a saturated process does not turn its own slowness into limiter
timeouts. An admitted request waits for capacity when it needs some: for the document worker (a long document, see
`gateway.edge.documents`) and for one of `max_concurrent_executions` execution slots, taken in arrival order and held
while its operation executes. A request that would join a full queue, or finds no slot within `max_queue_wait_s` (or
before its deadline), is refused the same way and gives its rate-limit unit back. What needs no capacity waits
uncounted: the limiter's decision, another request's execution of the same operation, an answer from the response
cache.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from enum import Enum

from gateway.errors import GatewayError
from gateway.settings import Settings
from gateway.upstreams.deadline import Deadline

RETRY_AFTER_S = 1  # a burst passes in seconds; a client told to wait longer would idle a freed process


class ServerOverloaded(GatewayError):
    code = "SERVER_OVERLOADED"


def overloaded(message: str) -> ServerOverloaded:
    return ServerOverloaded(message, retryAfter=RETRY_AFTER_S)


@dataclass(frozen=True)
class SheddingLimits:
    max_concurrent_executions: int
    max_queued_requests: int
    max_queue_wait_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SheddingLimits:
        return cls(settings.max_concurrent_executions, settings.max_queued_requests, settings.max_queue_wait_s)


class LoadShedder:
    """This process's execution slots and the requests waiting for its capacity."""

    def __init__(self, limits: SheddingLimits) -> None:
        self.limits = limits
        self.waiting = 0  # requests waiting for the document worker or an execution slot
        self.executing = 0  # holding a slot
        self.shed = 0  # refused since start, at admission or after it
        self._queue: deque[asyncio.Future[None]] = deque()

    @property
    def full(self) -> bool:
        return self.waiting >= self.limits.max_queued_requests

    def admit(self) -> Place | None:
        """A place for one request, or None (refuse it) when `max_queued_requests` already wait."""
        if self.full:
            self.shed += 1
            return None
        return Place(self)

    async def take_slot(self, wait_s: float) -> bool:
        """An execution slot within `wait_s` (after those waiting longer); False when none came."""
        if self.executing < self.limits.max_concurrent_executions and not self._queue:
            self.executing += 1
            return True
        if wait_s <= 0:
            return False
        handed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(handed)
        try:
            async with asyncio.timeout(wait_s):
                await handed
        except TimeoutError:
            # A slot handed over just as the wait ran out is this request's.
            return handed.done() and not handed.cancelled()
        except BaseException:
            if handed.done() and not handed.cancelled():
                self.give_slot()  # handed over to a request that is gone
            raise
        finally:
            if handed in self._queue:
                self._queue.remove(handed)
        return True

    def give_slot(self) -> None:
        """Frees a slot: to the request waiting longest (`executing` unchanged), else to no one."""
        while self._queue:
            handed = self._queue.popleft()
            if not handed.done():
                handed.set_result(None)
                return
        self.executing -= 1


class _Stage(Enum):
    ADMITTED = "admitted"  # in the process, waiting for nothing of its capacity
    WAITING = "waiting"  # for the document worker or a slot: counted against max_queued_requests
    EXECUTING = "executing"
    DONE = "done"


class Place:
    """One admitted request's place: admitted, waiting for capacity (counted) now and then, executing (at most once,
    holding a slot), done."""

    def __init__(self, shedder: LoadShedder) -> None:
        self._shedder = shedder
        self._stage = _Stage.ADMITTED
        self.shed = False  # refused after admission: the queue was full, or no slot came in time

    def join_queue(self) -> bool:
        """Counts this request as waiting for capacity; False (refuse it) when the queue is full."""
        if self._stage is _Stage.WAITING:
            return True
        if self._stage is not _Stage.ADMITTED:
            return False
        if self._shedder.full:
            self.mark_shed()
            return False
        self._shedder.waiting += 1
        self._stage = _Stage.WAITING
        return True

    def leave_queue(self) -> None:
        if self._stage is _Stage.WAITING:
            self._shedder.waiting -= 1
            self._stage = _Stage.ADMITTED

    async def execution_slot(self, deadline: Deadline) -> bool:
        """Waits in the queue for an execution slot, at most `max_queue_wait_s` and never past `deadline`; False when
        the queue is full or no slot came. A request holds one slot at most: asked again, it answers at once."""
        if self._stage is _Stage.EXECUTING:
            return True
        if not self.join_queue():
            return False
        shedder = self._shedder
        taken = await shedder.take_slot(min(shedder.limits.max_queue_wait_s, deadline.remaining_s()))
        self.leave_queue()
        if not taken:
            self.mark_shed()
            return False
        self._stage = _Stage.EXECUTING
        return True

    def leave(self) -> None:
        """The request is answered or gone: its slot, or its place in the queue, is free. Once."""
        self.leave_queue()
        if self._stage is _Stage.EXECUTING:
            self._shedder.give_slot()
        self._stage = _Stage.DONE

    def mark_shed(self) -> None:
        """Refused after admission (its answer says so without asking Redis). Once."""
        if not self.shed:
            self._shedder.shed += 1
            self.shed = True
