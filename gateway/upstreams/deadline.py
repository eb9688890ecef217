"""A request's deadline: made once, when the request arrives, and carried to every upstream call it makes."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    """When the whole GraphQL request must be answered, on the monotonic clock."""

    expires_at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining_s(self) -> float:
        return self.expires_at - time.monotonic()
