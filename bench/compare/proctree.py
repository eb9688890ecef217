"""From /proc (Linux): CPU and memory of a process and its descendants (a gateway may run helpers), and how busy a
core is."""

from __future__ import annotations

import os
from pathlib import Path


def pids(root: int) -> list[int]:
    """`root` and every live descendant (through /proc/<pid>/task/<tid>/children)."""
    found: list[int] = []
    pending = [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def cpu_s(root: int) -> float:
    """User + system CPU seconds of the live tree (utime and stime, fields 14 and 15 of stat(5))."""
    total = 0
    for pid in pids(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def core_busy_s(core: int) -> float:
    """Seconds one CPU has been busy (anything but idle and iowait) since boot, from /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        name, *ticks = line.split()
        if name == f"cpu{core}":
            values = [int(tick) for tick in ticks]
            return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _status_kib(root: int, key: str) -> int:
    total = 0
    for pid in pids(root):
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in lines if line.startswith(key)), 0)
    return total


def rss_kib(root: int) -> int:
    """Resident set size now (VmRSS), summed over the tree."""
    return _status_kib(root, "VmRSS:")


def peak_rss_kib(root: int) -> int:
    """Peak resident set size (VmHWM), summed over the tree's live processes."""
    return _status_kib(root, "VmHWM:")
