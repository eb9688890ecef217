"""Every GraphQL error as the gateway answers it: a stable `extensions.code` chosen from the kind of error and the
phase that found it, never from its message; unexpected exceptions masked as INTERNAL_SERVER_ERROR (logged by the
schema, never sent as a traceback); field suggestions hidden when the profile says so; identical errors collapsed
and their number capped.

Where a code comes from, first match wins: the gateway's own errors (`GatewayError.code`); a code the error was
made with (the query limits, the cost decision, validation rules coded by `gateway.edge.schema`, the caller's inputs
checked by `gateway.edge.inputs`); a syntax error (GRAPHQL_PARSE_FAILED); then the phase: refused while reading the
document, GRAPHQL_VALIDATION_FAILED; refused while coercing the caller's variables, BAD_USER_INPUT; during execution,
BAD_USER_INPUT when graphql-core located it at a value the caller gave (an argument, a variable), else the gateway's
own fault, INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum
from typing import Any

from graphql import (
    ArgumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    ObjectFieldNode,
    ValueNode,
    VariableDefinitionNode,
)
from graphql.error.graphql_error import GraphQLFormattedError

from gateway.errors import BadUserInput, GatewayError

GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
MAX_ERRORS = 20  # errors in one answer, after identical ones are collapsed
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
_INPUT_NODES = (ArgumentNode, ValueNode, ObjectFieldNode, VariableDefinitionNode)  # ValueNode: variables too


class Phase(Enum):
    """Where a request's errors were found."""

    DOCUMENT = "document"  # parsing, the query limits, validation, the cost decision: nothing executed
    INPUTS = "inputs"  # coercing the caller's variables: nothing executed
    EXECUTION = "execution"  # resolvers ran: field errors beside partial data


def is_input_error(error: GraphQLError) -> bool:
    """graphql-core located it at a value the caller gave (an argument, a variable): the caller's input."""
    return bool(error.nodes) and all(isinstance(node, _INPUT_NODES) for node in error.nodes or ())


def is_unexpected(error: GraphQLError) -> bool:
    """A failure the gateway did not mean: logged with the request id and masked."""
    original = error.original_error
    if original is None or isinstance(original, GatewayError):
        return False
    if isinstance(original, GraphQLError):  # graphql-core's own while executing: an input, or a value not served
        return error.path is not None and not _given_code(error) and not is_input_error(error)
    return True


def error_code(error: GraphQLError, phase: Phase) -> str:
    original = error.original_error
    if isinstance(original, GatewayError):
        return original.code
    given = _given_code(error)
    if given is not None:
        return given
    if isinstance(error, GraphQLSyntaxError) or isinstance(original, GraphQLSyntaxError):
        return GRAPHQL_PARSE_FAILED
    if phase is Phase.DOCUMENT:
        return GRAPHQL_VALIDATION_FAILED
    if phase is Phase.INPUTS or is_input_error(error):
        return BadUserInput.code
    return INTERNAL_SERVER_ERROR


def format_error(error: GraphQLError, phase: Phase, hide_suggestions: bool = False) -> GraphQLFormattedError:
    formatted: dict[str, Any] = {}
    original = error.original_error
    if isinstance(original, GatewayError):
        formatted["message"] = original.message
        extensions = original.as_extensions()
    elif is_unexpected(error):
        formatted["message"] = "Internal server error"
        extensions = {"code": INTERNAL_SERVER_ERROR}
    else:
        formatted["message"] = _SUGGESTION.sub("", error.message) if hide_suggestions else error.message
        extensions = {**(error.extensions or {}), "code": error_code(error, phase)}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path is not None:
        formatted["path"] = list(error.path)
    formatted["extensions"] = extensions
    return formatted  # type: ignore[return-value]


def collapsed(errors: Iterable[GraphQLFormattedError], limit: int = MAX_ERRORS) -> list[GraphQLFormattedError]:
    """The errors with repeats dropped (same message, code and path: a mistake repeated through the document is one
    mistake, wherever it is), at most `limit` of them, in order."""
    kept: list[GraphQLFormattedError] = []
    seen: set[tuple[str, str, tuple[str | int, ...] | None]] = set()
    for error in errors:
        path = error.get("path")
        key = (error["message"], str((error.get("extensions") or {}).get("code")), tuple(path) if path else None)
        if key in seen:
            continue
        seen.add(key)
        kept.append(error)
        if len(kept) >= limit:
            break
    return kept


def _given_code(error: GraphQLError) -> str | None:
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) and code else None
