"""`sources`: one entry per declared upstream, from its spec; configured or not; its breaker when configured."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from gateway.upstreams.breaker import BreakerState
from gateway.upstreams.canada.spec import SPEC as CANADA
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.mirror.mirror import FeedStatus
from gateway.upstreams.spec import RecordKind
from tests.schema.fakes import FakeClient, FakeMirror, FakeUpstreams, execute, standard_clients, standard_upstreams

EVERYTHING = """{ sources { name title description documentationUrl licence attribution retired configured reachable
    breakerState lastSuccess lastFailure retryAfterSeconds quotaRemaining leadSources { source } } }"""


async def test_one_entry_per_declared_upstream_from_its_spec() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, EVERYTHING)
    assert outcome.errors == []
    entries = outcome.data["sources"]  # type: ignore[index]
    assert [entry["name"] for entry in entries] == [spec.name for spec in SPECS]
    for entry, spec in zip(entries, SPECS, strict=True):
        assert entry["title"] == spec.title
        assert entry["description"] == spec.description
        assert entry["documentationUrl"] == spec.docs_url
        assert entry["licence"] == spec.licence
        assert entry["attribution"] == spec.attribution
        assert entry["retired"] is spec.retired
        configured = spec.name in standard_clients()  # the standard fake world: ita, canada and sam
        assert entry["configured"] is configured
        assert entry["reachable"] is configured
        assert entry["breakerState"] == "CLOSED"
    by_name = {entry["name"]: entry for entry in entries}
    assert by_name["ita"]["leadSources"] == [{"source": "FBO"}]
    assert by_name["sam"]["leadSources"] is None
    assert by_name["sam"]["quotaRemaining"] == 997
    assert by_name["canada"]["quotaRemaining"] is None  # no credential, no quota
    assert upstreams.quota_guard is not None
    assert upstreams.quota_guard.asked == ["ita", "sam"]  # the upstreams with a credential, by its name
    assert upstreams.total_calls() == 1  # leadSources alone asks an upstream


async def test_an_upstream_not_configured_is_listed_as_such_and_never_asked() -> None:
    upstreams = standard_upstreams(unconfigured=("ita", "sam"))
    outcome = await execute(upstreams, EVERYTHING)
    assert outcome.errors == []
    by_name = {entry["name"]: entry for entry in outcome.data["sources"]}  # type: ignore[index]
    for name in ("ita", "sam"):
        assert by_name[name]["configured"] is False
        assert by_name[name]["reachable"] is False
        assert by_name[name]["breakerState"] == "CLOSED"
        assert by_name[name]["lastSuccess"] is None
        assert by_name[name]["retryAfterSeconds"] is None
        assert by_name[name]["quotaRemaining"] is None
        assert by_name[name]["leadSources"] is None
        assert by_name[name]["licence"]  # what it is stays known
    assert by_name["canada"]["configured"] is True
    assert upstreams.total_calls() == 0


async def test_the_breaker_and_pause_of_a_configured_upstream() -> None:
    upstreams = standard_upstreams()
    canada = upstreams.get("canada")
    assert canada is not None
    assert canada.http is not None
    canada.http.breaker.state = BreakerState.OPEN
    canada.http.breaker.last_failure = datetime(2025, 6, 1, 12, tzinfo=UTC)
    canada.http.pause_s = 17
    sam = upstreams.get("sam")
    assert sam is not None
    assert sam.http is not None
    sam.http.breaker.last_success = datetime(2025, 6, 1, 11, tzinfo=UTC)
    sam.http.breaker.last_failure = datetime(2025, 6, 1, 12, tzinfo=UTC)  # failed last, breaker still closed
    outcome = await execute(upstreams, EVERYTHING)
    by_name = {entry["name"]: entry for entry in outcome.data["sources"]}  # type: ignore[index]
    assert {key: by_name["canada"][key] for key in ("reachable", "breakerState", "retryAfterSeconds")} == {
        "reachable": False,
        "breakerState": "OPEN",
        "retryAfterSeconds": 17,
    }
    assert by_name["canada"]["lastFailure"] == "2025-06-01T12:00:00+00:00"
    assert by_name["sam"]["reachable"] is False
    assert by_name["sam"]["breakerState"] == "CLOSED"


async def test_a_fourth_declared_upstream_is_listed_from_its_spec() -> None:
    fourth = dataclasses.replace(
        CANADA,
        name="fourth",
        title="A test-only tender feed",
        licence="CC BY 4.0",
        kinds=frozenset({RecordKind.TENDER}),
        criteria={RecordKind.TENDER: frozenset({"keywords"})},
        default_ttl_s={RecordKind.TENDER: 60},
        retired=False,
    )
    upstreams = standard_upstreams(specs=(*SPECS, fourth), fourth=FakeClient("fourth"))
    outcome = await execute(upstreams, "{ sources { name title licence retired configured } }")
    assert outcome.data["sources"][-1] == {  # type: ignore[index]
        "name": "fourth",
        "title": "A test-only tender feed",
        "licence": "CC BY 4.0",
        "retired": False,
        "configured": True,
    }


FEEDS = """{ sources { name configured reachable breakerState lastSuccess lastFailure retryAfterSeconds licence
    attribution feeds { name description refreshIntervalSeconds windowSeconds lastSuccess ageSeconds stale rows
    lastModified lastAttempt lastError lastErrorAt } } }"""


def mirrored(*feeds: FeedStatus) -> FakeUpstreams:
    return standard_upstreams(canadabuys=FakeClient("canadabuys"), mirrors={"canadabuys": FakeMirror(feeds)})


async def test_a_mirror_lists_its_feeds_with_their_last_refresh_rows_and_staleness() -> None:
    now = datetime.now(UTC)
    fresh = FeedStatus("open_tenders", "All open tender notices", 86400, 108000, now - timedelta(hours=2), rows=896)
    failing = FeedStatus(
        "awards",
        "Award notices",
        86400,
        108000,
        last_success=now - timedelta(days=3),
        rows=3925,
        last_modified="Tue, 01 Sep 2026 12:30:00 GMT",
        last_attempt=now - timedelta(minutes=5),
        last_error="download failed: HTTP 403",
        last_error_at=now - timedelta(minutes=5),
    )
    never = FeedStatus("contract_history", "Contract history", 604800, 691200)
    outcome = await execute(mirrored(fresh, failing, never), FEEDS)
    assert outcome.errors == []
    entry = next(e for e in outcome.data["sources"] if e["name"] == "canadabuys")  # type: ignore[index]
    assert entry["configured"] is True
    assert entry["reachable"] is False  # a feed failed last (and another never succeeded)
    assert entry["breakerState"] == "CLOSED"
    assert entry["retryAfterSeconds"] is None
    assert entry["attribution"] == "Contains information licensed under the Open Government Licence \u2013 Canada."
    assert datetime.fromisoformat(entry["lastSuccess"]) == fresh.last_success
    assert datetime.fromisoformat(entry["lastFailure"]) == failing.last_error_at
    feeds = {feed["name"]: feed for feed in entry["feeds"]}
    assert list(feeds) == ["open_tenders", "awards", "contract_history"]
    assert feeds["open_tenders"]["rows"] == 896
    assert feeds["open_tenders"]["stale"] is False
    assert 7190 <= feeds["open_tenders"]["ageSeconds"] <= 7300
    assert feeds["open_tenders"]["lastError"] is None
    assert (feeds["awards"]["stale"], feeds["awards"]["lastError"]) == (True, "download failed: HTTP 403")
    assert feeds["awards"]["lastModified"] == "Tue, 01 Sep 2026 12:30:00 GMT"
    assert (feeds["awards"]["refreshIntervalSeconds"], feeds["awards"]["windowSeconds"]) == (86400, 108000)
    assert feeds["contract_history"] == {
        "name": "contract_history",
        "description": "Contract history",
        "refreshIntervalSeconds": 604800,
        "windowSeconds": 691200,
        "lastSuccess": None,
        "ageSeconds": None,
        "stale": True,
        "rows": 0,
        "lastModified": None,
        "lastAttempt": None,
        "lastError": None,
        "lastErrorAt": None,
    }
    apis = [e for e in outcome.data["sources"] if e["name"] != "canadabuys"]  # type: ignore[index]
    assert all(e["feeds"] is None for e in apis)


async def test_a_mirror_whose_every_feed_is_current_is_reachable() -> None:
    now = datetime.now(UTC)
    current = FeedStatus("open_tenders", "", 86400, 108000, now - timedelta(minutes=1), rows=5)
    outcome = await execute(mirrored(current), FEEDS)
    entry = next(e for e in outcome.data["sources"] if e["name"] == "canadabuys")  # type: ignore[index]
    assert (entry["reachable"], entry["lastFailure"]) == (True, None)
