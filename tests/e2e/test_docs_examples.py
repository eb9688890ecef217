"""The integrator's guide runs: every `docs/examples/*.graphql` against the gateway, `client.py` and `apq.sh` against a
real `python -m gateway` process, and the documents-manifest command on the examples folder."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
from pathlib import Path

import httpx
import pytest
from graphql import parse

from gateway.__main__ import main as gateway_main
from gateway.edge.persisted import build_manifest
from gateway.edge.schema import build_schema
from tests.e2e.conftest import graphql
from tests.e2e.processes import REPO_ROOT, gateway_environment, gateway_process, without_gateway_settings
from tests.sandbox_harness import RunningSandbox

EXAMPLES = REPO_ROOT / "docs" / "examples"
DOCUMENTS = {path.name: path.read_text(encoding="utf-8") for path in sorted(EXAMPLES.glob("*.graphql"))}
# The costs the examples' comments and docs/keys-and-limits.md state (schema/cost.py decides them).
STATED_COSTS = {
    "contracts-page.graphql": 2,
    "contracts-with-award-family.graphql": 7,
    "leads.graphql": 1,
    "node.graphql": 1,
    "rate-limit.graphql": 0,
    "search.graphql": 4,
    "tenders.graphql": 1,
}
SUBPROCESS_TIMEOUT_S = 60.0
# The client's tier admits one request per 4 s burst window (15 a minute, burst 1): its second page is refused with a
# 429 and Retry-After, which the client waits out. The other tier never throttles the APQ script.
TIERS = {
    "tight": {"requests_per_minute": 15, "burst": 1, "cost_per_hour": 10_000, "max_query_cost": 100},
    "roomy": {"requests_per_minute": 1_000, "burst": 1_000, "cost_per_hour": 10_000, "max_query_cost": 100},
}


def test_the_examples_folder_holds_the_documents_the_guide_names() -> None:
    assert set(DOCUMENTS) == set(STATED_COSTS)


# The worked examples of docs/keys-and-limits.md, "Cost".
GUIDE_COSTS = {
    "{ leads { totalCount } }": 1,
    "{ leads(first: 25) { totalCount } }": 3,
    "{ tenders(first: 20) { totalCount } }": 2,
    "{ contracts(first: 5) { nodes { piid } } }": 2,
    "{ contracts(first: 50) { edges { node { awardFamily { count } } } } }": 60,
    "{ contracts(first: 100) { edges { node { awardFamily { count } } } } }": 120,
    "{ sources { name } rateLimit { remaining } }": 0,
}


def test_the_examples_cost_what_the_guide_says() -> None:
    schema = build_schema()
    assert {name: schema.estimate_cost(parse(text)) for name, text in DOCUMENTS.items()} == STATED_COSTS
    assert {query: schema.estimate_cost(parse(query)) for query in GUIDE_COSTS} == GUIDE_COSTS
    guide = (REPO_ROOT / "docs" / "keys-and-limits.md").read_text(encoding="utf-8")
    for query, cost in GUIDE_COSTS.items():
        assert re.search(rf"\| `{re.escape(query)}` \| (.* = )?{cost} \|", guide), query


def test_the_examples_build_into_a_trusted_documents_manifest(tmp_path: Path) -> None:
    output = tmp_path / "manifest.json"
    assert gateway_main(["documents", "build", str(EXAMPLES), "-o", str(output)]) == 0
    assert json.loads(output.read_text()) == build_manifest(EXAMPLES)
    assert len(build_manifest(EXAMPLES)) == len(DOCUMENTS)


async def _an_id(gateway: httpx.AsyncClient) -> str:
    response = await graphql(gateway, "{ contracts(first: 1) { nodes { id } } }")
    identifier: str = response.json()["data"]["contracts"]["nodes"][0]["id"]
    return identifier


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_every_example_document_answers_data_without_errors(gateway: httpx.AsyncClient, name: str) -> None:
    text = DOCUMENTS[name]
    variables = {"id": await _an_id(gateway)} if re.search(r"\$id\s*:\s*ID!", text) else {}
    response = await graphql(gateway, text, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    assert body["data"]
    assert all(value for value in body["data"].values()), body["data"]


async def test_the_paging_example_continues_from_its_end_cursor(gateway: httpx.AsyncClient) -> None:
    text = DOCUMENTS["contracts-page.graphql"]
    first = (await graphql(gateway, text, {"first": 5})).json()["data"]["contracts"]
    assert first["pageInfo"]["hasNextPage"]
    second = (await graphql(gateway, text, {"first": 5, "after": first["pageInfo"]["endCursor"]})).json()
    assert "errors" not in second
    first_ids = {edge["node"]["id"] for edge in first["edges"]}
    second_ids = {edge["node"]["id"] for edge in second["data"]["contracts"]["edges"]}
    assert len(second_ids) == 5
    assert not first_ids & second_ids


async def _run(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """A child process, awaited without blocking the loop (the sandbox it calls through the gateway runs here)."""
    process = await asyncio.create_subprocess_exec(
        *args, cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), SUBPROCESS_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def _environment(sandbox: RunningSandbox, keys_file: Path) -> dict[str, str]:
    return gateway_environment(sandbox.base_url, keys_store="file", keys_file=str(keys_file), tiers=json.dumps(TIERS))


async def _create_key(environment: dict[str, str], tier: str) -> str:
    command = [sys.executable, "-m", "gateway", "keys", "create", "--tier", tier, "--owner", "docs-examples"]
    code, stdout, stderr = await _run(command, {**without_gateway_settings(), **environment})
    assert code == 0, stderr
    return stdout.strip()


@pytest.mark.timeout(120)
async def test_client_and_apq_script_run_against_a_real_gateway(sandbox: RunningSandbox, tmp_path: Path) -> None:
    environment = _environment(sandbox, tmp_path / "keys.json")
    tight_key, roomy_key = await _create_key(environment, "tight"), await _create_key(environment, "roomy")
    child_env = {**without_gateway_settings(), "PGW_API_KEY": tight_key}
    with gateway_process(environment) as gateway:
        url = f"{gateway.base_url}/graphql"
        code, stdout, stderr = await _run(
            [sys.executable, str(EXAMPLES / "client.py"), "--url", url, "--pages", "2", "--first", "5"], child_env
        )
        assert code == 0, stderr
        assert re.search(r"rate limited \(HTTP 429\); retrying in [1-4] s", stderr), stderr
        lines = stdout.splitlines()
        assert [line.split(" (")[0] for line in lines if line.startswith("page ")] == ["page 1", "page 2"]
        contracts = [line for line in lines if line.startswith(("  SAM ", "  CANADA "))]
        assert len(contracts) == 10
        assert len([line for line in lines if re.match(r"  cost 2, \d+ of 10000 left this hour$", line)]) == 2, stdout

        curl = shutil.which("curl")
        assert curl is not None, "the APQ example needs curl"
        script_env = {**without_gateway_settings(), "PGW_API_KEY": roomy_key}
        code, stdout, stderr = await _run(["bash", str(EXAMPLES / "apq.sh"), url], script_env)
    assert code == 0, stderr
    answers = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert len(answers) == 3
    assert answers[0]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert answers[1]["data"]["tenders"]["nodes"]
    assert answers[2]["data"] == answers[1]["data"]
    assert "errors" not in answers[2]
