"""`python -m sandbox --host 127.0.0.1 --port 8100 [--seed N] [--scale N] [--samples DIR]`."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from sandbox.app import create_app
from sandbox.settings import SandboxSettings


def main(argv: list[str] | None = None) -> None:
    defaults = SandboxSettings.from_env()
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--seed", type=int, default=defaults.seed, help="dataset seed (same seed, same data)")
    parser.add_argument(
        "--scale", type=int, default=defaults.scale, help="dataset size: 3,000 records per source times SCALE"
    )
    parser.add_argument(
        "--samples",
        type=Path,
        default=defaults.samples_dir,
        help="serve the recorded upstream samples in DIR instead of generated data",
    )
    args = parser.parse_args(argv)
    if args.scale < 1:
        parser.error("--scale must be at least 1")
    settings = replace(defaults, seed=args.seed, scale=args.scale, samples_dir=args.samples)
    imitations = "ITA, Canada, SAM (awards, opportunities), CanadaBuys, Contracts Finder, Find a Tender"
    print(f"sandbox: {imitations} imitations on http://{args.host}:{args.port}/ (seed {args.seed})", flush=True)
    web.run_app(create_app(settings), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
