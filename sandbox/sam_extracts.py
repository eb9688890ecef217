"""Asynchronous extracts (`format=json|csv`): a token now, the file on a later download.

The first download of a token answers the doc's "not generated yet" 400; every later one serves the file. Unknown
tokens answer the doc's "token is expired" 400. The file is served directly (JSON or CSV), not zipped.
"""

from __future__ import annotations

import csv
import io
import json
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox import sam_errors
from sandbox.sam_filters import document_of
from sandbox.sam_records import AwardRecord
from sandbox.sam_sections import select_sections

MAX_EXTRACT_RECORDS = 1_000_000
IN_PROGRESS_MESSAGE = "File generation is in progress. Download link will be emailed once ready."
_TOKEN_ALPHABET = string.ascii_letters + string.digits


@dataclass
class ExtractJob:
    file_format: str
    records: tuple[AwardRecord, ...]
    sections: frozenset[str] | None
    limit: int
    downloads: int = 0


@dataclass
class ExtractBoard:
    seed: int
    jobs: dict[str, ExtractJob] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._random = random.Random(f"sam-extract:{self.seed}")

    def create(self, file_format: str, records: list[AwardRecord], sections: frozenset[str] | None, limit: int) -> str:
        if len(records) > MAX_EXTRACT_RECORDS:
            raise sam_errors.extract_too_large(len(records))
        token = "".join(self._random.choices(_TOKEN_ALPHABET, k=10))
        self.jobs[token] = ExtractJob(file_format, tuple(records), sections, limit)
        return token

    def take(self, token: str) -> ExtractJob:
        job = self.jobs.get(token)
        if job is None:
            raise sam_errors.extract_token_expired()
        job.downloads += 1
        if job.downloads == 1:
            raise sam_errors.extract_not_ready()
        return job


def token_answer(origin: str, token: str) -> dict[str, str]:
    return {
        "presignedUrl": f"{origin}/contract-awards/v1/download?api_key=REPLACE_WITH_API_KEY&token={token}",
        "exportToken": token,
        "message": IN_PROGRESS_MESSAGE,
    }


def extract_file(job: ExtractJob) -> tuple[bytes, str]:
    """The file's bytes and content type."""
    items = [select_sections(document_of(record), job.sections) for record in job.records]
    if job.file_format == "csv":
        return _csv(items).encode("utf-8"), "text/csv"
    envelope = {"limit": str(job.limit), "offset": "null", "totalRecords": str(len(items)), "awardSummary": items}
    return json.dumps(envelope).encode("utf-8"), "application/json"


def _flatten(node: Any, prefix: str, row: dict[str, str]) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), row)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _flatten(item, f"{prefix}[{index}]", row)
    else:
        row[prefix] = "" if node is None else str(node)


def _csv(items: list[dict[str, Any]]) -> str:
    rows: list[dict[str, str]] = []
    for item in items:
        row: dict[str, str] = {}
        _flatten(item, "", row)
        rows.append(row)
    columns = list(dict.fromkeys(column for row in rows for column in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
