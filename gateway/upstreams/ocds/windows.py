"""Update windows: the spans of time a refresh asks the publisher for, from the persisted watermark (the end of the
last window completed) to now, each at most one window long. The first refresh starts `backfill` before now; later
ones start `overlap` before the watermark, so releases the publisher indexed late are still seen."""

from __future__ import annotations

from datetime import datetime, timedelta

Window = tuple[datetime, datetime]


def update_windows(
    watermark: datetime | None,
    now: datetime,
    *,
    length: timedelta,
    backfill: timedelta,
    overlap: timedelta,
) -> list[Window]:
    """The windows from the watermark (less `overlap`; `backfill` before now when there is none) to `now`, oldest
    first; the last one ends at `now`."""
    if length <= timedelta(0):
        raise ValueError("an update window must be longer than 0 s")
    start = now - backfill if watermark is None else min(watermark, now) - overlap
    windows: list[Window] = []
    while start < now:
        end = min(start + length, now)
        windows.append((start, end))
        start = end
    return windows
