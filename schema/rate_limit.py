"""The caller's cost budget, as the `rateLimit` root field shows it (GitHub's GraphQL `rateLimit` shape)."""

from __future__ import annotations

import datetime as dt

import strawberry


@strawberry.type(
    description="The calling API key's hourly cost budget. Cost counts the upstream calls a query can trigger: "
    "1 per upstream field, a list with `first: n` costs ceil(n / 10), and fields under a list cost once per result "
    "asked; it is estimated from the document before execution and charged whether or not a cache answers."
)
class RateLimitStatus:
    tier: str = strawberry.field(description="The key's tier (e.g. anonymous, free, standard, partner).")
    limit: int = strawberry.field(description="Cost points the tier may spend per hour.")
    cost: int = strawberry.field(description="Cost points this query was charged.")
    remaining: int = strawberry.field(description="Cost points left in the current hour, after this query.")
    reset_at: dt.datetime = strawberry.field(description="When the hourly budget is full again (UTC).")
    requests_per_minute: int = strawberry.field(description="Requests the tier may send per minute.")
