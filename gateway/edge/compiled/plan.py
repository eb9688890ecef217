"""Completion plans: the objects and lists of a result completed in one pass, as graphql-core would complete them.

graphql-core completes every field of every object on its own: a path, an `info`, the argument values, the resolver
through strawberry's wrapper, then `complete_value`'s walk over the type (a page of 30 records with a few fields is
some 2,000 such steps). Most fields of a page do not need any of it: they read an attribute (strawberry's "basic"
fields) or call a plain resolver that wants neither `info` nor awaiting (`Edge.cursor`, `Tender.title(language)`).
For an object whose whole selection is of such fields, `PlannedExecutionContext` plans the completion once per
execution (fields collected by graphql-core itself, `@skip`/`@include` and fragments resolved, arguments read once)
and runs it per object: the same values, in the same order, through the same `coerce_output_value` of each leaf.

Anything else keeps graphql-core's own path: an abstract type, a field with an asynchronous resolver or one that
asks for `info`, field extensions, directives on a field (`@defer`, `@stream`). Errors too: a plan never reports
one. Where a value would need an error (null in a non-null position, a leaf that does not coerce, a resolver that
raises, an Exception as a value, an object of another type), the plan gives up (`_Unplanned`) and graphql-core
completes that object or list again from the start, with its paths and located errors; a planned resolver has no
side effects to repeat (it reads its object). `tests/unit/test_completion_plans.py` holds both paths equal on every
document of the docs and of the e2e corpus.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.values import get_argument_values
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField
from typing_extensions import override

from gateway.edge.compiled.resolvers import ArgumentPlan, Planner

Complete = Callable[[Any], Any]
TYPENAME = "__typename"
CONDITIONS = frozenset({"skip", "include"})


class _Unplanned(Exception):
    """The value needs graphql-core's own completion (an error to report, or a shape the plan does not cover)."""


def _read_attribute(field: StrawberryField) -> Callable[[Any], Any]:
    resolve = field.default_resolver
    if resolve is getattr:
        return operator.attrgetter(field.python_name)
    name = field.python_name
    return lambda source: resolve(source, name)


def _strawberry_is_type_of(graphql_type: GraphQLObjectType) -> bool:
    """Whether the type's `is_type_of` is strawberry's own (which reads only the object, never `info`)."""
    check = graphql_type.is_type_of
    return check is None or getattr(check, "__qualname__", "").endswith("_get_is_type_of.<locals>.is_type_of")


class PlannedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, completing planned objects and lists in one pass (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Keyed like graphql-core's own memo of collected subfields: by type and the identity of the field group,
        # kept alive with the plan so that its id is not reused during the execution.
        self._object_plans: dict[tuple[GraphQLObjectType, int], tuple[object, Complete | None]] = {}
        self._planner: Planner | None = None

    # -- graphql-core's hooks ------------------------------------------------------------------------------------

    @override
    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        plan = self._object_plan(return_type, field_details_list)
        if plan is not None:
            with suppress(Exception):  # whatever it is, graphql-core's completion below reports it
                return plan(result)
        return super().complete_object_value(return_type, field_details_list, info, path, result, position_context)

    @override
    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if type(result) in (list, tuple) and _conditions_only(field_details_list):
            complete = self._completion(return_type.of_type, field_details_list)
            if complete is not None:
                with suppress(Exception):  # see complete_object_value
                    return [complete(item) for item in result]
        return super().complete_list_value(return_type, field_details_list, info, path, result, position_context)

    # -- planning ------------------------------------------------------------------------------------------------

    def _completion(self, output_type: GraphQLOutputType, field_details_list: Any) -> Complete | None:
        """How a value of `output_type` selected by `field_details_list` completes, or None where it is not planned."""
        if is_non_null_type(output_type):
            assert isinstance(output_type, GraphQLNonNull)
            inner = self._completion(output_type.of_type, field_details_list)
            return None if inner is None else _non_null(inner)
        if is_list_type(output_type):
            assert isinstance(output_type, GraphQLList)
            if not _conditions_only(field_details_list):  # @stream
                return None
            item = self._completion(output_type.of_type, field_details_list)
            return None if item is None else _nullable(_list_of(item))
        if is_leaf_type(output_type):
            assert isinstance(output_type, GraphQLLeafType)
            return _nullable(_leaf(output_type))
        if is_object_type(output_type):
            assert isinstance(output_type, GraphQLObjectType)
            plan = self._object_plan(output_type, field_details_list)
            return None if plan is None else _nullable(plan)
        return None  # abstract types: graphql-core resolves the runtime type

    def _object_plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        key = (object_type, id(field_details_list))
        known = self._object_plans.get(key)
        if known is not None:
            return known[1]
        self._object_plans[key] = (field_details_list, None)  # a type selecting itself below is not planned
        plan = self._plan_object(object_type, field_details_list)
        self._object_plans[key] = (field_details_list, plan)
        return plan

    def _plan_object(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        if not _strawberry_is_type_of(object_type):
            return None
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        steps: list[tuple[str, Callable[[Any], Any], Complete]] = []
        for response_name, field_group in grouped_field_set.items():
            if not _conditions_only(field_group):
                return None
            name = field_group[0].node.name.value
            if name == TYPENAME:
                steps.append((response_name, _constant(object_type.name), _identity))
                continue
            field_def = self.schema.get_field(object_type, name)
            if field_def is None:
                continue  # graphql-core leaves it out too (validation refuses it before)
            read = self._reader(field_def, field_group)
            complete = None if read is None else self._completion(field_def.type, field_group)
            if read is None or complete is None:
                return None
            steps.append((response_name, read, complete))
        return _object(object_type, tuple(steps))

    def _reader(self, field_def: GraphQLField, field_group: Any) -> Callable[[Any], Any] | None:
        """What gives the field's value from its object, where it needs no `info` and nothing to await."""
        field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(field, StrawberryField) or field.extensions:
            return None
        if getattr(field_def.resolve, "_is_default", False):
            return _read_attribute(field)
        resolver = field.base_resolver
        if resolver is None or field.is_async or resolver.info_parameter is not None:
            return None
        plan = ArgumentPlan(field, self._argument_planner())
        if not plan.planned:
            return None
        details = field_group[0]
        raw = (
            get_argument_values(
                field_def,
                details.node,
                self.variable_values,
                details.fragment_variable_values,
                self.hide_suggestions,
            )
            if field_def.args or details.node.arguments
            else {}
        )
        kwargs = plan.kwargs(raw, None)
        wants_self = resolver.self_parameter is not None
        for parameter in (resolver.parent_parameter, resolver.root_parameter):
            if parameter is not None:
                kwargs[parameter.name] = None  # set per object below
        source_names = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
        is_awaitable = self.is_awaitable

        def call(source: Any) -> Any:
            for source_name in source_names:
                kwargs[source_name] = source
            value = resolver(source, **kwargs) if wants_self else resolver(**kwargs)
            if is_awaitable(value):  # graphql-core awaits it (and calls the resolver again): this one never runs
                close = getattr(value, "close", None)
                if close is not None:
                    close()
                raise _Unplanned
            return value

        return call

    def _argument_planner(self) -> Planner:
        if self._planner is None:
            self._planner = planner_of(self.schema)
        return self._planner


_PLANNERS: dict[int, tuple[object, Planner]] = {}


def planner_of(schema: Any) -> Planner:
    """The argument planner of the strawberry schema behind a GraphQL schema (one per schema, made once)."""
    known = _PLANNERS.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    converter = schema.extensions[GraphQLCoreConverter.DEFINITION_BACKREF].schema_converter
    planner = Planner(converter)
    _PLANNERS[id(schema)] = (schema, planner)
    return planner


def _conditions_only(field_details_list: Any) -> bool:
    """Whether the fields carry no directive but `@skip` and `@include` (which collecting them has applied)."""
    return all(
        directive.name.value in CONDITIONS
        for details in field_details_list
        for directive in details.node.directives or ()
    )


def _constant(value: str) -> Callable[[Any], str]:
    return lambda _source: value


def _identity(value: Any) -> Any:
    return value


def _non_null(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        completed = inner(value)  # None for None
        if completed is None:
            raise _Unplanned
        return completed

    return complete


def _nullable(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception):
            raise _Unplanned
        return inner(value)

    return complete


def _list_of(item: Complete) -> Complete:
    def complete(value: Any) -> list[Any]:
        if type(value) not in (list, tuple):
            raise _Unplanned
        return [item(each) for each in value]

    return complete


def _leaf(leaf_type: GraphQLLeafType) -> Complete:
    coerce = leaf_type.coerce_output_value

    def complete(value: Any) -> Any:
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Unplanned
        return coerced

    return complete


def _object(object_type: GraphQLObjectType, steps: tuple[tuple[str, Callable[[Any], Any], Complete], ...]) -> Complete:
    is_type_of = object_type.is_type_of

    def complete(value: Any) -> dict[str, Any]:
        if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]  # strawberry's: no info
            raise _Unplanned
        return {response_name: finish(read(value)) for response_name, read, finish in steps}

    return complete
