"""The committed SDL (schema/schema.graphql) is the schema the gateway serves: CI fails on drift."""

from __future__ import annotations

from pathlib import Path

from gateway.edge.schema import build_schema

SDL = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_committed_sdl_matches_the_schema() -> None:
    served = build_schema().as_str().strip() + "\n"
    assert SDL.read_text(encoding="utf-8") == served, "schema changed: run `make schema` and commit schema.graphql"


def test_every_type_and_field_is_described() -> None:
    schema = build_schema()
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID", "Date", "DateTime", "Decimal"}:
            continue
        if not getattr(graphql_type, "description", None):
            missing.append(name)
        for field_name, field in getattr(graphql_type, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
            missing += [
                f"{name}.{field_name}({arg})"
                for arg, spec in getattr(field, "args", {}).items()
                if not spec.description
            ]
    assert missing == []
