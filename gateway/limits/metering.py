"""The caller of one request and its meter: who pays (key id, tier), and what the request cost and left.

The access middleware creates a `Metering` for every admitted /graphql request and puts it in `scope["state"]`; the
GraphQL endpoint charges the document's cost to it before execution; resolvers read it for the `rateLimit` field; the
middleware reads it again for the `RateLimit` headers of the response. A request shed after it was admitted calls
`release()` to give back what it took (its request unit and any cost charge).
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass

from gateway.limits.limiter import Budget, Decision, RateLimiter
from gateway.settings import Tier

ANONYMOUS_KEY_PREFIX = "anonymous:"
_UNGATED: AbstractAsyncContextManager[object] = nullcontext()


@dataclass(frozen=True)
class Caller:
    key_id: str  # the public key id, or `anonymous:<client address>` for the anonymous tier
    owner: str
    tier: Tier

    @property
    def anonymous(self) -> bool:
        return self.key_id.startswith(ANONYMOUS_KEY_PREFIX)


@dataclass
class Metering:
    caller: Caller
    limiter: RateLimiter
    # Bounds the requests talking to the limiter's storage at once (the size of its pool): a burst waits here, off
    # the limiter's clock, instead of timing out in the pool queue (a timed-out limiter falls back to its local share).
    storage_gate: asyncio.Semaphore | None = None
    requested_cost: int | None = None  # the document's estimated cost, once the endpoint has estimated it
    budget: Budget | None = None  # the caller's budget after this request's charge
    refused: Decision | None = None  # the cost charge the limiter refused, if it did
    admitted: Decision | None = None  # the request-rate decision that let this request in
    charged: Decision | None = None  # the cost charge the limiter admitted (of `charged_cost` points)
    charged_cost: int = 0

    async def check_request(self) -> Decision:
        """Counts this request against the tier's request rate."""
        async with self._gated():
            decision = await self.limiter.check_request(self.caller.key_id, self.caller.tier)
        if decision.allowed:
            self.admitted = decision
        return decision

    async def charge(self, cost: int) -> Decision:
        """Charges `cost` to the hourly budget and reads the budget left (a refused charge costs nothing)."""
        self.requested_cost = cost
        async with self._gated():
            decision = await self.limiter.charge_cost(self.caller.key_id, self.caller.tier, cost)
            if not decision.allowed:
                self.refused = decision
            elif cost > 0:
                self.charged, self.charged_cost = decision, cost
            self.budget = await self.limiter.peek(self.caller.key_id, self.caller.tier)
        return decision

    async def refund_cost(self) -> None:
        """Gives back this request's cost charge, if one was admitted (the request did no work after all). Once."""
        charged, cost = self.charged, self.charged_cost
        if charged is None:
            return
        self.charged, self.charged_cost = None, 0
        async with self._gated():
            await self.limiter.refund_cost(self.caller.key_id, self.caller.tier, cost, charged)
        self.budget = None  # read again for the response's headers

    async def release(self) -> None:
        """Gives back everything this request took, its request unit and its cost charge: for a request shed after
        it was admitted. Once; later calls do nothing. Best effort: a unit Redis cannot take back expires with its
        window."""
        admitted = self.admitted
        if admitted is not None:
            self.admitted = None
            async with self._gated():
                await self.limiter.refund_request(self.caller.key_id, self.caller.tier, admitted)
            self.budget = None
        await self.refund_cost()

    async def current_budget(self) -> Budget:
        if self.budget is None:
            async with self._gated():
                self.budget = await self.limiter.peek(self.caller.key_id, self.caller.tier)
        return self.budget

    def _gated(self) -> AbstractAsyncContextManager[object]:
        return _UNGATED if self.storage_gate is None else self.storage_gate
