"""A simulated day of scheduled SAM opportunities pulls, run in seconds by two real gateway processes on one Redis
(`GATEWAY_CLOCK_SPEED`/`GATEWAY_CLOCK_OFFSET_S`: both read the same simulated now), against a SAM key of 10 calls a
day shared by the pulls (their share: 5) and Contract Awards user queries (the other 5).

The sandbox's counter for the key proves the key's quota is never exceeded (every call it saw was counted: none was
refused with 429); user queries get exactly their share all day, whatever the pulls did; and at the end of the day,
the pulls' share spent, both processes still answer the day's postings from their pulls: the extract they read
(yesterday's publication, served by a second sandbox) does not hold them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

import httpx

from gateway.settings import url_variable
from gateway.upstreams.samopps.extract import EXTRACT_PATH
from sandbox.clock import SandboxClock
from sandbox.control import CLOCK
from sandbox.sam import SAM_STATE
from sandbox.samopps_board import BOARD
from sandbox.samopps_data import COMBINED, PRESOLICITATION, SOLICITATION, SOURCES_SOUGHT, SPECIAL_NOTICE
from sandbox.settings import SandboxSettings
from tests.e2e.processes import GatewayProcess, gateway_environment, gateway_process
from tests.redis_harness import require_redis, unique_namespace
from tests.sandbox_harness import running_sandbox

KEY = "sam-sandbox-key-nonfed"  # 10 calls a day at the sandbox
DAY_REAL_S = 12.0  # a simulated day lasts this many real seconds
SPEED = 24 * 3600 / DAY_REAL_S
PULL_INTERVAL_S = 2 * 3600  # simulated
STOP_AT = day_time(22, 30)  # simulated: the test ends before the day does (the counters would reset at 00:00)
QUERY_EVERY_S = DAY_REAL_S / 96  # real: a user query every simulated quarter of an hour
OPEN_TYPES = {SOLICITATION, COMBINED, PRESOLICITATION, SOURCES_SOUGHT, SPECIAL_NOTICE}
ANONYMOUS = json.dumps(
    {"anonymous": {"requests_per_minute": 100_000, "burst": 1000, "cost_per_hour": 1_000_000, "max_query_cost": 10_000}}
)
USER_QUERY = '{ contracts(first: 1, filter: {sources: [SAM], keywords: "%s"}) { totalCount } }'
DAY_LEADS = """query($day: Date!) {
  leads(first: 100, filter: {sources: [FBO], published: {start: $day, end: $day}}) { totalCount nodes { leadId } }
}"""
SOURCES = "{ sources { name quotaRemaining feeds { name rows lastSuccess lastError } } }"


def simulated(offset_s: float) -> datetime:
    return datetime.fromtimestamp(time.time() * SPEED + offset_s, UTC)


async def graphql(client: httpx.AsyncClient, process: GatewayProcess, query: str, **variables: Any) -> Any:
    response = await client.post(process.base_url + "/graphql", json={"query": query, "variables": variables})
    return response.json()


@asynccontextmanager
async def started(environments: list[dict[str, str]]) -> AsyncIterator[list[GatewayProcess]]:
    """The gateways, started at once in threads (waiting for them must not stop this loop: the sandbox runs on it)."""
    stacks = [ExitStack() for _ in environments]
    try:
        yield list(
            await asyncio.gather(
                *(
                    asyncio.to_thread(stack.enter_context, gateway_process(environment))
                    for stack, environment in zip(stacks, environments, strict=True)
                )
            )
        )
    finally:
        await asyncio.gather(*(asyncio.to_thread(stack.close) for stack in stacks))


async def test_a_simulated_day_of_pulls_never_exceeds_a_10_a_day_key(tmp_path: Path) -> None:
    redis_url = require_redis()
    day = datetime.now(UTC).date()
    start = datetime.combine(day, day_time(0, 30), UTC)  # the simulated day starts (at t0) at 00:30 UTC
    offset_s = start.timestamp() - time.time() * SPEED
    yesterday = SandboxSettings(today=day - timedelta(days=1))
    async with running_sandbox(yesterday) as sandbox, running_sandbox(yesterday) as files:
        clock: SandboxClock = sandbox.app[CLOCK]
        clock.set(datetime.combine(day, day_time(12), UTC))  # the sandbox counts every call on day `day`
        sandbox.app[BOARD].update({"publication": 1})  # its API answers `day`'s postings; `files` has yesterday's
        environment = gateway_environment(
            sandbox.base_url,
            quotas={"sam": 10},
            ttls={},
            redis_url=redis_url,
            redis_namespace=unique_namespace("samopps-day"),
            anonymous_tier_enabled="true",
            tiers=ANONYMOUS,
            response_cache_ttl_s="0",
            mirror_data_dir=str(tmp_path),
            mirror_contact="mailto:tests@example.org",
            samopps_extract_url=files.url(EXTRACT_PATH),
            samopps_min_daily_calls="4",  # a 10-a-day key: pulls are off by default (100); on here, within 5 calls
            samopps_pull_interval_s=str(PULL_INTERVAL_S),
            clock_speed=str(SPEED),
            clock_offset_s=repr(offset_s),
        )
        environment |= {
            url_variable("samopps"): sandbox.base_url,
            "GATEWAY_SAM_API_KEY": KEY,
            "GATEWAY_SAM_TTL_CONTRACT_S": "0",
        }
        replicas = [environment | {"GATEWAY_MIRROR_REPLICA": name} for name in ("one", "two")]
        async with started(replicas) as processes:
            outcomes: list[str] = []
            async with httpx.AsyncClient(timeout=30) as client:
                number = 0
                while simulated(offset_s).time() < STOP_AT and simulated(offset_s).date() == day:
                    process = processes[number % 2]  # user queries through both replicas, all day
                    body = await graphql(client, process, USER_QUERY % f"day{number}")
                    errors = body.get("errors") or [{}]
                    outcomes.append("ok" if "errors" not in body else errors[0].get("extensions", {}).get("code"))
                    number += 1
                    await asyncio.sleep(QUERY_EVERY_S)
                answers = [await graphql(client, process, DAY_LEADS, day=day.isoformat()) for process in processes]
                sources = [await graphql(client, process, SOURCES) for process in processes]
                assert simulated(offset_s).date() == day, "the day ended before the test: make DAY_REAL_S longer"
        quota = sandbox.app[SAM_STATE].quota
        pulls = await sandbox.hits("samopps.search")
        user_calls = await sandbox.hits("sam.search")
        dataset = sandbox.app[BOARD].dataset()

    # The key's quota was never exceeded: the sandbox counted every call it saw (it refuses past 10 with 429).
    assert quota.used(KEY) == pulls + user_calls <= 10
    # The user queries kept their share all day: exactly 5 reached SAM, the rest were refused by the gateway.
    assert len(outcomes) > 5, f"start-up too slow for the day: {len(outcomes)} queries"
    assert user_calls == 5
    assert outcomes[:5] == ["ok"] * 5
    assert set(outcomes[5:]) == {"UPSTREAM_QUOTA_EXCEEDED"}
    # The pulls spent theirs over the day (at most the day's share so far at each pull), one replica at a time.
    assert pulls == 5
    for found in sources:
        by_name = {source["name"]: source for source in found["data"]["sources"]}
        assert by_name["sam"]["quotaRemaining"] == 0
        assert by_name["samopps"]["quotaRemaining"] == 0
        feeds = {feed["name"]: feed for feed in by_name["samopps"]["feeds"]}
        assert feeds["extract"]["rows"] == 600  # yesterday's file, read once (its interval is 6 h: 304 since)
        assert feeds["api"]["lastError"] is None
        assert feeds["api"]["rows"] > 0
    # The mirror still answers the day's postings from its pulls, on both replicas.
    expected = {
        notice.notice_id
        for notice in dataset.notices
        if notice.posted.date() == day and notice.notice_type in OPEN_TYPES
    }
    assert expected
    for answer in answers:
        assert "errors" not in answer, answer
        assert {node["leadId"] for node in answer["data"]["leads"]["nodes"]} == expected
