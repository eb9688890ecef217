"""GraphQL over HTTP at /graphql: media types, status codes, GET and CSRF, operationName, batching, persisted
documents, CORS and masked unexpected errors."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from gateway.edge.endpoint import GraphQLEndpoint
from gateway.edge.schema import build_schema
from gateway.settings import Settings
from gateway.upstreams.catalog import SPECS
from tests.e2e.conftest import GatewayFactory
from tests.sandbox_harness import RunningSandbox

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
TYPENAME = {"__typename": "Query"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def post(client: httpx.AsyncClient, body: dict[str, Any], accept: str = GRAPHQL_RESPONSE) -> httpx.Response:
    return await client.post("/graphql", json=body, headers={"Content-Type": JSON, "Accept": accept})


def code_of(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON}", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE};q=0.9", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0, {JSON}", JSON),
        (JSON, JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("", JSON),
    ],
)
async def test_media_type_negotiation(gateway: httpx.AsyncClient, accept: str, media_type: str) -> None:
    response = await post(gateway, {"query": "{ __typename }"}, accept)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.json()["data"] == TYPENAME


async def test_unacceptable_media_type_is_406(gateway: httpx.AsyncClient) -> None:
    response = await post(gateway, {"query": "{ __typename }"}, "text/csv")
    assert response.status_code == 406
    assert code_of(response) == "NOT_ACCEPTABLE"


@pytest.mark.parametrize(
    ("query", "code"),
    [("{", "GRAPHQL_PARSE_FAILED"), ("{ nope }", "GRAPHQL_VALIDATION_FAILED")],
)
async def test_request_errors_are_400_in_graphql_response_json_and_200_in_json(
    gateway: httpx.AsyncClient, query: str, code: str
) -> None:
    response = await post(gateway, {"query": query})
    assert response.status_code == 400
    assert "data" not in response.json()
    assert code_of(response) == code
    legacy = await post(gateway, {"query": query}, JSON)
    assert legacy.status_code == 200
    assert code_of(legacy) == code


class TestGet:
    async def test_query_over_get_with_a_graphql_accept(self, gateway: httpx.AsyncClient) -> None:
        params = {"query": "query Q($n: String!) { __type(name: $n) { name } }", "variables": '{"n": "Lead"}'}
        response = await gateway.get("/graphql", params=params, headers={"Accept": GRAPHQL_RESPONSE})
        assert response.status_code == 200
        assert response.json()["data"] == {"__type": {"name": "Lead"}}

    @pytest.mark.parametrize(
        "headers",
        [
            {"GraphQL-Require-Preflight": "1"},
            {"Apollo-Require-Preflight": "true"},
            {"X-Requested-With": "XMLHttpRequest"},
            {"Content-Type": JSON, "Accept": "*/*"},
            {"Accept": JSON},
        ],
    )
    async def test_preflighted_get_runs(self, gateway: httpx.AsyncClient, headers: dict[str, str]) -> None:
        response = await gateway.get("/graphql", params={"query": "{ __typename }"}, headers=headers)
        assert response.status_code == 200
        assert response.json()["data"] == TYPENAME

    @pytest.mark.parametrize(
        "headers",
        [{"Accept": "*/*"}, {"Accept": "text/html,*/*;q=0.8"}, {"Content-Type": "text/plain", "Accept": "*/*"}],
    )
    async def test_simple_get_is_refused_as_possible_csrf(
        self, gateway: httpx.AsyncClient, sandbox: RunningSandbox, headers: dict[str, str]
    ) -> None:
        response = await gateway.get("/graphql", params={"query": "{ leads { totalCount } }"}, headers=headers)
        assert response.status_code == 400
        assert code_of(response) == "CSRF_PREVENTED"
        assert (await sandbox.stats())["hits"] == {}

    async def test_mutation_over_get_is_405(self, gateway: httpx.AsyncClient) -> None:
        response = await gateway.get(
            "/graphql", params={"query": "mutation { __typename }"}, headers={"Accept": GRAPHQL_RESPONSE}
        )
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"


async def test_mutation_over_post_is_refused(gateway: httpx.AsyncClient) -> None:
    response = await post(gateway, {"query": "mutation { __typename }"})
    assert 400 <= response.status_code < 500
    assert "errors" in response.json()


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_other_methods_are_405_with_a_code(gateway: httpx.AsyncClient, method: str) -> None:
    response = await gateway.request(method, "/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert code_of(response) == "METHOD_NOT_ALLOWED"


class TestOperationName:
    DOCUMENT = "query A { a: __typename } query B { b: __typename }"

    async def test_selects_the_operation(self, gateway: httpx.AsyncClient) -> None:
        response = await post(gateway, {"query": self.DOCUMENT, "operationName": "B"})
        assert response.json()["data"] == {"b": "Query"}

    @pytest.mark.parametrize("operation_name", [None, "C"])
    async def test_missing_or_unknown_operation_is_400(
        self, gateway: httpx.AsyncClient, operation_name: str | None
    ) -> None:
        response = await post(gateway, {"query": self.DOCUMENT, "operationName": operation_name})
        assert response.status_code == 400
        assert code_of(response) == "GRAPHQL_VALIDATION_FAILED"


async def test_batches_are_refused_with_a_code(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    response = await gateway.post(
        "/graphql", json=[{"query": "{ leads { totalCount } }"}] * 2, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 400
    assert code_of(response) == "BATCHING_NOT_SUPPORTED"
    assert (await sandbox.stats())["hits"] == {}


class TestAutomaticPersistedQueries:
    QUERY = "{ sources { name } }"

    def extensions(self, query: str) -> dict[str, Any]:
        return {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}

    async def test_unknown_hash_then_register_then_hash_only(self, gateway: httpx.AsyncClient) -> None:
        by_hash = {"extensions": self.extensions(self.QUERY)}
        response = await post(gateway, by_hash)
        assert response.status_code == 200
        assert response.json()["errors"][0] == {
            "message": "PersistedQueryNotFound",
            "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
        }
        registered = await post(gateway, {"query": self.QUERY, **by_hash})
        assert registered.status_code == 200
        assert "errors" not in registered.json()
        response = await post(gateway, by_hash)
        assert response.json()["data"] == registered.json()["data"]

    async def test_hash_only_over_get(self, gateway: httpx.AsyncClient) -> None:
        await post(gateway, {"query": self.QUERY, "extensions": self.extensions(self.QUERY)})
        params = {"extensions": json.dumps(self.extensions(self.QUERY))}
        response = await gateway.get("/graphql", params=params, headers={"Accept": GRAPHQL_RESPONSE})
        assert response.status_code == 200
        assert [s["name"] for s in response.json()["data"]["sources"]] == [spec.name for spec in SPECS]

    async def test_hash_mismatch_is_refused(self, gateway: httpx.AsyncClient) -> None:
        response = await post(gateway, {"query": self.QUERY, "extensions": self.extensions("{ __typename }")})
        assert response.status_code == 400
        assert code_of(response) == "PERSISTED_QUERY_HASH_MISMATCH"

    @pytest.mark.parametrize(
        "persisted",
        [{"version": 2, "sha256Hash": "0" * 64}, {"version": 1, "sha256Hash": "xyz"}, {"version": 1}, "yes", 7],
    )
    async def test_malformed_persisted_query_is_refused(self, gateway: httpx.AsyncClient, persisted: object) -> None:
        response = await post(gateway, {"extensions": {"persistedQuery": persisted}})
        assert response.status_code == 400
        assert code_of(response) == "PERSISTED_QUERY_INVALID"

    async def test_off_answers_not_supported(self, start_gateway: GatewayFactory) -> None:
        client = await start_gateway(persisted_documents="off")
        response = await post(client, {"query": self.QUERY, "extensions": self.extensions(self.QUERY)})
        assert response.status_code == 200
        assert response.json()["errors"][0] == {
            "message": "PersistedQueryNotSupported",
            "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
        }
        assert (await post(client, {"query": self.QUERY})).status_code == 200


class TestTrustedDocuments:
    LISTED = "query Sources { sources { name } }"

    @pytest.fixture
    async def trusted(self, start_gateway: GatewayFactory, tmp_path: Path) -> httpx.AsyncClient:
        manifest = tmp_path / "manifest.json"
        manifest.write_text(json.dumps({sha256(self.LISTED): self.LISTED}))
        return await start_gateway(
            profile="prod", persisted_documents="trusted", persisted_documents_manifest=str(manifest)
        )

    async def test_listed_operation_runs_by_hash_or_text(self, trusted: httpx.AsyncClient) -> None:
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(self.LISTED)}}
        by_hash = await post(trusted, {"extensions": extensions})
        assert by_hash.status_code == 200
        assert len(by_hash.json()["data"]["sources"]) == len(SPECS)
        by_text = await post(trusted, {"query": self.LISTED})
        assert by_text.json()["data"] == by_hash.json()["data"]

    async def test_unlisted_operation_is_refused(self, trusted: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
        unlisted = "{ leads { totalCount } }"
        response = await post(trusted, {"query": unlisted})
        assert response.status_code == 400
        assert code_of(response) == "QUERY_NOT_IN_SAFELIST"
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(unlisted)}}
        response = await post(trusted, {"query": unlisted, "extensions": extensions})
        assert code_of(response) == "PERSISTED_QUERY_NOT_IN_LIST"
        response = await post(trusted, {"extensions": extensions})
        assert code_of(response) == "PERSISTED_QUERY_NOT_IN_LIST"
        assert (await sandbox.stats())["hits"] == {}


class TestCors:
    ORIGIN = "https://app.example"

    async def test_allowed_origin_gets_cors_headers(self, start_gateway: GatewayFactory) -> None:
        client = await start_gateway(cors_allowed_origins=f"{self.ORIGIN}, https://other.example")
        preflight = await client.options(
            "/graphql",
            headers={
                "Origin": self.ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, graphql-require-preflight",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == self.ORIGIN
        response = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": self.ORIGIN, "Content-Type": JSON}
        )
        assert response.headers["access-control-allow-origin"] == self.ORIGIN
        assert "x-request-id" in response.headers["access-control-expose-headers"].lower()

    async def test_other_origins_get_none(self, start_gateway: GatewayFactory) -> None:
        client = await start_gateway(cors_allowed_origins=self.ORIGIN)
        response = await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": "https://evil.example", "Content-Type": JSON},
        )
        assert "access-control-allow-origin" not in response.headers

    async def test_no_cors_by_default(self, gateway: httpx.AsyncClient) -> None:
        response = await gateway.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": self.ORIGIN, "Content-Type": JSON}
        )
        assert "access-control-allow-origin" not in response.headers


class ExplodingUpstreams:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("secret internal detail")


async def test_unexpected_exceptions_are_masked_and_logged_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(profile="dev")
    endpoint = GraphQLEndpoint(build_schema(settings), settings, ExplodingUpstreams)  # type: ignore[arg-type]
    app = Starlette(routes=[Route("/graphql", endpoint.handle, methods=["POST"])])

    async def with_request_id(scope: Any, receive: Any, send: Any) -> None:
        scope.setdefault("state", {})["request_id"] = "req-42"
        await app(scope, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=with_request_id), base_url="http://t") as client:
        with caplog.at_level(logging.ERROR, logger="gateway.edge.schema"):
            response = await post(client, {"query": "{ leads { totalCount } }"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"leads": None}
    assert body["errors"][0]["message"] == "Internal server error"
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert any("req-42" in record.getMessage() for record in caplog.records)
