"""GraphQL over HTTP: reading a request (GET or POST), checking its parameters, negotiating the answer's media type.

What strawberry would answer with a 500 or the wrong media type is decided here first (see DESIGN.md §10): JSON that
is not an object, invalid JSON, deeply nested variables, batches. Every refusal carries a code (`Refused`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from starlette.requests import ClientDisconnect, Request

from gateway.cache import codec
from gateway.edge import csrf
from gateway.edge.refusals import Refusal, Refused

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
MAX_JSON_NESTING = 64
_REFUSED_BY_QUALITY = re.compile(r";\s*q=0(\.0*)?\s*(;|$)")

NOT_ACCEPTABLE = Refusal(406, "NOT_ACCEPTABLE", f"answers are {GRAPHQL_RESPONSE} or {JSON}")
METHOD_NOT_ALLOWED = Refusal(405, "METHOD_NOT_ALLOWED", "use GET or POST", {"Allow": "GET, POST"})
# A browser's CORS preflight reaches the endpoint only when the gateway allows no origin (docs/frontend.md).
PREFLIGHT_NOT_ALLOWED = Refusal(
    405,
    "METHOD_NOT_ALLOWED",
    "use GET or POST; a browser app's CORS preflight is answered only for the origins the gateway's operator allows "
    "(GATEWAY_CORS_ALLOWED_ORIGINS or GATEWAY_CORS_ALLOWED_ORIGIN_REGEX)",
    {"Allow": "GET, POST"},
)
UNSUPPORTED_MEDIA_TYPE = Refusal(415, "UNSUPPORTED_MEDIA_TYPE", f"send the request as {JSON}")
BATCHING_NOT_SUPPORTED = Refusal(
    400, "BATCHING_NOT_SUPPORTED", "batched requests (a JSON array) are not supported: send one operation per request"
)


@dataclass(frozen=True)
class GraphQLRequest:
    query: str | None  # None only with `extensions.persistedQuery`
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None = None
    # What `variables` were decoded from (a POST's body, a GET's `variables` parameter, "" for a GET without one):
    # requests with equal sources have equal variables. None when not known.
    variables_source: bytes | str | None = field(default=None, compare=False, repr=False)


def bad_request(message: str) -> Refused:
    return Refused(Refusal(400, "BAD_REQUEST", message))


@lru_cache(maxsize=256)  # clients send a few distinct Accept headers, each time the same
def response_media_type(accept: str) -> str | None:
    """The newer media type when the client names it, else JSON (no Accept, */*); None when neither is acceptable."""
    if not accept.strip():
        return JSON
    types = {part.split(";")[0].strip().lower() for part in accept.split(",") if not _REFUSED_BY_QUALITY.search(part)}
    if GRAPHQL_RESPONSE in types:
        return GRAPHQL_RESPONSE
    if JSON in types or "*/*" in types or "application/*" in types:
        return JSON
    return None


def wants_graphiql(request: Request) -> bool:
    """A browser opening /graphql: a GET for HTML without a query."""
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "query" not in request.query_params
    )


async def read_request(request: Request) -> GraphQLRequest:
    """The request's GraphQL parameters; `Refused` when the method, media type, CSRF headers or body do not do."""
    if request.method == "GET":
        if not csrf.is_preflighted(request.headers):
            raise Refused(csrf.REFUSAL)
        params: dict[str, Any] = dict(request.query_params)
        source = params.get("variables", "")
        if "variables" in params:
            params["variables"] = decode_json(params["variables"], "`variables`")
        if "extensions" in params:
            params["extensions"] = decode_json(params["extensions"], "`extensions`")
        return parse_params(params, variables_source=source)
    if request.method == "OPTIONS":
        raise Refused(PREFLIGHT_NOT_ALLOWED)
    if request.method != "POST":
        raise Refused(METHOD_NOT_ALLOWED)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise Refused(UNSUPPORTED_MEDIA_TYPE)
    body = await read_body(request)
    data = decode_json(body, "the request body")
    if isinstance(data, list):
        raise Refused(BATCHING_NOT_SUPPORTED)
    if not isinstance(data, dict):
        raise bad_request("the request body must be a JSON object")
    return parse_params(data, variables_source=body)


async def read_body(request: Request) -> bytes:
    """The request's body, as `request.body()` reads it (ClientDisconnect when the client has gone), without its
    async generator: almost every body comes in one message. The endpoint reads it once, and nothing after."""
    chunks: list[bytes] = []
    while True:
        message = await request.receive()
        kind = message["type"]
        if kind == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif kind == "http.disconnect":
            raise ClientDisconnect()


def parse_params(params: Mapping[str, Any], *, variables_source: bytes | str | None = None) -> GraphQLRequest:
    """Check the shape of a GraphQL-over-HTTP request's parameters (already decoded from JSON or the URL);
    `variables_source`: what they were decoded from (`GraphQLRequest.variables_source`)."""
    query = params.get("query")
    extensions = params.get("extensions")
    persisted = isinstance(extensions, dict) and "persistedQuery" in extensions
    if not (isinstance(query, str) and query.strip()) and not (persisted and query is None):
        raise bad_request("`query` must be a non-empty string")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise bad_request("`variables` must be an object or null")
    if variables is not None and _nesting_depth(variables, MAX_JSON_NESTING) > MAX_JSON_NESTING:
        raise bad_request(f"`variables` nest deeper than {MAX_JSON_NESTING} levels")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise bad_request("`operationName` must be a string or null")
    if extensions is not None and not isinstance(extensions, dict):
        raise bad_request("`extensions` must be an object or null")
    return GraphQLRequest(
        query=query,
        variables=variables,
        operation_name=operation_name or None,
        extensions=extensions,
        variables_source=variables_source,
    )


def decode_json(raw: bytes | str, what: str) -> Any:
    """`raw` as `json.loads` reads it (a body by orjson, with `json` for what orjson refuses or would misread)."""
    try:
        return codec.loads(raw) if isinstance(raw, bytes) else json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request(f"{what} is not valid JSON") from None


def _nesting_depth(value: object, limit: int) -> int:
    depth, frontier = 0, [value]
    while frontier:
        depth += 1
        if depth > limit:
            return depth
        frontier = [
            child
            for item in frontier
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        frontier = [child for child in frontier if isinstance(child, dict | list)]
    return depth
