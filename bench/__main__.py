"""`python -m bench`: the whole suite on loopback, a table on stdout, the figures in bench/results.json.

`python -m bench compare`: this gateway and Hive Gateway side by side (bench/compare/, what `make bench` runs).
`python -m bench mirror`: the CanadaBuys mirror at the size of the real archive (bench/mirror.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from bench import mirror, report, suite
from bench.compare import cli

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"


def _concurrency(raw: str) -> tuple[int, ...]:
    values = tuple(int(part) for part in raw.split(",") if part.strip())
    if not values or min(values) < 1 or max(values) > 256:
        raise argparse.ArgumentTypeError("a comma-separated list of worker counts in 1..256")
    return values


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["compare"]:
        return cli.main(arguments[1:])
    if arguments[:1] == ["mirror"]:
        return mirror.main(arguments[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=3.0, help="measured seconds per run (default 3)")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds before each run (default 0.5)")
    parser.add_argument("--concurrency", type=_concurrency, default=(1, 32), help="worker counts (default 1,32)")
    parser.add_argument("--flood", type=int, default=20_000, help="distinct queries of the memory flood (0: none)")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis-backed runs")
    parser.add_argument("--redis-url", default=suite.REDIS_URL, help="loopback Redis for the Redis-backed runs")
    parser.add_argument(
        "--only", default="", help="only the configurations whose name contains this, e.g. redis, flood"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the results JSON")
    args = parser.parse_args(arguments)
    if not 0.5 <= args.duration <= 60 or not 0 <= args.warmup <= 30 or not 0 <= args.flood <= 100_000:
        parser.error("bounds: --duration 0.5..60 s, --warmup 0..30 s, --flood 0..100000")
    options = suite.Options(
        duration_s=args.duration,
        warmup_s=args.warmup,
        concurrency=args.concurrency,
        flood_requests=args.flood,
        redis=not args.no_redis,
        redis_url=args.redis_url,
        only=args.only,
    )
    # SIGTERM unwinds like Ctrl-C, so the subprocesses are stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    results = asyncio.run(suite.run(options, _progress))
    data = results.as_json()
    data["ratios"] = report.ratios(data["runs"], options.concurrency)
    args.output.write_text(json.dumps(data, indent=2) + "\n")
    print(report.render(data))
    print(f"\n{len(data['runs'])} runs in {data['elapsed_s']} s; results in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
