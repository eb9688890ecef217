"""Field resolvers compiled once per schema, doing what strawberry's resolver wrapper does per call, planned ahead.

For every field with a resolver of its own, strawberry wraps the resolver in one that, on each call, builds the
`Info`, converts the GraphQL arguments into Python values (`convert_arguments`: for each input field it resolves the
field's type, derives its GraphQL name and walks the type again), passes the source, `info` and `root`/`parent` as
the resolver asked, and runs field extensions and exception handlers. The walk over an input type is the same on
every call: `compile_schema` plans it once per argument (`ArgumentPlan`), and gives each field a resolver that does
only the per-call work. A field with field extensions or exception handlers, and any argument of a type the plan
does not cover (`Maybe`, an input with `from_input`, `GlobalID`, an unsupported type), keeps strawberry's own code
(for that argument: `convert_argument`), so each value handed to a resolver is the one strawberry would hand it.
`tests/unit/test_compiled_resolvers.py` holds the two paths equal over every document of the docs and the e2e suite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo
from strawberry import Schema
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import StrawberryArgument, convert_argument
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET
from strawberry.utils.await_maybe import await_maybe

Convert = Callable[[Any], Any]
Registry = Mapping[object, Any]


def _identity(value: Any) -> Any:
    return value


def _is_leaf(type_: object, registry: Registry) -> bool:
    """strawberry's `_is_leaf_type`: a scalar, an enum definition, or a lazy reference to one."""
    if is_scalar(type_, registry) or isinstance(type_, StrawberryEnumDefinition):
        return True
    return isinstance(type_, LazyType) and _is_leaf(type_.resolve_type(), registry)


class Planner:
    """Converters for the types of one schema: each does what `convert_argument` does for its type, or is None
    where strawberry's own conversion must run."""

    def __init__(self, converter: GraphQLCoreConverter) -> None:
        self.config = converter.config
        self.registry: Registry = converter.scalar_registry
        # By id, with the type kept alive, so that no other object takes its id while the plan is made.
        self._planned: dict[int, tuple[object, Convert | None]] = {}
        self._planning: set[int] = set()

    def convert(self, type_: object) -> Convert | None:
        key = id(type_)
        if key in self._planned:
            return self._planned[key][1]
        if key in self._planning:  # a recursive input type: strawberry's own conversion
            return None
        self._planning.add(key)
        try:
            planned = self._plan(type_)
        finally:
            self._planning.discard(key)
        self._planned[key] = (type_, planned)
        return planned

    def _plan(self, type_: object) -> Convert | None:
        if isinstance(type_, StrawberryMaybe):
            return None
        if isinstance(type_, StrawberryOptional):
            return self.convert(type_.of_type)  # its inner conversion starts with None and UNSET as they are
        if isinstance(type_, StrawberryList):
            item = type_.of_type
            inner = item.of_type if isinstance(item, StrawberryOptional) else item
            if inner is not GlobalID and _is_leaf(inner, self.registry):
                return _plain(list)  # a copy: graphql-core shares defaults between requests
            item_convert = self.convert(item)
            return None if item_convert is None else _plain(_list_of(item_convert))
        if _is_leaf(type_, self.registry):
            return None if type_ is GlobalID else _plain(_identity)
        if isinstance(type_, LazyType):
            return self.convert(type_.resolve_type())
        if has_enum_definition(type_):
            return _plain(_identity)
        if has_object_definition(type_):
            return self._plan_input(type_)
        return None

    def _plan_input(self, type_: Any) -> Convert | None:
        definition = type_.__strawberry_definition__
        if definition.from_input is not None:
            return None
        implicit: dict[str, Any] = {}
        if definition.is_input:  # strawberry's implicit None for fields without a default
            implicit = {
                field.python_name: None
                for field in definition.fields
                if field.default_value is MISSING and field.default_factory is MISSING
            }
        fields: list[tuple[str, str, Convert]] = []
        for field in definition.fields:
            convert = self.convert(field.resolve_type(type_definition=definition))
            if convert is None:
                return None
            fields.append((self.config.name_converter.from_field(field), field.python_name, convert))

        def build(value: Any) -> Any:
            kwargs = dict(implicit)
            for graphql_name, python_name, convert in fields:
                if graphql_name in value:
                    kwargs[python_name] = convert(value[graphql_name])
            return type_(**kwargs)

        return _plain(build)


