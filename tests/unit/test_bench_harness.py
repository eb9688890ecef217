"""A smoke of the Hive comparison's harness (bench/compare, bench/upstream_server.py): seconds, nothing timed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bench.compare import capture, equality, report, scenarios, services, wrk
from bench.upstream_server import Answer, UpstreamServer, load_capture, save_capture
from gateway.settings import Settings

ITA_BODY = b'{"total": 1, "offset": 0, "results": [{"id": "L1", "source": "UK", "title": "Roads"}]}'
TENDERS_BODY = json.dumps([{"tender": f"T{n}", "title_en": f"Tender {n}"} for n in range(25)]).encode()
ANSWERS = {
    "v2/trade_leads/search": Answer(200, "application/json", ITA_BODY, "v2/trade_leads/search?size=10&offset=0"),
    "tenders.json": Answer(200, "application/json", TENDERS_BODY),
}


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[UpstreamServer, str]]:
    server = UpstreamServer(ANSWERS)
    listener = await asyncio.get_running_loop().create_server(server.connection, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}/"
    finally:
        listener.close()
        await listener.wait_closed()


async def test_upstream_serves_the_captured_bytes_whatever_the_query(upstream: tuple[UpstreamServer, str]) -> None:
    server, url = upstream
    async with aiohttp.ClientSession() as session:
        for target in ("v2/trade_leads/search?size=10&offset=0", "v2/trade_leads/search?q=BENCH7&size=3"):
            async with session.get(url + target) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "application/json"
                assert await response.read() == ITA_BODY
        async with session.get(url + "tenders.json?keywords=X") as response:
            assert await response.read() == TENDERS_BODY
        async with session.get(url + "contracts.json") as response:
            assert response.status == 404
        async with session.get(url + "_bench/stats") as response:
            stats = await response.json()
    assert stats["served"] == {"v2/trade_leads/search": 2, "tenders.json": 1}
    assert stats["unknown"] == 1
    assert server.served["tenders.json"] == 1


async def test_upstream_latency_and_reset_controls(upstream: tuple[UpstreamServer, str]) -> None:
    server, url = upstream
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "_bench/latency/20") as response:
            assert await response.json() == {"latency_ms": 20}
        assert server.latency_s == 0.02
        async with session.get(url + "tenders.json") as response:
            assert await response.read() == TENDERS_BODY  # answered late, but answered
        assert server.max_in_flight == 1
        async with session.get(url + "_bench/latency/0") as response:
            assert response.status == 200
        async with session.get(url + "_bench/reset") as response:
            assert response.status == 200
        async with session.get(url + "_bench/latency/many") as response:
            assert response.status == 400
    assert server.latency_s == 0.0
    assert dict(server.served) == {}


def test_a_capture_survives_the_file(tmp_path: Path) -> None:
    path = tmp_path / "capture.json"
    save_capture(path, ANSWERS)
    assert load_capture(path) == ANSWERS


def test_the_captured_tenders_are_cut_to_the_rows_our_gateway_returns() -> None:
    cut = capture.cut_tenders(ANSWERS["tenders.json"])
    rows = json.loads(cut.body)
    assert [row["tender"] for row in rows] == [f"T{n}" for n in range(capture.TENDER_ROWS)]


def _fan_out_answers() -> dict[str, object]:
    ours = {
        "data": {
            "leads": {"edges": [{"node": {"leadId": "L1", "title": "Roads", "publishDate": "2026-01-02"}}]},
            "tenders": {"edges": [{"node": {"reference": "T1", "title": "Bridges", "closingDate": "2026-02-03"}}]},
            "contracts": {"edges": [{"node": {"piid": "P1", "title": "Salad", "awardDate": "2023-03-06"}}]},
        }
    }
    hive = {
        "data": {
            "itaTradeLeadsSearch": {"results": [{"id": "L1", "title": "Roads", "publish_date": "2026-01-02"}]},
            "canadaTenders": [{"tender": "T1", "title_en": "Bridges", "date_closing": "2026-02-03"}],
            "samContractAwards": {
                "awardSummary": [
                    {
                        "contractId": {"piid": "P1"},
                        "awardDetails": {
                            "dates": {"dateSigned": "2023-03-06T00:00:00Z"},
                            "productOrServiceInformation": {"descriptionOfContractRequirement": "Salad"},
                        },
                    }
                ]
            },
        }
    }
    return {"ours": ours, "hive": hive}


def test_the_equality_check_accepts_the_same_items_in_both_shapes() -> None:
    checked = equality.compare(scenarios.SCENARIOS[0], _fan_out_answers())
    assert checked.items == 3
    assert checked.kinds == {"lead": 1, "tender": 1, "contract": 1}


def test_the_equality_check_catches_a_difference() -> None:
    answers = _fan_out_answers()
    hive = answers["hive"]
    assert isinstance(hive, dict)
    hive["data"]["canadaTenders"][0]["title_en"] = "Tunnels"
    with pytest.raises(equality.NotEqual, match="different items"):
        equality.compare(scenarios.SCENARIOS[0], answers)


def test_the_equality_check_refuses_errors() -> None:
    answers = _fan_out_answers() | {"hive": {"errors": [{"message": "upstream failed"}], "data": None}}
    with pytest.raises(equality.NotEqual, match="upstream failed"):
        equality.compare(scenarios.SCENARIOS[0], answers)


def test_every_request_number_gives_a_new_keyword() -> None:
    scenario = scenarios.SCENARIOS[0]
    first, second = (json.loads(scenarios.render(scenario.template("hive"), n)) for n in (1, 2))
    assert first["variables"] == {"q": "BENCH1"}
    assert second["variables"] == {"q": "BENCH2"}


def test_wrk_result_line_is_read_and_errors_summed() -> None:
    line = (
        'BENCH-JSON {"requests":300,"duration_us":3000000,"bytes":1,"connect_errors":0,"read_errors":1,'
        '"write_errors":0,"status_errors":2,"timeouts":0,"graphql_errors":3,"p50_us":1500,"p90_us":2000,'
        '"p99_us":9000,"max_us":12000,"mean_us":1600.0}'
    )
    result = wrk.parse("Running 3s test\n" + line + "\n")
    assert result.requests_per_s == 100.0
    assert result.errors == 6
    assert result.error_kinds == {"read_errors": 1, "status_errors": 2, "graphql_errors": 3}
    assert (result.p50_ms, result.p99_ms) == (1.5, 9.0)


def test_our_gateway_settings_are_ones_it_knows(tmp_path: Path) -> None:
    env = services.ours_env("http://127.0.0.1:9/", tmp_path / "keys.json", scenarios.OURS_CACHES_OFF)
    settings = Settings.from_env(env)
    assert settings.profile == "prod"
    assert settings.response_cache_ttl_s == 0
    assert all(ttl == 0 for upstream in settings.upstreams.values() for ttl in upstream.ttl_s.values())
    defaults = Settings.from_env(services.ours_env("http://127.0.0.1:9/", tmp_path / "k.json", scenarios.OURS_DEFAULTS))
    assert defaults.response_cache_ttl_s > 0


def test_the_readme_section_is_replaced_between_its_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Bench\n\nbefore\n\n{report.README_BEGIN}\nold figures\n{report.README_END}\n\nafter\n")
    report.write_readme_section(readme, "new figures")
    text = readme.read_text()
    assert "old figures" not in text
    assert f"{report.README_BEGIN}\nnew figures\n{report.README_END}" in text
    assert text.startswith("# Bench\n\nbefore")
    assert text.endswith("after\n")
