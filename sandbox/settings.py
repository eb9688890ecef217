"""Sandbox settings: seed, dataset size, accepted keys, optional recorded samples."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType

RECORDS_PER_SCALE = 3000

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
        )
