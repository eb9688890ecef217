"""One UK publisher's release feed as the imitation serves it now: dataset knobs and later publications (revisions).

Knobs every UK publisher has: `processes` (int, null = settings.ocds_processes), `seed` (int, null = the sandbox
seed), `revision` (int >= 0: later publications, each amending open tenders; raising it publishes batches stamped
with the sandbox clock at that moment, see ocds_data).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sandbox.clock import SandboxClock
from sandbox.knobs import Check, integer_at_least, knobs_json, merge_knobs
from sandbox.ocds_data import OcdsDataset, Publisher, load_ocds
from sandbox.pacing import RequestPace
from sandbox.settings import SandboxSettings

DATASET_CHECKS: dict[str, Check] = {
    "processes": integer_at_least(0, nullable=True),
    "seed": integer_at_least(0, nullable=True),
    "revision": integer_at_least(0),
}


@dataclass
class OcdsFeed:
    publisher: Publisher
    settings: SandboxSettings
    clock: SandboxClock
    processes: int | None = None
    seed: int | None = None
    revision: int = 0

    def __post_init__(self) -> None:
        self._stamps: list[datetime] = []

    def dataset(self) -> OcdsDataset:
        return load_ocds(
            self.publisher,
            self.settings.seed if self.seed is None else self.seed,
            self.settings.ocds_processes if self.processes is None else self.processes,
            self.settings.today or datetime.now(UTC).date(),
            tuple(self._stamps[: self.revision]),
        )

    def configure(self, processes: int | None, seed: int | None, revision: int) -> None:
        if (processes, seed) != (self.processes, self.seed):
            self._stamps.clear()
        now = self.clock.now().astimezone(UTC).replace(microsecond=0)
        while len(self._stamps) < revision:
            previous = self._stamps[-1] if self._stamps else now - timedelta(minutes=1)
            self._stamps.append(max(now, previous + timedelta(minutes=1)))
        self.processes, self.seed, self.revision = processes, seed, revision

    def reset(self) -> None:
        self.processes, self.seed, self.revision = None, None, 0
        self._stamps.clear()


class DatasetKnobs(Protocol):
    """The knobs every publisher has (see DATASET_CHECKS)."""

    @property
    def processes(self) -> int | None: ...
    @property
    def seed(self) -> int | None: ...
    @property
    def revision(self) -> int: ...


KnobsT = TypeVar("KnobsT", bound=DatasetKnobs)


class OcdsBoard(Generic[KnobsT]):
    """One publisher's state in the sandbox: its feed, its request pace and its knobs (`defaults` from settings)."""

    def __init__(
        self,
        publisher: Publisher,
        settings: SandboxSettings,
        clock: SandboxClock,
        *,
        checks: Mapping[str, Check],
        defaults: Callable[[SandboxSettings], KnobsT],
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.feed = OcdsFeed(publisher, settings, clock)
        self.pace = RequestPace(clock)
        self._checks = checks
        self._defaults = defaults
        self.knobs = defaults(settings)

    def update(self, data: object) -> None:
        knobs = merge_knobs(self.knobs, data, self._checks)
        self.feed.configure(knobs.processes, knobs.seed, knobs.revision)
        self.knobs = knobs

    def state(self) -> dict[str, Any]:
        dataset = self.feed.dataset()
        return {"knobs": knobs_json(self.knobs), "releases": len(dataset.releases), "processes": len(dataset.by_ocid)}

    def reset(self) -> None:
        self.knobs = self._defaults(self.settings)
        self.feed.reset()
        self.pace.reset()
