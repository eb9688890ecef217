"""The upstreams the sandbox imitates, by the gateway's names for them.

The sandbox imports nothing from the gateway, so it keeps its own list; a test fails when it and the gateway's
registry (`gateway.upstreams.catalog.SPECS`) differ. Each imitation registers its routes as `<name>.<route>`.
"""

from __future__ import annotations

IMITATED_UPSTREAMS: tuple[str, ...] = (
    "ita",
    "canada",
    "sam",
    "canadabuys",
    "samopps",
    "contractsfinder",
    "findatender",
)
