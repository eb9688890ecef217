"""`python -m gateway` serves the gateway (settings from GATEWAY_* environment variables); `keys`, `documents`,
`settings` and `mirror` (refresh, status) are the operator's commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from gateway import tracing
from gateway.app import create_app
from gateway.edge.persisted import build_manifest
from gateway.edge.readiness import Readiness
from gateway.edge.schema import build_schema, document_problems
from gateway.limits.keys import ApiKeys
from gateway.logs import configure_logging
from gateway.server import GracefulServer
from gateway.settings import Settings, SettingsError
from gateway.settings_reference import configuration_markdown
from gateway.upstreams.mirror.disk import MirrorDirectoryBusy
from gateway.upstreams.mirror.opening import OpenedMirror
from gateway.upstreams.mirror.schedule import RefreshScheduler
from gateway.upstreams.registry import open_mirrors, refresh_lock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway", description="Procurement GraphQL gateway")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve GraphQL over HTTP (the default)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    keys = sub.add_parser("keys", help="manage API keys (store chosen by GATEWAY_KEYS_STORE)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="issue a key and print it once")
    create.add_argument("--tier", required=True)
    create.add_argument("--owner", required=True)
    keys_sub.add_parser("list", help="list keys (ids and prefixes only, never the keys)")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    documents = sub.add_parser("documents", help="trusted documents (persisted queries)")
    documents_sub = documents.add_subparsers(dest="documents_command", required=True)
    build = documents_sub.add_parser("build", help="build a {sha256: document} manifest from DIR's .graphql files")
    build.add_argument("directory", type=Path)
    build.add_argument("-o", "--output", type=Path, required=True)
    sub.add_parser("settings", help="print the configuration reference (docs/configuration.md) in Markdown")
    mirror = sub.add_parser("mirror", help="the mirrors of sources that publish files (GATEWAY_CANADABUYS_URL...)")
    mirror_sub = mirror.add_subparsers(dest="mirror_command", required=True)
    refresh = mirror_sub.add_parser(
        "refresh",
        help="download the feeds' files that changed and swap in a new snapshot (the gateway processes serve it); "
        "with GATEWAY_MIRROR_REFRESH_IN_PROCESS=false this is the only refresher",
    )
    refresh.add_argument("--feed", action="append", help="only this feed, e.g. open_tenders (repeatable)")
    refresh.add_argument("--source", help="only this mirror upstream, e.g. canadabuys")
    status = mirror_sub.add_parser("status", help="each feed's last refresh, rows, staleness and last failure")
    status.add_argument("--source", help="only this mirror upstream, e.g. canadabuys")
    args = parser.parse_args(argv)
    if args.command == "documents":
        return build_documents_manifest(args.directory, args.output)
    if args.command == "settings":
        sys.stdout.write(configuration_markdown())
        return 0
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "keys":
        return asyncio.run(run_keys_command(settings, args))
    if args.command == "mirror":
        configure_logging(settings)
        return asyncio.run(run_mirror_command(settings, args))
    if getattr(args, "host", None):
        settings = replace(settings, host=args.host)
    if getattr(args, "port", None):
        settings = replace(settings, port=args.port)
    configure_logging(settings)  # JSON lines (GATEWAY_LOG_FORMAT), uvicorn's own lines included
    try:
        tracing.configure_from_environment()  # OTEL_* variables, read by the OpenTelemetry SDK (off by default)
    except tracing.TracingConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's loggers write through the gateway's handler (configure_logging)
        access_log=False,  # the gateway writes its own access line (gateway.edge.access_log)
        server_header=False,
        # Longer than the request deadline: every request in flight when the process stops is answered.
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_period_s),
    )
    readiness: Readiness = app.state.readiness
    GracefulServer(config, drain_delay_s=settings.shutdown_drain_delay_s, on_drain=readiness.start_draining).run()
    return 0


def build_documents_manifest(directory: Path, output: Path) -> int:
    """Every document must parse and validate against the schema; a manifest is written only when all do."""
    if not directory.is_dir():
        print(f"error: {directory} is not a directory", file=sys.stderr)
        return 2
    manifest = build_manifest(directory)
    schema = build_schema()
    problems = [
        (sha256, problem) for sha256, document in manifest.items() for problem in document_problems(schema, document)
    ]
    for sha256, problem in problems:
        print(f"error: document {sha256[:12]}: {problem}", file=sys.stderr)
    if problems:
        return 1
    output.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(manifest)} documents to {output}", file=sys.stderr)
    return 0


async def run_mirror_command(settings: Settings, args: argparse.Namespace) -> int:
    """`mirror refresh` writes the mirrors' directories (refused while a gateway process refreshes them itself);
    `mirror status` only reads them."""
    writer = args.mirror_command == "refresh"
    async with AsyncExitStack() as stack:
        try:
            mirrors = await open_mirrors(settings, stack, writer=writer)
        except MirrorDirectoryBusy as busy:
            print(
                f"error: {busy}: a gateway process refreshes it (set GATEWAY_MIRROR_REFRESH_IN_PROCESS=false there "
                "to refresh from here)",
                file=sys.stderr,
            )
            return 1
        if args.source:
            mirrors = {name: found for name, found in mirrors.items() if name == args.source}
        if not mirrors:
            wanted = args.source or "a mirror upstream"
            print(f"error: {wanted} is not configured (e.g. set GATEWAY_CANADABUYS_URL)", file=sys.stderr)
            return 2
        failed = False
        for name, mirror in mirrors.items():
            if writer:
                scheduler = RefreshScheduler(mirror, lock=refresh_lock(settings, stack, name))
                try:
                    report = await scheduler.refresh(args.feed)
                except ValueError as unknown:
                    print(f"error: {unknown}", file=sys.stderr)
                    return 2
                failed = failed or bool(report.failed)
                for outcome in report.outcomes:
                    print(
                        f"{name} {outcome.feed}: {outcome.outcome}" + (f" ({outcome.error})" if outcome.error else "")
                    )
            print(mirror_status_table(name, mirror))
        return 1 if failed else 0


def mirror_status_table(name: str, mirror: OpenedMirror) -> str:
    now = datetime.now(UTC)
    lines = [f"{name}: snapshot {mirror.snapshot_path or '(none yet)'}"]
    lines.append(f"  {'FEED':<18} {'ROWS':>8}  {'LAST SUCCESS (UTC)':<25} {'AGE':>9}  {'STALE':<5}  LAST ERROR")
    for status in mirror.statuses():
        age = status.age_s(now)
        success = status.last_success.isoformat(timespec="seconds") if status.last_success else "-"
        lines.append(
            f"  {status.name:<18} {status.rows:>8}  {success:<25} "
            f"{'-' if age is None else f'{age / 3600:.1f} h':>9}  {'yes' if status.stale(now) else 'no':<5}  "
            f"{status.last_error or '-'}"
        )
    return "\n".join(lines)


async def run_keys_command(settings: Settings, args: argparse.Namespace) -> int:
    api_keys = ApiKeys.from_settings(settings)
    try:
        if args.keys_command == "create":
            if args.tier not in settings.tier_table:
                print(f"error: unknown tier {args.tier!r}; known: {', '.join(settings.tier_table)}", file=sys.stderr)
                return 2
            issued = await api_keys.create(tier=args.tier, owner=args.owner)
            print(f"created key {issued.record.key_id} (tier {args.tier}); it is shown only now:", file=sys.stderr)
            print(issued.plaintext)
            return 0
        if args.keys_command == "list":
            print(f"{'KEY ID':<12}  {'PREFIX':<22}  {'TIER':<10}  {'CREATED':<25}  {'REVOKED':<25}  OWNER")
            for record in await api_keys.list_keys():
                revoked = record.revoked_at.isoformat() if record.revoked_at else "-"
                print(
                    f"{record.key_id:<12}  {record.public_prefix + '...':<22}  {record.tier:<10}  "
                    f"{record.created_at.isoformat():<25}  {revoked:<25}  {record.owner}"
                )
            return 0
        revoked_record = await api_keys.revoke(args.key_id)
        if revoked_record is None:
            print(f"error: no key with id {args.key_id!r}", file=sys.stderr)
            return 1
        print(f"revoked key {revoked_record.key_id}")
        return 0
    finally:
        await api_keys.aclose()


if __name__ == "__main__":
    sys.exit(main())
