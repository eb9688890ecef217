"""Date windows, stage filters and keyset pages over a publisher's releases (both UK imitations page this way).

Releases are ordered by date (whole seconds), then publication serial. A page is the first `limit` releases after
a position (the cursor's) that fall in the window (both ends inclusive) and in the stages asked for; the next
position is the last release served, so a release is served exactly once while a client follows the cursors, even
when later releases are published meanwhile.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sandbox.ocds_data import OcdsDataset, Release

Position = tuple[int, int]


@dataclass(frozen=True)
class Window:
    start: datetime | None = None
    end: datetime | None = None
    stages: frozenset[str] | None = None  # release stages (ocds_data.STAGES values), None = all

    def admits(self, release: Release) -> bool:
        if self.start is not None and release.moment < self.start:
            return False
        if self.end is not None and release.moment > self.end:
            return False
        return self.stages is None or release.stage in self.stages


def page(dataset: OcdsDataset, window: Window, after: Position | None, limit: int) -> tuple[list[Release], bool]:
    """The page's releases and whether more follow."""
    start = 0 if after is None else bisect.bisect_right(dataset.keys, after)
    found: list[Release] = []
    for release in dataset.releases[start:]:
        if window.end is not None and release.moment > window.end:
            break
        if window.admits(release):
            if len(found) == limit:
                return found, True
            found.append(release)
    return found, False


def stages_of(text: str, known: Collection[str]) -> frozenset[str] | None:
    """The comma-separated stages (None when empty); raises ValueError naming an unknown one."""
    stages = frozenset(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = sorted(stages - set(known))
    if unknown:
        raise ValueError(unknown[0])
    return stages or None
