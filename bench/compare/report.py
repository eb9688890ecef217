"""The comparison's figures: medians over rounds, per-round ratios, Markdown tables, the README section, the plot."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

Record = Mapping[str, Any]
README_BEGIN = "<!-- compare:begin (written by `python -m bench compare`) -->"
README_END = "<!-- compare:end -->"


def _median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 2) if values else 0.0


def _runs(records: Sequence[Record], scenario: str, system: str, concurrency: int) -> list[Record]:
    return [
        r for r in records if r["scenario"] == scenario and r["system"] == system and r["concurrency"] == concurrency
    ]


def summary(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per scenario and concurrency: each system's medians over rounds, ours/Hive req/s ratio per round."""
    rows: list[dict[str, Any]] = []
    records = results["runs"]
    for scenario in results["scenarios"]:
        for concurrency in scenario["concurrency"]:
            row: dict[str, Any] = {
                "scenario": scenario["name"],
                "concurrency": concurrency,
                "upstream_latency_ms": scenario["upstream_latency_ms"],
            }
            for system in scenario["systems"]:
                runs = _runs(records, scenario["name"], system, concurrency)
                row[system] = {
                    "rounds": len(runs),
                    "requests_per_s": _median([r["requests_per_s"] for r in runs]),
                    "cpu_ms_per_request": _median([r["cpu_ms_per_request"] for r in runs]),
                    "p50_ms": _median([r["p50_ms"] for r in runs]),
                    "p99_ms": _median([r["p99_ms"] for r in runs]),
                    "errors": sum(r["errors"] for r in runs),
                    "other_work_share": _median([r.get("other_work_share", 0.0) for r in runs]),
                    "requests": sum(r["requests"] for r in runs),
                    "upstream_cpu_ms_per_request": _median([r["upstream_cpu_ms_per_request"] for r in runs]),
                    "upstream_calls_per_request": _median([r["upstream_calls_per_request"] for r in runs]),
                }
            if "hive" in scenario["systems"]:
                ours_runs = _runs(records, scenario["name"], "ours", concurrency)
                hive_runs = {r["round"]: r for r in _runs(records, scenario["name"], "hive", concurrency)}
                ratios = [
                    round(r["requests_per_s"] / hive_runs[r["round"]]["requests_per_s"], 2)
                    for r in ours_runs
                    if r["round"] in hive_runs and hive_runs[r["round"]]["requests_per_s"]
                ]
                row["ratios_per_round"] = ratios
                row["ratio_median"] = _median(ratios)
            rows.append(row)
    return rows


def _ratio_cell(row: Mapping[str, Any]) -> str:
    ratios = row.get("ratios_per_round") or []
    if not ratios:
        return "-"
    return f"**{row['ratio_median']:.2f}x** ({', '.join(f'{r:.2f}' for r in ratios)})"


def _system_cell(figures: Mapping[str, Any] | None) -> str:
    if figures is None:
        return "-"
    return f"{figures['requests_per_s']:,.0f} req/s, {figures['cpu_ms_per_request']} ms CPU/req"


