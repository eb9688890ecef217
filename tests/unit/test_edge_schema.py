"""The schema's own graphql-core schema (strawberry keeps its one private): the same type system as the schema
strawberry executes, the same validation messages; and no module of the edge reads a private attribute of another
object (strawberry's in particular)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from graphql import get_introspection_query, graphql_sync

from gateway.edge.schema import build_schema, document_problems
from gateway.settings import Settings

EDGE = Path(__file__).resolve().parents[2] / "gateway" / "edge"
SCHEMA = build_schema(Settings(profile="dev"))  # introspection on


async def test_the_graphql_core_schema_is_the_type_system_strawberry_serves() -> None:
    query = get_introspection_query(descriptions=True, specified_by_url=True, input_value_deprecation=True)
    served = await SCHEMA.execute(query)
    assert served.errors is None
    assert by_name(graphql_sync(SCHEMA.graphql_schema, query).data) == by_name(served.data)


def by_name(introspection: dict[str, Any] | None) -> dict[str, Any]:
    """The introspection result with types, directives and an interface's implementations keyed by name (their order
    is not the type system)."""
    assert introspection is not None
    schema = dict(introspection["__schema"])
    schema["directives"] = {directive["name"]: directive for directive in schema["directives"]}
    schema["types"] = {
        named["name"]: {**named, "possibleTypes": sorted(t["name"] for t in named["possibleTypes"] or ())}
        for named in schema["types"]
    }
    return schema


@pytest.mark.parametrize(
    "document",
    [
        "{ leads { totalCount",
        "{ nope }",
        '{ leads(first: "ten") { totalCount } }',
        "{ contracts(filter: {sorces: [SAM]}) { totalCount } }",
        "query($n: Int) { leads { totalCount } }",
        "{ ...Missing }",
        "{ leads { totalCount } } { tenders { totalCount } }",
    ],
)
async def test_document_problems_are_what_execution_reports(document: str) -> None:
    result = await SCHEMA.execute(document)
    assert document_problems(SCHEMA, document) == [error.message for error in result.errors or []]


def test_a_valid_document_has_no_problems() -> None:
    assert document_problems(SCHEMA, "query Q($n: Int) { leads(first: $n) { totalCount } }") == []


def private_reads(source: str) -> list[str]:
    """`x._name` and `getattr(x, "_name")` where x is not `self` or `cls` (dunders allowed)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        name = None
        if isinstance(node, ast.Attribute):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in {"self", "cls"}):
                name = node.attr
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"getattr", "hasattr"}:
            literal = node.args[1] if len(node.args) > 1 else None
            if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                name = literal.value
        if name is not None and name.startswith("_") and not name.startswith("__"):
            found.append(f"{name} (line {node.lineno})")
    return found


def test_the_scan_finds_private_reads() -> None:
    assert private_reads("schema._schema\ngetattr(context, '_provided_operation_name')\nself._x\nx.__class__") == [
        "_schema (line 1)",
        "_provided_operation_name (line 2)",
    ]


@pytest.mark.parametrize("module", sorted(EDGE.glob("*.py")), ids=lambda path: path.name)
def test_no_edge_module_reads_private_attributes(module: Path) -> None:
    assert private_reads(module.read_text(encoding="utf-8")) == []
