"""Every GraphQL error as the gateway answers it: a stable `extensions.code`, chosen from the kind of error; unexpected
exceptions masked as INTERNAL_SERVER_ERROR (logged by the schema, never sent as a traceback); field suggestions hidden
when the profile says so."""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError
from graphql.error.graphql_error import GraphQLFormattedError

from gateway.errors import BadUserInput, GatewayError

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
_BAD_VALUE_MESSAGES = (
    "cannot represent",
    "Expected value of type",
    "got invalid value",
    "does not exist in",
    "Expected type",
)


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GatewayError | GraphQLError)


def error_code(error: GraphQLError, pre_execution: bool) -> str:
    if pre_execution:
        if error.message.startswith("Syntax Error"):
            return "GRAPHQL_PARSE_FAILED"
        if any(fragment in error.message for fragment in _BAD_VALUE_MESSAGES):
            return BadUserInput.code
        return "GRAPHQL_VALIDATION_FAILED"
    if error.path is None and any(fragment in error.message for fragment in _BAD_VALUE_MESSAGES):
        return BadUserInput.code
    return "INTERNAL_SERVER_ERROR"


def format_error(error: GraphQLError, pre_execution: bool, hide_suggestions: bool = False) -> GraphQLFormattedError:
    formatted: dict[str, Any] = {}
    original = error.original_error
    if isinstance(original, GatewayError):
        formatted["message"] = original.message
        extensions = original.as_extensions()
    elif is_unexpected(error):
        formatted["message"] = "Internal server error"
        extensions = {"code": "INTERNAL_SERVER_ERROR"}
    else:
        formatted["message"] = _SUGGESTION.sub("", error.message) if hide_suggestions else error.message
        given_code = (error.extensions or {}).get("code")
        extensions = {**(error.extensions or {}), "code": given_code or error_code(error, pre_execution)}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path is not None:
        formatted["path"] = list(error.path)
    formatted["extensions"] = extensions
    return formatted  # type: ignore[return-value]