def comparison_table(rows: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "| scenario | c | this gateway | Hive Gateway | ours / Hive req/s: median (per round) "
        "| p50 / p99 ms ours | p50 / p99 ms Hive | errors ours / Hive | other work on the core, ours / Hive |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        if "hive" not in row or row["upstream_latency_ms"]:
            continue
        ours, hive = row["ours"], row["hive"]
        lines.append(
            f"| {row['scenario']} | {row['concurrency']} | {_system_cell(ours)} | {_system_cell(hive)} "
            f"| {_ratio_cell(row)} | {ours['p50_ms']} / {ours['p99_ms']} | {hive['p50_ms']} / {hive['p99_ms']} "
            f"| {ours['errors']} / {hive['errors']} | {ours['other_work_share']:.0%} / {hive['other_work_share']:.0%} |"
        )
    return "\n".join(lines)


def latency_table(rows: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "| scenario | c | upstream latency | p50 over the upstream, ours / Hive | p99 over the upstream, ours / Hive "
        "| CPU ms/req ours / Hive |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        latency = row["upstream_latency_ms"]
        if not latency or "hive" not in row:
            continue
        ours, hive = row["ours"], row["hive"]
        lines.append(
            f"| {row['scenario']} | {row['concurrency']} | {latency} ms "
            f"| +{ours['p50_ms'] - latency:.1f} / +{hive['p50_ms'] - latency:.1f} ms "
            f"| +{ours['p99_ms'] - latency:.1f} / +{hive['p99_ms'] - latency:.1f} ms "
            f"| {ours['cpu_ms_per_request']} / {hive['cpu_ms_per_request']} |"
        )
    return "\n".join(lines)


def ours_only_table(rows: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "| scenario | c | req/s | CPU ms/req | p50 ms | p99 ms | upstream calls/req | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        if "hive" in row:
            continue
        ours = row["ours"]
        lines.append(
            f"| {row['scenario']} | {row['concurrency']} | {ours['requests_per_s']:,.0f} "
            f"| {ours['cpu_ms_per_request']} | {ours['p50_ms']} | {ours['p99_ms']} "
            f"| {ours['upstream_calls_per_request']} | {ours['errors']} |"
        )
    return "\n".join(lines)


def memory_table(memory: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "| process | RSS MiB after start | RSS MiB at the end | peak RSS MiB (VmHWM) |",
        "|---|--:|--:|--:|",
    ]
    names = {"ours": "this gateway", "hive": "Hive Gateway"}
    for row in memory:
        lines.append(
            f"| {names.get(row['system'], row['system'])}, {row['config']} | {row['start_kib'] / 1024:.1f} "
            f"| {row['end_kib'] / 1024:.1f} | {row['peak_kib'] / 1024:.1f} |"
        )
    return "\n".join(lines)


def upstream_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """What the captured-bytes upstream cost per gateway request: it must stay small beside the gateways."""
    lines = ["| scenario | c | system | upstream calls/req | upstream CPU ms/req |", "|---|--:|---|--:|--:|"]
    for row in rows:
        for system in ("ours", "hive"):
            figures = row.get(system)
            if figures is None or not figures["upstream_calls_per_request"]:
                continue
            lines.append(
                f"| {row['scenario']} | {row['concurrency']} | {system} | {figures['upstream_calls_per_request']} "
                f"| {figures['upstream_cpu_ms_per_request']} |"
            )
    return "\n".join(lines)


def _header(results: Mapping[str, Any]) -> str:
    machine = results["machine"]
    options = results["options"]
    versions = ", ".join(f"{name} {version}" for name, version in results["versions"].items())
    observability = results.get("observability_settings") or {}
    captured = ", ".join(
        f"`{info['request'] or route}` ({info['bytes']:,} B)" for route, info in results["captured"].items()
    )
    return "\n".join(
        [
            f"Run of {results['generated_at']}: `{results['command']}`, {results['elapsed_s']} s in all.",
            "",
            f"- **Machine**: {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['platform']}; load average "
            f"(1, 5, 15 min) {machine['loadavg_at_start']} at the start, {machine.get('loadavg_at_end')} at the end.",
            f"- **Pinning**: {results['cores']} (taskset).",
            f"- **Versions**: {versions}.",
            f"- **Runs**: {options['rounds']} interleaved rounds; per system, scenario and concurrency a "
            f"{options['warmup_s']} s warm-up (unmeasured) then {options['duration_s']} s measured (wrk, 1 thread).",
            "- **This gateway**: prod profile, a bench-tier API key (limiter and cost metering on the path, limits "
            "never reached), "
            + (
                "settings " + ", ".join(f"`{k}={v}`" for k, v in observability.items())
                if observability
                else "no access-log, metrics or tracing setting exists yet (none set)"
            )
            + ".",
            "- **Captured upstream answers** (served from memory to both gateways, query strings ignored): "
            f"{captured}.",
        ]
    )


def render(results: Mapping[str, Any], plot_name: str | None = None) -> str:
    rows = summary(results)
    checks = "; ".join(f"{c['scenario']}: {c['items']} item{'' if c['items'] == 1 else 's'}" for c in results["checks"])
    parts = [
        _header(results),
        "",
        f"Checked before timing, both gateways answering the same items: {checks}.",
        "",
        "### Side by side",
        "",
        comparison_table(rows),
        "",
        "### Latency over the upstream's (c=1)",
        "",
        latency_table(rows),
        "",
        "### This gateway only",
        "",
        ours_only_table(rows),
        "",
        "### Memory (each process's tree, VmRSS / VmHWM)",
        "",
        memory_table(results["memory"]),
        "",
        "### What the upstream cost",
        "",
        upstream_table(rows),
    ]
    if plot_name:
        parts += ["", f"![req/s per scenario and system]({plot_name})"]
    return "\n".join(parts)


def write_readme_section(readme: Path, section: str) -> None:
    """Replaces the text between the markers (appends the markers and the section when they are missing)."""
    text = readme.read_text()
    block = f"{README_BEGIN}\n{section}\n{README_END}"
    if README_BEGIN in text and README_END in text:
        head, _, rest = text.partition(README_BEGIN)
        _, _, tail = rest.partition(README_END)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text)


def plot(results: Mapping[str, Any], path: Path) -> bool:
    """A PNG of req/s per scenario and concurrency per system (log scale); False when matplotlib is missing."""
    try:
        import matplotlib  # noqa: PLC0415 - optional: the bench extra installs it

        matplotlib.use("Agg")
        from matplotlib import pyplot  # noqa: PLC0415
    except ImportError:
        return False
    rows = [row for row in summary(results) if not row["upstream_latency_ms"]]
    labels = [f"{row['scenario']}\nc={row['concurrency']}" for row in rows]
    positions = list(range(len(rows)))
    width = 0.4
    highest = 0.0
    figure, axes = pyplot.subplots(figsize=(max(8.0, 0.75 * len(rows) + 2), 6))
    for offset, system, name, colour in (
        (-width / 2, "ours", "this gateway", "#1f77b4"),
        (width / 2, "hive", "Hive Gateway", "#ff7f0e"),
    ):
        values = [row[system]["requests_per_s"] if system in row else 0.0 for row in rows]
        highest = max([highest, *values])
        bars = axes.bar([p + offset for p in positions], values, width, label=name, color=colour)
        axes.bar_label(bars, labels=[f"{v:,.0f}" if v else "" for v in values], fontsize=6, rotation=90, padding=2)
    axes.set_yscale("log")
    axes.set_ylim(top=3 * max(highest, 1.0))  # room for the bar labels
    axes.set_ylabel("requests per second (median over rounds, log scale)")
    axes.set_xticks(positions, labels, rotation=60, ha="right", fontsize=7)
    axes.set_title(f"This gateway vs Hive Gateway, one core each ({results['generated_at']})")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True