def _plain(convert: Convert) -> Convert:
    """`convert` for present values; None and UNSET pass as they are (as in `convert_argument`)."""

    def converted(value: Any) -> Any:
        if value is None or value is UNSET:
            return value
        return convert(value)

    return converted


def _list_of(item: Convert) -> Convert:
    def converted(values: Any) -> Any:
        return [item(value) for value in values]

    return converted


class ArgumentPlan:
    """How one field's GraphQL arguments become the resolver's keyword arguments (`convert_arguments`, planned)."""

    def __init__(self, field: StrawberryField, planner: Planner) -> None:
        self._config = planner.config
        self._registry = planner.registry
        self.steps: list[tuple[str, str, Convert | None, StrawberryArgument]] = []
        for argument in field.arguments:
            assert argument.python_name
            name = planner.config.name_converter.from_argument(argument)
            self.steps.append((name, argument.python_name, planner.convert(argument.type), argument))

    @property
    def planned(self) -> bool:
        return all(convert is not None for _, _, convert, _ in self.steps)

    def kwargs(self, raw: Mapping[str, Any], info: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for name, python_name, convert, argument in self.steps:
            if name in raw:
                value = raw[name]
                if convert is None:
                    kwargs[python_name] = convert_argument(
                        value, argument.type, self._registry, self._config, info, path=(name,)
                    )
                else:
                    kwargs[python_name] = convert(value)
        return kwargs


def compiled_resolver(field: StrawberryField, plan: ArgumentPlan, info_class: Any) -> Callable[..., Any]:
    """The resolver strawberry's wrapper amounts to for `field` (no field extensions, no exception handlers)."""
    resolver = field.base_resolver
    assert resolver is not None
    wants_self = resolver.self_parameter is not None
    parent = resolver.parent_parameter.name if resolver.parent_parameter else None
    root = resolver.root_parameter.name if resolver.root_parameter else None
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    has_arguments = bool(plan.steps)

    def call(source: Any, info: GraphQLResolveInfo[Any], raw: Mapping[str, Any]) -> Any:
        strawberry_info = info_class(_raw_info=info, _field=field)
        kwargs = plan.kwargs(raw, strawberry_info) if has_arguments else {}
        if parent is not None:
            kwargs[parent] = source
        if root is not None:
            kwargs[root] = source
        if info_name is not None:
            kwargs[info_name] = strawberry_info
        return resolver(source, **kwargs) if wants_self else resolver(**kwargs)

    if field.is_async:

        async def resolve_async(source: Any, info: GraphQLResolveInfo[Any], **raw: Any) -> Any:
            return await await_maybe(call(source, info, raw))

        return resolve_async

    def resolve(source: Any, info: GraphQLResolveInfo[Any], **raw: Any) -> Any:
        return call(source, info, raw)

    return resolve


def compile_schema(schema: Schema) -> int:
    """Gives every field of `schema` that strawberry wraps a compiled resolver; how many fields got one."""
    converter = schema.schema_converter
    if converter.exception_handlers:
        return 0
    planner = Planner(converter)
    info_class = converter.config.info_class
    compiled = 0
    for named in schema._schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for graphql_field in named.fields.values():
            field = graphql_field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(field, StrawberryField) or field.base_resolver is None or field.extensions:
                continue
            plan = ArgumentPlan(field, planner)
            graphql_field.resolve = compiled_resolver(field, plan, info_class)
            compiled += 1
    return compiled
