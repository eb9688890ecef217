"""Fixtures of the sandbox tests: the upstream documentation folder (doc examples, the OCDS schemas)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def docs_root() -> Path:
    """UPSTREAM_DOCS_DIR, else ../shared/upstream-docs (beside the recorded samples)."""
    return Path(os.environ.get("UPSTREAM_DOCS_DIR") or REPO_ROOT.parent / "shared" / "upstream-docs").resolve()


@pytest.fixture(scope="session")
def upstream_docs() -> Path:
    """The upstream documentation; missing, it fails under CI and skips (loudly) elsewhere, like the samples."""
    root = docs_root()
    if root.is_dir():
        return root
    message = f"upstream documentation not found at {root} (set UPSTREAM_DOCS_DIR)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def ocds_release_schema(upstream_docs: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (upstream_docs / "uk-ocds" / "ocds-1.1.5-release-schema.json").read_text(encoding="utf-8")
    )
    return schema
