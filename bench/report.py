"""Figures out of the results: ratios between runs of one suite, and Markdown tables (readable in a terminal too)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.scenarios import FAN_OUT_LATENCY_MS, UPSTREAM_LATENCY_MS, UPSTREAMS

Record = Mapping[str, Any]


def _find(runs: Sequence[Record], backend: str, workload: str, concurrency: int) -> Record | None:
    for record in runs:
        if record["backend"] == backend and record["workload"] == workload and record["concurrency"] == concurrency:
            return record
    return None


def _ratio(numerator: Record | None, denominator: Record | None, key: str = "requests_per_s") -> float | None:
    if numerator is None or denominator is None or not denominator[key]:
        return None
    ratio: float = round(numerator[key] / denominator[key], 2)
    return ratio


def _field(record: Record | None, key: str) -> float | None:
    value = record.get(key) if record is not None else None
    return float(value) if isinstance(value, int | float) else None


def ratios(runs: Sequence[Record], concurrencies: Sequence[int]) -> dict[str, dict[str, float | None]]:
    """Throughput ratios and latency figures per concurrency, all from the same suite run."""
    figures: dict[str, dict[str, float | None]] = {}
    for concurrency in concurrencies:

        def get(workload: str, backend: str = "memory", c: int = concurrency) -> Record | None:
            return _find(runs, backend, workload, c)

        hit, upstream_hit, same_doc, miss, fan_out = (
            get("response-hit"),
            get("upstream-hit"),
            get("upstream-hit-same-doc"),
            get("miss"),
            get("fan-out"),
        )
        fan_out_sum_ms = FAN_OUT_LATENCY_MS * len(UPSTREAMS)
        figures[f"c={concurrency}"] = {
            "response_hit_over_miss": _ratio(hit, miss),
            "upstream_hit_over_miss": _ratio(upstream_hit, miss),  # a new document each vs one document: see next
            "upstream_hit_same_doc_over_miss": _ratio(same_doc, miss),  # both one document: the upstream cache alone
            "response_hit_over_upstream_hit": _ratio(hit, upstream_hit),
            "same_doc_over_varied_doc": _ratio(same_doc, upstream_hit),
            "redis_over_memory_response_hit": _ratio(get("response-hit", "redis"), hit),
            "redis_over_memory_upstream_hit": _ratio(get("upstream-hit", "redis"), upstream_hit),
            "redis_over_memory_miss": _ratio(get("miss", "redis"), miss),
            "redis_server_commands_per_request_response_hit": _field(
                get("response-hit", "redis"), "redis_server_commands_per_request"
            ),
            "redis_server_commands_per_request_upstream_hit": _field(
                get("upstream-hit", "redis"), "redis_server_commands_per_request"
            ),
            "redis_server_commands_per_request_miss": _field(get("miss", "redis"), "redis_server_commands_per_request"),
            "gateway_cpu_ms_per_request_response_hit": _field(hit, "cpu_ms_per_request_gateway"),
            "gateway_cpu_ms_per_request_upstream_hit_same_doc": _field(same_doc, "cpu_ms_per_request_gateway"),
            "gateway_cpu_ms_per_request_upstream_hit_new_doc": _field(upstream_hit, "cpu_ms_per_request_gateway"),
            "gateway_cpu_ms_per_request_miss": _field(miss, "cpu_ms_per_request_gateway"),
            "miss_p50_minus_upstream_latency_ms": (
                round(miss["p50_ms"] - UPSTREAM_LATENCY_MS, 2) if miss is not None else None
            ),
            "fan_out_p50_ms": fan_out["p50_ms"] if fan_out is not None else None,
            "fan_out_sum_of_upstream_latencies_ms": fan_out_sum_ms,
            "fan_out_max_of_upstream_latencies_ms": FAN_OUT_LATENCY_MS,
            "fan_out_p50_over_sum": round(fan_out["p50_ms"] / fan_out_sum_ms, 2) if fan_out is not None else None,
            "fan_out_sandbox_max_in_flight": (
                fan_out["sandbox_max_in_flight"].get("all") if fan_out is not None else None
            ),
        }
    return figures


def _share(counts: Mapping[str, int], status: str) -> str:
    total = sum(counts.values())
    return f"{100 * counts.get(status, 0) / total:.0f}%" if total else "-"


def runs_table(runs: Sequence[Record]) -> str:
    lines = [
        "| gateway | workload | c | req/s | p50 ms | p95 ms | p99 ms | errors | response-cache hits "
        "| upstream-cache hits | upstream calls/req | gateway CPU ms/req | RSS MiB after |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for record in runs:
        lines.append(
            f"| {record['gateway']} | {record['workload']} | {record['concurrency']} | {record['requests_per_s']} "
            f"| {record['p50_ms']} | {record['p95_ms']} | {record['p99_ms']} | {record['errors']} "
            f"| {_share(record['response_cache'], 'HIT')} | {_share(record['upstream_cache'], 'HIT')} "
            f"| {record['upstream_calls_per_request']} | {record['cpu_ms_per_request_gateway']} "
            f"| {record['rss_kib_after'] / 1024:.1f} |"
        )
    return "\n".join(lines)


def rss_table(rss: Sequence[Record], flood: Record) -> str:
    lines = ["| gateway process | RSS MiB after start | RSS MiB at the end |", "|---|--:|--:|"]
    lines += [f"| {row['gateway']} | {row['start_kib'] / 1024:.1f} | {row['end_kib'] / 1024:.1f} |" for row in rss]
    if flood:
        lines += [
            "",
            "| flood: distinct queries sent | RSS MiB | req/s in the chunk | gateway CPU ms/req | sandbox CPU ms/req |",
            "|--:|--:|--:|--:|--:|",
        ]
        lines += [
            f"| {point['after_requests']} | {point['rss_kib'] / 1024:.1f} | {point.get('requests_per_s', '-')} "
            f"| {point.get('cpu_ms_per_request_gateway', '-')} | {point.get('cpu_ms_per_request_sandbox', '-')} |"
            for point in flood["checkpoints"]
        ]
    return "\n".join(lines)


def ratios_table(figures: Mapping[str, Mapping[str, float | None]]) -> str:
    columns = list(figures)
    names = list(next(iter(figures.values()))) if figures else []
    lines = ["| figure | " + " | ".join(columns) + " |", "|---|" + "--:|" * len(columns)]
    for name in names:
        cells = ["-" if figures[column][name] is None else str(figures[column][name]) for column in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(results: Mapping[str, Any]) -> str:
    if not results["runs"]:
        return "## Memory\n" + rss_table(results["rss"], results["flood"])
    parts = [
        "## Runs",
        runs_table(results["runs"]),
        "",
        "## Ratios (same suite run)",
        ratios_table(results["ratios"]),
        "",
        "## Memory",
        rss_table(results["rss"], results["flood"]),
    ]
    return "\n".join(parts)
