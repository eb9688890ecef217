"""Knobs of the SAM opportunities imitation (`GET|PUT|DELETE /_sandbox/samopps`), shared by the API and the extract.

- `notices` (int, null = settings.samopps_notices): notices in publication 0.
- `seed` (int, null = the sandbox seed): another dataset.
- `publication` (int >= 0): the extract of that many days later (rows changed, added, removed; see samopps_data);
  raising it "publishes" a new file (new ETag, Last-Modified = the sandbox clock at that moment). The search API
  answers from the same publication.
- `truncate` (null, "file" or "connection"): the extract body cut in the middle of a row, either as a complete
  shorter file (its own Content-Length and ETag, like a copy taken while the file was written) or as the full
  file's headers with the connection closed halfway through the body.
- `garbage` (bool): the extract answers 200 with an HTML error page instead of the CSV (headers of the real file).

Route-level faults (`PUT /_sandbox/faults/samopps`) apply to every samopps route as to any upstream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from aiohttp import web

from sandbox.clock import SandboxClock
from sandbox.knobs import Check, boolean, integer_at_least, knobs_json, merge_knobs, one_of
from sandbox.samopps_data import OpportunityDataset, opportunities_for
from sandbox.settings import SandboxSettings


@dataclass(frozen=True)
class SamOppsKnobs:
    notices: int | None = None
    seed: int | None = None
    publication: int = 0
    truncate: str | None = None
    garbage: bool = False


CHECKS: dict[str, Check] = {
    "notices": integer_at_least(0, nullable=True),
    "seed": integer_at_least(0, nullable=True),
    "publication": integer_at_least(0),
    "truncate": one_of(None, "file", "connection"),
    "garbage": boolean,
}


class SamOppsBoard:
    def __init__(self, settings: SandboxSettings, clock: SandboxClock) -> None:
        self.settings = settings
        self.clock = clock
        self.knobs = SamOppsKnobs()
        self._published: list[datetime] = []  # when publications 1, 2, ... appeared

    def dataset(self) -> OpportunityDataset:
        knobs = self.knobs
        return opportunities_for(self.settings, seed=knobs.seed, notices=knobs.notices, publication=knobs.publication)

    def last_modified(self) -> datetime:
        """When the current publication appeared: publication 0 two hours before today's 00:00 UTC."""
        if self.knobs.publication == 0:
            today = self.settings.today or datetime.now(UTC).date()
            return datetime.combine(today, time(), UTC) - timedelta(hours=2)
        return self._published[self.knobs.publication - 1]

    def update(self, data: object) -> None:
        knobs = merge_knobs(self.knobs, data, CHECKS)
        if (knobs.seed, knobs.notices) != (self.knobs.seed, self.knobs.notices):
            self._published.clear()
            knobs = replace(knobs, publication=knobs.publication if "publication" in data else 0)  # type: ignore[operator]
        now = self.clock.now().astimezone(UTC).replace(microsecond=0)
        while len(self._published) < knobs.publication:
            previous = self._published[-1] if self._published else now - timedelta(seconds=1)
            self._published.append(max(now, previous + timedelta(seconds=1)))
        self.knobs = knobs

    def state(self) -> dict[str, Any]:
        dataset = self.dataset()
        return {
            "knobs": knobs_json(self.knobs),
            "notices": len(dataset.notices),
            "last_modified": self.last_modified().isoformat(),
            "joined_piids": len(dataset.joined_piids),
        }

    def reset(self) -> None:
        self.knobs = SamOppsKnobs()
        self._published.clear()


BOARD = web.AppKey("samopps_board", SamOppsBoard)
