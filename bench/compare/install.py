"""The comparison's tools, installed at bench time: wrk from Debian, Hive Gateway and Mesh compose from npm.

npm installs the versions pinned by bench/hive/package-lock.json (`npm ci`) into bench/hive/node_modules (ignored by
git), again only when the lock file is newer than the last install. wrk comes from Debian's package when it is
missing and the bench runs as root; otherwise the bench stops and says what to install.
"""

from __future__ import annotations

import os
import shutil

from bench.compare import services, wrk
from bench.suite import Progress

NPM_STAMP = services.HIVE_DIR / "node_modules" / ".package-lock.json"
LOCK_FILE = services.HIVE_DIR / "package-lock.json"
INSTALL_TIMEOUT_S = 600.0


class MissingTool(RuntimeError):
    """A tool the comparison needs is missing and cannot be installed from here."""


async def ensure_wrk(progress: Progress) -> None:
    if wrk.available():
        return
    if os.geteuid() != 0:
        raise MissingTool("wrk is missing: install Debian's wrk package (apt-get install wrk)")
    progress("installing wrk (apt-get install -y wrk)")
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    await services.run_command(
        ["apt-get", "update", "-qq"], env=env, cwd=services.HIVE_DIR, timeout_s=INSTALL_TIMEOUT_S
    )
    await services.run_command(
        ["apt-get", "install", "-y", "-qq", "wrk"], env=env, cwd=services.HIVE_DIR, timeout_s=INSTALL_TIMEOUT_S
    )
    if not wrk.available():
        raise MissingTool("apt-get installed no wrk")


async def ensure_hive(progress: Progress) -> None:
    if NPM_STAMP.exists() and NPM_STAMP.stat().st_mtime >= LOCK_FILE.stat().st_mtime and services.HIVE_BIN.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise MissingTool("npm is missing: Hive Gateway is installed with npm (Node.js 20 or later)")
    progress("installing Hive Gateway and Mesh compose (npm ci in bench/hive)")
    env = {name: value for name, value in os.environ.items() if not name.startswith("npm_config_")}
    await services.run_command(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        env=env,
        cwd=services.HIVE_DIR,
        timeout_s=INSTALL_TIMEOUT_S,
    )
