"""The cost of one request, decided once: estimated from its document, variables and operation (once), checked
against the per-query maximum and the caller's tier, and charged to the caller's hourly budget.

The decision is kept on the request (`RequestCost`, handed to the schema in the request context). A request answered
by another's execution (the response cache) pays the price that execution estimated, without estimating again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import DocumentNode, GraphQLError

from gateway.errors import RateLimited
from gateway.limits.metering import Metering
from resolvers.context import RequestContext
from schema.limits import COST_ESTIMATED_TOO_EXPENSIVE, limit_error

Estimate = Callable[[DocumentNode, Mapping[str, Any] | None, str | None], int]


class RequestCost:
    """One request's cost decision. Unmetered requests (not behind the access middleware) are only held to the
    per-query maximum."""

    def __init__(self, estimate: Estimate, max_query_cost: int, metering: Metering | None = None) -> None:
        self._estimate = estimate
        self.max_query_cost = max_query_cost
        self.metering = metering
        self.estimated: int | None = None  # the operation's cost, once known
        self._decided = False
        self._refusal: GraphQLError | None = None

    async def decide(
        self, document: DocumentNode, variables: Mapping[str, Any] | None, operation_name: str | None
    ) -> GraphQLError | None:
        """Estimates the operation's cost and decides on it; the refusal, if any. Asked again, answers the same."""
        if self._decided:
            return self._refusal
        return await self.decide_estimated(self._estimate(document, variables, operation_name))

    async def decide_estimated(self, cost: int) -> GraphQLError | None:
        """Decides on a cost estimated already (by the execution whose answer serves this request)."""
        if self._decided:
            return self._refusal
        self._decided = True
        self.estimated = cost
        if cost > self.max_query_cost:
            self._refusal = limit_error(
                COST_ESTIMATED_TOO_EXPENSIVE,
                f"The query's estimated cost {cost} is over the limit of {self.max_query_cost} per query.",
                cost=cost,
                limit=self.max_query_cost,
            )
        elif self.metering is not None:
            self._refusal = await meter_cost(self.metering, cost)
        return self._refusal

    async def extension(self) -> dict[str, Any] | None:
        """`extensions.cost` of a metered request: the cost charged (0 when nothing was) and the budget left."""
        if self.metering is None:
            return None
        budget = await self.metering.current_budget()
        return {
            "requested": self.metering.requested_cost or 0,
            "budget": {
                "limit": budget.cost.limit,
                "remaining": budget.cost.remaining,
                "resetAt": _iso_time(budget.cost.reset_at),  # as the `rateLimit.resetAt` field serialises it
            },
        }


class _LastIsoTime:
    """`moment.isoformat()`, remembered for the last moment written: the limiter gives the budgets of one second
    the same datetime object, so most requests write the one before theirs (told by identity, never by equality)."""

    __slots__ = ("_moment", "_text")

    def __init__(self) -> None:
        self._moment: datetime | None = None
        self._text = ""

    def __call__(self, moment: datetime) -> str:
        if moment is not self._moment:
            self._moment, self._text = moment, moment.isoformat()
        return self._text


_iso_time = _LastIsoTime()


async def meter_cost(metering: Metering, cost: int) -> GraphQLError | None:
    """Charges one operation's estimated cost to its caller; the refusal, if any.

    Over the tier's single-query maximum: COST_ESTIMATED_TOO_EXPENSIVE, nothing charged. Else the cost is charged to
    the hourly budget; a charge the budget cannot cover is refused with RATE_LIMITED (HTTP 429).
    """
    tier = metering.caller.tier
    if cost > tier.max_query_cost:
        metering.requested_cost = cost
        return limit_error(
            COST_ESTIMATED_TOO_EXPENSIVE,
            f"The query's estimated cost {cost} is over the limit of {tier.max_query_cost} per query "
            f"of tier {tier.name}.",
            cost=cost,
            limit=tier.max_query_cost,
        )
    decision = await metering.charge(cost)
    if decision.allowed:
        return None
    return GraphQLError(
        f"The query's cost {cost} is over the {decision.remaining} cost points left this hour "
        f"(tier {tier.name}: {decision.limit} per hour).",
        extensions={"code": RateLimited.code, "retryAfter": decision.retry_after_s, "cost": cost},
    )


@dataclass
class CostedRequestContext(RequestContext):
    """The resolvers' request context, carrying to the schema's extensions the request's cost decision and its
    document as the endpoint parsed it."""

    cost: RequestCost | None = None
    document: DocumentNode | None = None
