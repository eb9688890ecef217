"""`PageInfo.startCursor` and `endCursor` are encoded only when selected (as `Edge.cursor` is), and are then the
cursors of the first and the last edge; `search` gives them as the cursors it made."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest

import schema.common
from gateway.edge.cost import CostedRequestContext
from gateway.edge.schema import build_schema
from gateway.settings import Settings
from gateway.upstreams.deadline import Deadline
from schema.common import PageInfo, encode_cursor
from tests.schema.fakes import execute, standard_upstreams

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


@pytest.fixture
def encoded(monkeypatch: pytest.MonkeyPatch) -> list[Mapping[str, int | str]]:
    """The positions encoded into cursors, in order, however `encode_cursor` was imported (it is spied on through
    the JSON module it reads)."""
    calls: list[Mapping[str, int | str]] = []

    def dumps(positions: Mapping[str, int | str], **options: Any) -> str:
        calls.append(dict(positions))
        return json.dumps(positions, **options)

    monkeypatch.setattr(schema.common, "json", SimpleNamespace(dumps=dumps))
    return calls


@pytest.mark.parametrize("field", ["leads", "tenders", "contracts"])
async def test_no_cursor_is_encoded_unless_selected(field: str, encoded: list[Mapping[str, int | str]]) -> None:
    outcome = await execute(standard_upstreams(), f"{{ {field}(first: 3) {{ edges {{ node {{ id }} }} totalCount }} }}")
    assert not outcome.errors
    assert len(outcome.data[field]["edges"]) == 3  # type: ignore[index]
    assert encoded == []


@pytest.mark.parametrize("field", ["leads", "tenders", "contracts"])
async def test_selected_cursors_are_those_of_the_first_and_last_edge(
    field: str, encoded: list[Mapping[str, int | str]]
) -> None:
    query = f"{{ {field}(first: 3) {{ edges {{ cursor }} {PAGE_INFO} }} }}"
    outcome = await execute(standard_upstreams(), query)
    assert not outcome.errors
    connection = outcome.data[field]  # type: ignore[index]
    cursors = [edge["cursor"] for edge in connection["edges"]]
    assert connection["pageInfo"]["startCursor"] == cursors[0]
    assert connection["pageInfo"]["endCursor"] == cursors[-1]
    assert connection["pageInfo"]["hasNextPage"] is True
    assert len(encoded) == len(cursors) + 2


async def test_an_empty_page_has_no_cursors() -> None:
    after = encode_cursor({"ita": 25})  # past the fake ITA's 25 leads
    outcome = await execute(
        standard_upstreams(), f'{{ leads(first: 3, after: "{after}") {{ edges {{ cursor }} {PAGE_INFO} }} }}'
    )
    assert not outcome.errors
    connection = outcome.data["leads"]  # type: ignore[index]
    assert connection["edges"] == []
    assert (connection["pageInfo"]["startCursor"], connection["pageInfo"]["endCursor"]) == (None, None)


def test_a_page_info_encodes_positions_and_passes_a_cursor_as_given() -> None:
    info = PageInfo(has_next_page=True, has_previous_page=False, start={"ita": 3}, end="made-by-search")
    assert schema.common._start_cursor(info) == encode_cursor({"ita": 3})
    assert schema.common._end_cursor(info) == "made-by-search"


async def test_the_compiled_schema_encodes_page_cursors_only_when_selected(
    encoded: list[Mapping[str, int | str]],
) -> None:
    gateway_schema = build_schema(Settings())

    async def run(query: str) -> dict[str, object]:
        context = CostedRequestContext(upstreams=standard_upstreams(), deadline=Deadline.after(30.0), request_id="t")
        result = await gateway_schema.execute(query, context_value=context)
        assert not result.errors
        assert result.data is not None
        return result.data

    await run("{ leads(first: 2) { edges { node { id } } } }")
    assert encoded == []
    data = await run("{ leads(first: 2) { pageInfo { endCursor } } }")
    assert encoded == [{"ita": 2}]
    assert data == {"leads": {"pageInfo": {"endCursor": encode_cursor({"ita": 2})}}}
