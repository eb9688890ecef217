"""The trade leads the ITA imitation serves: seeded generated leads, or the recorded fixtures when samples are set."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

from sandbox.ita_generator import elasticsearch_id, generated_leads
from sandbox.ita_leads import FIELDS, SOURCES, FieldValue, Lead, LeadSet, SourceMetadata
from sandbox.settings import RECORDS_PER_SCALE, SandboxSettings

SAMPLE_FOLDERS = {
    "AUSTRALIA": "australia",
    "CANADA": "canada",
    "FBO": "fbopen",
    "STATE": "state",
    "UK": "uk",
    "MCA": "mca",
    "USTDA": "ustda",
}
SAMPLE_RESULTS = "trade-leads/webservices/spec/support/trade_leads/{folder}/results.json"
SAMPLES_IMPORTED_AT = "2016-07-20T10:15:02+00:00"


def dataset_today(settings: SandboxSettings) -> date:
    return settings.today or datetime.now(UTC).date()


@lru_cache(maxsize=8)
def leads_for(seed: int, scale: int, today: date, samples_dir: Path | None) -> LeadSet:
    """Memoised: tests start many sandboxes on the same settings."""
    if samples_dir is not None:
        return recorded_leads(samples_dir)
    return generated_leads(seed, RECORDS_PER_SCALE * scale, today)


def recorded_leads(samples_dir: Path) -> LeadSet:
    """The expected-result fixtures of the upstream's own specs, as it rendered them (not re-filtered by date)."""
    leads: list[Lead] = []
    for source in SOURCES:
        path = samples_dir / SAMPLE_RESULTS.format(folder=SAMPLE_FOLDERS[source])
        for position, record in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            # Canada's fixture strips the auto-generated Elasticsearch id.
            lead_id = record.get("id") or elasticsearch_id(f"{source}:{position}:{record.get('contract_number')}")
            values = tuple(_as_value(record[name]) for name in FIELDS[source])
            leads.append(Lead(str(lead_id), source, values))
    metadata = {source: SourceMetadata(SAMPLES_IMPORTED_AT, SAMPLES_IMPORTED_AT, "Daily") for source in SOURCES}
    return LeadSet(tuple(leads), metadata)


def _as_value(raw: object) -> FieldValue:
    if isinstance(raw, list):
        return tuple(str(item) for item in raw)
    if raw is None or isinstance(raw, str | int):
        return raw
    return str(raw)
