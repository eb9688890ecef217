"""The vocabulary of the cross-source `search`."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="A kind of result that `search` looks for, each from its own upstream(s).")
class SearchKind(Enum):
    LEAD = strawberry.enum_value("LEAD", description="Trade leads (upstream `ita`).")
    TENDER = strawberry.enum_value("TENDER", description="Canadian tender notices (upstream `canada`).")
    CONTRACT = strawberry.enum_value(
        "CONTRACT", description="Contract awards (upstreams `sam` and `canada`, asked concurrently)."
    )
