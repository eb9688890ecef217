"""The estimated cost of an operation, from the document, its variables and a cost table alone (pure, no I/O).

Cost counts upstream calls: every field that asks an upstream costs its calls (the `CostTable`: how many calls each
field makes, derived from the upstream specs by the resolvers, see `resolvers.costs`), a list field with `first` costs
that times max(1, ceil(first / 10)) (one upstream page per 10 results asked), and a field under such a list costs once
per result (`contracts(first: 50) { edges { node { awardFamily { count } } } }` costs 2 x 5 + 50 with SAM and Canada
serving contracts). `search` costs per page the calls of the kinds selected under it, whatever its `kinds`.
`@skip`/`@include` are ignored (the estimate is an upper bound). The per-query maximum is a setting; per-tier budgets
use the same number.

The work is linear in the document: each fragment is costed once per parent type, for one resolution of its parent,
and scaled at every spread (cost is linear in the number of results above it). Costs saturate at `MAX_COST`, so
fragments that spread the next one twice, 60 levels deep, cost `MAX_COST` instead of 2^60 arithmetic.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql.utilities import get_operation_ast

from schema.common import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

FieldKey = tuple[str, str]  # (parent type, field), e.g. ("Query", "contracts")


@dataclasses.dataclass(frozen=True)
class CostTable:
    """Upstream calls per field. `calls`: calls each time the field resolves. `calls_by_selected_field`: for a field
    that asks upstreams only for what is selected under it (`search`), calls per page by the field name selected."""

    calls: Mapping[FieldKey, int] = dataclasses.field(default_factory=dict)
    calls_by_selected_field: Mapping[FieldKey, Mapping[str, int]] = dataclasses.field(default_factory=dict)


PAGE_ARGUMENT = "first"
RESULTS_PER_UPSTREAM_PAGE = 10
# Estimates saturate here (the largest integer a JSON number holds exactly), far above any per-query maximum.
MAX_COST = 2**53 - 1

_Fields = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType  # a union's only field is __typename


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    costs: CostTable,
) -> int:
    """The cost of the operation that `operation_name` selects (0 when none can be selected)."""
    operation = get_operation_ast(document, operation_name)
    root = schema.query_type
    if operation is None or root is None:
        return 0
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walker = _CostWalker(schema, fragments, operation, variables or {}, costs)
    return walker.selection_set(operation.selection_set, root)


class _CostWalker:
    """Costs selection sets for one resolution of their parent; a field's children cost once per result."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        costs: CostTable,
    ) -> None:
        self._schema = schema
        self._costs = costs
        self._fragments = fragments
        self._variables = variables
        self._defaults = {
            definition.variable.name.value: definition.default_value
            for definition in operation.variable_definitions or ()
        }
        self._costed: dict[tuple[str, str], int] = {}
        self._expanding: set[str] = set()
        self._fragment_keys: dict[str, dict[str, str]] = {}
        self._collecting: set[str] = set()

    def selection_set(self, selection_set: SelectionSetNode | None, parent: _Fields) -> int:
        cost = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                cost += self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = self._type(selection.type_condition.name.value) if selection.type_condition else parent
                cost += self.selection_set(selection.selection_set, condition or parent)
            elif isinstance(selection, FragmentSpreadNode):
                cost += self._spread(selection.name.value, parent)
            cost = min(cost, MAX_COST)
        return cost

    def _field(self, field: FieldNode, parent: _Fields) -> int:
        definition = None if isinstance(parent, GraphQLUnionType) else parent.fields.get(field.name.value)
        if definition is None:  # introspection or an unknown field (validation reports it): no upstream call
            return 0
        page = self._page_size(field) if PAGE_ARGUMENT in definition.args else None
        key = parent.name, field.name.value
        calls = self._costs.calls.get(key, 0)
        by_field = self._costs.calls_by_selected_field.get(key)
        if by_field is not None:
            calls = sum(by_field.get(name, 0) for name in self._response_keys(field.selection_set).values())
        cost = 0
        if calls:
            cost += calls * (1 if page is None else max(1, math.ceil(page / RESULTS_PER_UPSTREAM_PAGE)))
        child = get_named_type(definition.type)
        if isinstance(child, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType) and field.selection_set:
            cost += (page or 1) * self.selection_set(field.selection_set, child)
        return min(cost, MAX_COST)

    def _spread(self, name: str, parent: _Fields) -> int:
        key = name, parent.name
        if key in self._costed:
            return self._costed[key]
        fragment = self._fragments.get(name)
        if fragment is None or name in self._expanding:  # unknown or cyclic: validation reports it
            return 0
        self._expanding.add(name)
        condition = self._type(fragment.type_condition.name.value) or parent
        cost = self.selection_set(fragment.selection_set, condition)
        self._expanding.discard(name)
        self._costed[key] = cost
        return cost

    def _response_keys(self, selection_set: SelectionSetNode | None) -> dict[str, str]:
        """Response key -> field name of the fields selected (fragments expanded, each fragment read once)."""
        keys: dict[str, str] = {}
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                keys[(selection.alias or selection.name).value] = selection.name.value
            elif isinstance(selection, InlineFragmentNode):
                keys |= self._response_keys(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                keys |= self._fragment_response_keys(selection.name.value)
        return keys

    def _fragment_response_keys(self, name: str) -> dict[str, str]:
        if name in self._fragment_keys:
            return self._fragment_keys[name]
        fragment = self._fragments.get(name)
        if fragment is None or name in self._collecting:  # unknown or cyclic: validation reports it
            return {}
        self._collecting.add(name)
        keys = self._response_keys(fragment.selection_set)
        self._collecting.discard(name)
        self._fragment_keys[name] = keys
        return keys

    def _type(self, name: str) -> _Fields | None:
        found = self._schema.get_type(name)
        return found if isinstance(found, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType) else None

    def _page_size(self, field: FieldNode) -> int:
        value: object = DEFAULT_PAGE_SIZE
        for argument in field.arguments or ():
            if argument.name.value != PAGE_ARGUMENT:
                continue
            node = argument.value
            if isinstance(node, VariableNode):
                name = node.name.value
                default = self._defaults.get(name)
                value = self._variables.get(name, int(default.value) if isinstance(default, IntValueNode) else None)
            elif isinstance(node, IntValueNode):
                value = int(node.value)
        if not isinstance(value, int) or isinstance(value, bool):
            value = DEFAULT_PAGE_SIZE
        return min(max(value, 1), MAX_PAGE_SIZE)
