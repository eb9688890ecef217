"""A generated CanadaBuys open-tender-notice file the size of the real complete archive (30,126 notices, 183 MB).

Notices are the sandbox's generated tenders written as CanadaBuys rows (`sandbox.canadabuys_data.tender_row`: the
67 bilingual columns, BOM, every field quoted), so that a keyword + GSIN + region query finds what the sandbox would.
Each row's size is drawn from the real sample rows' sizes (`upstream-samples/canadabuys`), scaled so that the file
reaches `target_bytes`: the bilingual descriptions are lengthened with the samples' own description text (HTML
entities included). Rows are written one at a time: the file is never held in memory.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sandbox.canada_data import generate_tenders
from sandbox.canadabuys_data import TENDER_HEADER, tender_row

SAMPLE = Path("canadabuys") / "openTenderNotice_sample_12rows.csv"
DESCRIPTION_EN = "tenderDescription-descriptionAppelOffres-eng"
DESCRIPTION_FR = "tenderDescription-descriptionAppelOffres-fra"
ARCHIVE_NOTICES = 30_000
ARCHIVE_BYTES = 180 * 1000 * 1000  # the real complete archive: 183,077,895 B for 30,126 notices
CSV_FIELD_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class SampleRows:
    """What the real sample rows say: each row's size in bytes, and their descriptions as text to draw from."""

    sizes: tuple[int, ...]
    english: str
    french: str

    @classmethod
    def read(cls, samples_dir: Path) -> SampleRows:
        csv.field_size_limit(CSV_FIELD_LIMIT)
        with (samples_dir / SAMPLE).open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            raise ValueError(f"{samples_dir / SAMPLE} holds no rows")
        sizes = tuple(sum(len(cell.encode()) + 3 for cell in row.values()) for row in rows)
        english = " ".join(row[DESCRIPTION_EN] for row in rows if row[DESCRIPTION_EN])
        french = " ".join(row[DESCRIPTION_FR] for row in rows if row[DESCRIPTION_FR])
        return cls(sizes, english, french)


def _excerpt(text: str, size: int, rng: random.Random) -> str:
    """About `size` bytes of `text` from a random place, cut at spaces (repeated when `text` is shorter)."""
    if size <= 0 or not text:
        return ""
    start = rng.randrange(len(text))
    found = (text[start:] + " " + text) * (size // max(len(text), 1) + 2)
    cut = found[:size]
    return cut[cut.find(" ") + 1 : cut.rfind(" ")] if " " in cut else cut


def rows(samples: SampleRows, *, notices: int, target_bytes: int, today: date, seed: int) -> Iterator[dict[str, str]]:
    """`notices` generated rows whose sizes follow the samples', scaled to `target_bytes` in all."""
    rng = random.Random(f"{seed}:bench-mirror")
    scale = target_bytes / (notices * (sum(samples.sizes) / len(samples.sizes)))
    tender_rng = random.Random(f"{seed}:canadabuys:tenders")
    for index, (tender, searchable) in enumerate(generate_tenders(seed, notices, today)):
        row = tender_row(tender, searchable.words, index, tender_rng, today=today, revision=0)
        wanted = int(rng.choice(samples.sizes) * scale * rng.uniform(0.8, 1.2))
        missing = wanted - sum(len(cell.encode()) + 3 for cell in row.values())
        if missing > 0:  # the descriptions carry the size, about 45 % English and 55 % French as in the samples
            row[DESCRIPTION_EN] += "\n" + _excerpt(samples.english, missing * 45 // 100, rng)
            row[DESCRIPTION_FR] += "\n" + _excerpt(samples.french, missing * 55 // 100, rng)
        yield row


def write_feed(path: Path, samples: SampleRows, *, notices: int, target_bytes: int, today: date, seed: int) -> int:
    """The file as CanadaBuys publishes it (UTF-8 with a BOM, every field quoted, CRLF); its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as output:
        writer = csv.writer(output, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(TENDER_HEADER)
        for row in rows(samples, notices=notices, target_bytes=target_bytes, today=today, seed=seed):
            writer.writerow([row.get(column, "") for column in TENDER_HEADER])
    return path.stat().st_size
