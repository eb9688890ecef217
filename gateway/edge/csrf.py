"""CSRF prevention for GraphQL over GET: only requests that a browser could not send cross-site without a preflight.

A browser sends a "simple" cross-site request (no CORS preflight) only with safelisted headers and a simple
Content-Type. So a GET runs when it carries a Content-Type that is not simple (Apollo Client sends application/json),
one of the headers GraphQL clients use to force a preflight, or an Accept naming a GraphQL response media type (what
graphql-http and GraphiQL send). Accept is itself a safelisted header, so that last door relies on what makes GET safe
here at all: the schema has no mutations and callers authenticate with a header, never a cookie. POST needs no check:
only `application/json` bodies are accepted, which is not a simple Content-Type.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.edge.refusals import Refusal

PREFLIGHT_HEADERS = ("graphql-require-preflight", "apollo-require-preflight", "x-requested-with")
GRAPHQL_ACCEPT = ("application/graphql-response+json", "application/json")
SIMPLE_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


def media_types(header: str) -> set[str]:
    return {part.split(";")[0].strip().lower() for part in header.split(",") if part.strip()}


def is_preflighted(headers: Mapping[str, str]) -> bool:
    if any(headers.get(name) for name in PREFLIGHT_HEADERS):
        return True
    content_type = media_types(headers.get("content-type", ""))
    if content_type and not content_type <= set(SIMPLE_CONTENT_TYPES):
        return True
    return bool(media_types(headers.get("accept", "")) & set(GRAPHQL_ACCEPT))


REFUSAL = Refusal(
    400,
    "CSRF_PREVENTED",
    "GET requests need a header that a browser cannot send cross-site without a preflight: "
    "e.g. `Accept: application/graphql-response+json` or `GraphQL-Require-Preflight: 1`",
)
