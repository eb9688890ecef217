"""`python -m bench compare [--duration S] [--warmup S] [--rounds N] [--only NAME ...]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from bench.compare import report
from bench.compare.run import Options, run
from bench.compare.scenarios import SCENARIOS

BENCH_DIR = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = BENCH_DIR / "compare.json"
DEFAULT_PLOT = BENCH_DIR / "compare.png"
DEFAULT_README = BENCH_DIR / "README.md"


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench compare", description=__doc__)
    parser.add_argument("--duration", type=int, default=3, help="measured seconds per run (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured seconds before each run (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="only scenarios whose name contains this (repeatable); scenarios: " + "; ".join(s.name for s in SCENARIOS),
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the results JSON")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="the PNG plot")
    parser.add_argument("--readme", type=Path, default=DEFAULT_README, help="the README whose section is rewritten")
    parser.add_argument("--no-readme", action="store_true", help="leave the README alone")
    parser.add_argument(
        "--from-json", type=Path, help="measure nothing: write the plot and the README section from earlier results"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 60 or not 0 <= args.warmup <= 30 or not 1 <= args.rounds <= 20:
        parser.error("bounds: --duration 1..60 s, --warmup 0..30 s, --rounds 1..20 (wrk takes whole seconds)")
    if args.from_json is not None:
        results = json.loads(args.from_json.read_text())
    else:
        options = Options(duration_s=args.duration, warmup_s=args.warmup, rounds=args.rounds, only=tuple(args.only))
        # SIGTERM unwinds like Ctrl-C, so the subprocesses are stopped on the way out.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        results = asyncio.run(run(options, _progress))
        results["summary"] = report.summary(results)
        args.output.write_text(json.dumps(results, indent=2) + "\n")
    plotted = report.plot(results, args.plot)
    if not plotted:
        _progress("NOTICE: matplotlib is missing (pip install -e '.[bench]'): no plot")
    section = report.render(results, args.plot.name if plotted else None)
    if not args.no_readme:
        report.write_readme_section(args.readme, section)
    print(section)
    print(f"\nresults in {args.from_json or args.output}" + (f", plot in {args.plot}" if plotted else ""))
    return 0
