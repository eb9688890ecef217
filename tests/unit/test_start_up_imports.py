"""What a started gateway without Redis has imported: none of the heavy libraries that only Redis or an OCDS
upstream needs (each one costs megabytes of resident memory in every replica). Checked in a fresh interpreter, the
way `python -m gateway` starts: the prod profile, three upstreams, metrics and access logs on, no Redis URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Loaded by the code that opens a Redis client or compiles OCDS releases, never at start-up without them:
# redis-py (and the OpenTelemetry metrics SDK it imports whenever it is installed), aiocache (which imports redis-py),
# the `limits` library, ocdsmerge (and the `requests` stack it imports).
LOADED_ONLY_WHEN_USED = ("redis", "coredis", "aiocache", "limits", "opentelemetry.sdk", "ocdsmerge", "requests")

_START_AND_REPORT = """
import asyncio, json, sys
from asgi_lifespan import LifespanManager
import gateway.__main__
from gateway.app import create_app
from gateway.settings import Settings

async def start() -> None:
    async with LifespanManager(create_app(Settings.from_env())):
        pass

asyncio.run(start())
print(json.dumps(sorted(sys.modules)))
"""

_OPEN_REDIS_CACHE_AND_REPORT = """
import json, sys
from gateway.cache.store import RedisCache
RedisCache("redis://127.0.0.1:9/0")
print(json.dumps(sorted(sys.modules)))
"""


def _loaded_modules(script: str, tmp_path: Path) -> set[str]:
    unused_port = "http://127.0.0.1:9/"
    environ = {name: value for name, value in os.environ.items() if not name.startswith(("GATEWAY_", "OTEL_"))}
    environ.update(
        {
            "GATEWAY_PROFILE": "prod",
            "GATEWAY_ITA_URL": unused_port,
            "GATEWAY_CANADA_URL": unused_port,
            "GATEWAY_SAM_URL": unused_port,
            "GATEWAY_ITA_API_KEY": "ita-key",
            "GATEWAY_SAM_API_KEY": "sam-key",
            "GATEWAY_KEYS_FILE": str(tmp_path / "keys.json"),
            "GATEWAY_METRICS_ENABLED": "true",
            "GATEWAY_ACCESS_LOG_ENABLED": "true",
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def _heavy(loaded: set[str]) -> list[str]:
    return [name for name in LOADED_ONLY_WHEN_USED if name in loaded]


def test_a_started_gateway_without_redis_has_not_imported_what_only_redis_or_ocds_needs(tmp_path: Path) -> None:
    loaded = _loaded_modules(_START_AND_REPORT, tmp_path)
    assert "gateway.app" in loaded
    assert _heavy(loaded) == []


def test_opening_a_redis_cache_loads_redis_py_so_the_check_above_sees_it(tmp_path: Path) -> None:
    loaded = _loaded_modules(_OPEN_REDIS_CACHE_AND_REPORT, tmp_path)
    assert {"redis", "aiocache"} <= set(_heavy(loaded))
