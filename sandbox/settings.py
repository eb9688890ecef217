"""Sandbox settings: seed, dataset sizes, accepted keys, the UK publishers' pacing, optional recorded samples."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType

RECORDS_PER_SCALE = 3000
SAMOPPS_NOTICES = 600  # SAM opportunities in the first publication of the extract (and the API)
OCDS_PROCESSES = 240  # procurement processes (ocids) per UK OCDS publisher, each with one to five releases
FTS_PACE = (12, 120.0)  # Find a Tender: 12 requests per 2 minutes, as the live service counts them
CF_PACE = (600, 60.0)  # Contracts Finder: undocumented; generous, so paging tests never meet it by accident

# Demo keys of a fake server, not secrets: the sandbox accepts them the way the real upstreams accept issued keys.
DEFAULT_ITA_KEYS = frozenset({"ita-sandbox-key"})
# SAM keys map to their daily call quota (SAM's tiers: 10 / 1,000 / 10,000 calls a day).
DEFAULT_SAM_KEYS: Mapping[str, int] = MappingProxyType(
    {
        "sam-sandbox-key": 1_000,
        "sam-sandbox-key-nonfed": 10,
        "sam-sandbox-key-system": 10_000,
    }
)


@dataclass(frozen=True)
class SandboxSettings:
    seed: int = 1729
    scale: int = 1
    today: date | None = None
    samples_dir: Path | None = None
    ita_keys: frozenset[str] = DEFAULT_ITA_KEYS
    sam_keys: Mapping[str, int] = field(default_factory=lambda: DEFAULT_SAM_KEYS)
    samopps_notices: int = SAMOPPS_NOTICES
    ocds_processes: int = OCDS_PROCESSES
    # (requests, window seconds) admitted on the sandbox clock before Find a Tender answers 429/503 and Contracts
    # Finder 403; tests that run the gateway against the sandbox may loosen them (also a knob at run time).
    fts_pace: tuple[int, float] = FTS_PACE
    cf_pace: tuple[int, float] = CF_PACE

    @property
    def records_per_source(self) -> int:
        return RECORDS_PER_SCALE * self.scale

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxSettings:
        env = os.environ if environ is None else environ
        samples = env.get("SANDBOX_SAMPLES_DIR")
        return cls(
            seed=int(env.get("SANDBOX_SEED", "1729")),
            scale=int(env.get("SANDBOX_SCALE", "1")),
            samples_dir=Path(samples) if samples else None,
            fts_pace=parse_pace(env.get("SANDBOX_FTS_PACE"), FTS_PACE),
            cf_pace=parse_pace(env.get("SANDBOX_CF_PACE"), CF_PACE),
        )


def parse_pace(text: str | None, default: tuple[int, float]) -> tuple[int, float]:
    """`REQUESTS/SECONDS` (e.g. `12/120`), or the default when unset."""
    if not text:
        return default
    requests, _, seconds = text.partition("/")
    pace = (int(requests), float(seconds))
    if pace[0] < 1 or pace[1] <= 0:
        raise ValueError(f"a pace is REQUESTS/SECONDS with both positive, not {text!r}")
    return pace
