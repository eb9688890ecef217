"""The directory of one mirror replica: the feeds' downloaded files, the snapshots, a lock, and a disk bound.

    <root>/files/<feed>/<file>        the files the serving snapshot was built from, and validators.json
    <root>/incoming/<feed>/<file>     files downloaded by the refresh under way (promoted once a snapshot is built)
    <root>/snapshots/<stamp>.sqlite   snapshots (the newest serves); `.building` while being built
    <root>/status.json                every feed's status as the writer last saw it (failures included)

One process at a time writes a directory (the writer: an exclusive lock, held from `open` to `close`); any number of
others may follow it, reading its newest snapshot and status without a lock (`open(writer=False)`). The writer keeps
the snapshot before the serving one until its next build starts, so that a follower still reading it is not cut off.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from gateway.upstreams.mirror.download import Validators

SNAPSHOT_SUFFIX = ".sqlite"
BUILDING_SUFFIX = ".building"
VALIDATORS_FILE = "validators.json"
STATUS_FILE = "status.json"


class MirrorDirectoryBusy(Exception):
    """Another process writes the mirror's directory."""


class MirrorDirectory:
    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._lock_file: IO[str] | None = None
        self._serial = 0

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    def files(self, feed: str) -> Path:
        return self.root / "files" / feed

    def incoming(self, feed: str) -> Path:
        return self.root / "incoming" / feed

    @property
    def writer(self) -> bool:
        return self._lock_file is not None

    def open(self, *, writer: bool = True) -> None:
        """Create the layout; as the writer, take the lock (MirrorDirectoryBusy when another process holds it) and
        clear what a refresh cut short left behind."""
        self.snapshots.mkdir(parents=True, exist_ok=True)
        if not writer:
            return
        lock_file = (self.root / ".lock").open("w")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            raise MirrorDirectoryBusy(f"{self.root} is written by another process") from None
        self._lock_file = lock_file
        shutil.rmtree(self.root / "incoming", ignore_errors=True)  # a refresh cut short leaves its downloads
        for unfinished in self.snapshots.glob(f"*{BUILDING_SUFFIX}*"):
            unfinished.unlink(missing_ok=True)

    def close(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    def usage(self) -> int:
        """Bytes of every file under the directory (snapshots, downloads, partial files)."""
        total = 0
        for folder, _, names in os.walk(self.root):
            for name in names:
                try:
                    total += (Path(folder) / name).stat().st_size
                except FileNotFoundError:  # removed meanwhile (a retired snapshot, a promoted download)
                    continue
        return total

    def remaining(self) -> int:
        return max(0, self.max_bytes - self.usage())

    def new_snapshot(self) -> Path:
        self._serial += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return self.snapshots / f"{stamp}-{self._serial:04d}{BUILDING_SUFFIX}"

    def latest_snapshot(self) -> Path | None:
        """The newest complete snapshot."""
        complete = sorted(self.snapshots.glob(f"*{SNAPSHOT_SUFFIX}"))
        return complete[-1] if complete else None

    def prune(self, serving: Path | None) -> None:
        """Remove every complete snapshot but `serving` (the writer, before it builds the next one)."""
        for stale in self.snapshots.glob(f"*{SNAPSHOT_SUFFIX}"):
            if serving is None or stale.name != serving.name:
                stale.unlink(missing_ok=True)

    def read_status(self) -> dict[str, object]:
        """The feeds' statuses the writer saved ({} when none were, or the file is unreadable)."""
        try:
            data = json.loads((self.root / STATUS_FILE).read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def save_status(self, statuses: Mapping[str, object]) -> None:
        temporary = self.root / (STATUS_FILE + ".part")
        temporary.write_text(json.dumps(statuses, indent=1, sort_keys=True))
        os.replace(temporary, self.root / STATUS_FILE)

    def read_validators(self, feed: str) -> dict[str, Validators]:
        try:
            data = json.loads((self.files(feed) / VALIDATORS_FILE).read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {name: found for name, value in data.items() if (found := Validators.from_json(value)) is not None}

    def current_files(self, feed: str, names: tuple[str, ...]) -> tuple[Path, ...] | None:
        """The feed's kept files for `names`, or None unless every one of them is there."""
        paths = tuple(self.files(feed) / name for name in names)
        return paths if paths and all(path.is_file() for path in paths) else None

    def promote(self, feed: str, downloaded: Mapping[str, Path], names: tuple[str, ...]) -> None:
        """Make the files of a built snapshot the feed's kept files: move the new ones in, drop names not listed."""
        folder = self.files(feed)
        folder.mkdir(parents=True, exist_ok=True)
        for name, path in downloaded.items():
            os.replace(path, folder / name)
        for stale in folder.iterdir():
            if stale.name != VALIDATORS_FILE and stale.name not in names:
                stale.unlink(missing_ok=True)

    def save_validators(self, feed: str, validators: Mapping[str, Validators]) -> None:
        folder = self.files(feed)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / (VALIDATORS_FILE + ".part")
        temporary.write_text(json.dumps({name: value.to_json() for name, value in validators.items()}, indent=1))
        os.replace(temporary, folder / VALIDATORS_FILE)

    def discard_incoming(self, feed: str) -> None:
        shutil.rmtree(self.incoming(feed), ignore_errors=True)
