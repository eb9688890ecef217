"""The caller's inputs, checked before execution and before the cost is charged: the variables coerced to their
declared types, the arguments of every field and directive the operation would execute resolved (literals,
variables, defaults), and every page size `first` within 1..MAX_PAGE_SIZE.

graphql-core finds the first kind only after the cost decision, and the second only while executing, as a field
error with partial data; here each is BAD_USER_INPUT, a request error (HTTP 400), and nothing is charged. What makes
an error BAD_USER_INPUT is where it was found, never its message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
    type_from_ast,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values, get_variable_values
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from gateway.errors import BadUserInput
from schema.common import MAX_PAGE_SIZE

PAGE_SIZE_ARGUMENT = "first"
_META_FIELDS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}  # on the query type only


def bad_user_input(error: GraphQLError) -> GraphQLError:
    """`error`, coded BAD_USER_INPUT (graphql-core's own input errors carry no code)."""
    return GraphQLError(
        error.message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        {**(error.extensions or {}), "code": BadUserInput.code},
    )


def input_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    *,
    max_errors: int,
    hide_suggestions: bool = False,
) -> list[GraphQLError]:
    """Every problem of the caller's inputs to the operation `operation_name` of a valid `document`, coded
    BAD_USER_INPUT, at most `max_errors`; none when the operation is not found (execution says why)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return []
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), dict(variables or {}), max_errors, hide_suggestions
    )
    if isinstance(coerced, list):
        return [bad_user_input(error) for error in coerced[:max_errors]]
    root = schema.query_type if operation.operation.value == "query" else None
    if root is None:
        return []
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walk = _ArgumentWalk(schema, fragments, coerced, max_errors, hide_suggestions)
    try:
        walk.selection_set(operation.selection_set, root)
    except RecursionError:  # deeper than the query limits let through: execution reports what it finds
        return []
    return [bad_user_input(error) for error in walk.errors]


class _ArgumentWalk:
    """Resolves the arguments of every field the operation would execute (fragments once each, @skip/@include
    honoured as execution honours them)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
        max_errors: int,
        hide_suggestions: bool,
    ) -> None:
        self.errors: list[GraphQLError] = []
        self._schema = schema
        self._fragments = fragments
        self._variables = variables
        self._max_errors = max_errors
        self._hide_suggestions = hide_suggestions
        self._walked: set[str] = set()

    def selection_set(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> None:
        for selection in selection_set.selections:
            if not isinstance(selection, FieldNode | InlineFragmentNode | FragmentSpreadNode):
                continue  # pragma: no cover - graphql-core has no other selection kinds
            if len(self.errors) >= self._max_errors or not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                named = type_from_ast(self._schema, condition) if condition else parent
                if named is not None:
                    self.selection_set(selection.selection_set, get_named_type(named))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments.get(selection.name.value)
                if fragment is None or fragment.name.value in self._walked:
                    continue
                self._walked.add(fragment.name.value)
                named = type_from_ast(self._schema, fragment.type_condition)
                if named is not None:
                    self.selection_set(fragment.selection_set, get_named_type(named))

    def _included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        if not node.directives:
            return True
        try:
            skip = get_directive_values(GraphQLSkipDirective, node, self._variables)
            include = get_directive_values(GraphQLIncludeDirective, node, self._variables)
        except GraphQLError as error:
            self.errors.append(error)
            return False
        return not (skip is not None and skip["if"]) and not (include is not None and not include["if"])

    def _field(self, node: FieldNode, parent: GraphQLNamedType) -> None:
        name = node.name.value
        definition = _META_FIELDS.get(name) if parent is self._schema.query_type else None
        if definition is None and isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
        if definition is None:  # __typename, or a field validation refused
            return
        try:
            arguments = get_argument_values(definition, node, self._variables, hide_suggestions=self._hide_suggestions)
        except GraphQLError as error:
            self.errors.append(error)
            return
        page_size = arguments.get(PAGE_SIZE_ARGUMENT)
        if isinstance(page_size, int) and not 1 <= page_size <= MAX_PAGE_SIZE:
            given = next((arg for arg in node.arguments or () if arg.name.value == PAGE_SIZE_ARGUMENT), node)
            self.errors.append(
                GraphQLError(
                    f"`{PAGE_SIZE_ARGUMENT}` must be between 1 and {MAX_PAGE_SIZE}",
                    given,
                    extensions={"argument": PAGE_SIZE_ARGUMENT},
                )
            )
        if node.selection_set is not None:
            self.selection_set(node.selection_set, get_named_type(definition.type))
