from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from gateway.limits.keys import ApiKeys, FileKeyStore
from tests.e2e.processes import without_gateway_settings

REPO = Path(__file__).resolve().parents[2]


def _cli(keys_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**without_gateway_settings(), "GATEWAY_KEYS_FILE": str(keys_file), "GATEWAY_KEYS_STORE": "file"}
    return subprocess.run(
        [sys.executable, "-m", "gateway", "keys", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_create_list_revoke(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    created = _cli(keys_file, "create", "--tier", "standard", "--owner", "Acme Procurement")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("pgw_")
    assert len(created.stdout.splitlines()) == 1
    key_id = key.split("_")[1]
    assert key not in keys_file.read_text()

    listed = _cli(keys_file, "list")
    assert listed.returncode == 0
    assert key_id in listed.stdout
    assert "Acme Procurement" in listed.stdout
    assert "standard" in listed.stdout
    assert key not in listed.stdout + listed.stderr
    assert key.split("_", 2)[2] not in listed.stdout

    api_keys = ApiKeys(FileKeyStore(keys_file, recheck_s=0))  # every lookup sees the CLI's writes at once
    assert asyncio.run(api_keys.authenticate(key)) is not None
    revoked = _cli(keys_file, "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert asyncio.run(api_keys.authenticate(key)) is None
    relisted = _cli(keys_file, "list")
    revoked_line = next(line for line in relisted.stdout.splitlines() if key_id in line)
    assert revoked_line.split()[4] != "-"

    assert _cli(keys_file, "revoke", "ffffffffffff").returncode == 1
    unknown_tier = _cli(keys_file, "create", "--tier", "platinum", "--owner", "x")
    assert unknown_tier.returncode == 2
    assert "unknown tier" in unknown_tier.stderr


def test_concurrent_cli_calls_never_lose_a_key(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    env = {**without_gateway_settings(), "GATEWAY_KEYS_FILE": str(keys_file)}
    command = [sys.executable, "-m", "gateway", "keys", "create", "--tier", "free", "--owner"]
    calls = [
        subprocess.Popen([*command, f"owner-{n}"], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        for n in range(8)
    ]
    keys = [call.communicate(timeout=90)[0].strip() for call in calls]
    assert [call.returncode for call in calls] == [0] * 8
    api_keys = ApiKeys(FileKeyStore(keys_file, recheck_s=0))  # every lookup sees the CLI's writes at once
    assert len(asyncio.run(api_keys.list_keys())) == 8
    assert all(asyncio.run(api_keys.authenticate(key)) is not None for key in keys)
